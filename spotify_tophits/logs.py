"""Logging set-up: Rich on a terminal, syslog-prefixed plain lines under journald, plain lines otherwise."""

from __future__ import annotations

import logging
import os
import sys

# C0 and C1 control characters and DEL, except newline and tab: text from a chart source, Spotify or an
# archive could otherwise clear the screen or set the window title, even through a pipe.
CONTROLS = {code: f"\\x{code:02x}" for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(code) not in "\n\t"}


def escape_controls(text: str) -> str:
    """Return text with every control character but newline and tab shown as an escape (`\\x1b`)."""
    return text.translate(CONTROLS)


class EscapeControls(logging.Filter):
    """Escape control characters in every log record's message (its arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = escape_controls(record.getMessage()), None
        return True


# journald reads a "<N>" prefix as the line's syslog priority.
SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


def journal_priority(level: str) -> str:
    """Return the `<N>` prefix for a line of this level ("error", "warning") under journald, else ""."""
    if not os.environ.get("JOURNAL_STREAM"):
        return ""
    return f"<{SYSLOG_PRIORITY[logging.getLevelNamesMapping()[level.upper()]]}>"


class JournalFormatter(logging.Formatter):
    """Format records as `<priority>message` for journald, which adds its own timestamps."""

    def format(self, record: logging.LogRecord) -> str:
        priority = SYSLOG_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{super().format(record)}"


class RichOnFirstRecord(logging.Handler):
    """Rich's handler, made when the first record arrives: a run that logs nothing never imports Rich."""

    def __init__(self) -> None:
        super().__init__()
        self.rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.rich is None:
            from rich.logging import RichHandler

            self.rich = RichHandler(show_path=False, show_time=False)
        self.rich.handle(record)


def configure_logging(verbose: int, quiet: bool) -> None:
    """Configure the root logger once per process for the given verbosity."""
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler: logging.Handler
    if os.environ.get("JOURNAL_STREAM"):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JournalFormatter("%(message)s"))
    elif sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        handler = RichOnFirstRecord()
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("tophits: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler.addFilter(EscapeControls())
    root.addHandler(handler)
    root.setLevel(level)
    # spotipy logs request headers, bearer token included, at DEBUG: never let it through.
    logging.getLogger("spotipy").setLevel(logging.CRITICAL)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
