"""Writing to the terminal: plain lines for pipes and the journal, a Rich console on a terminal."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def console() -> Console | None:
    """Return a Rich console when stdout is a terminal, else None (plain output)."""
    # Asked first so that pipes and the journal never import Rich; the variables are the ones
    # with which Rich itself treats a non-terminal as a terminal.
    if not sys.stdout.isatty() and not (os.environ.get("TTY_COMPATIBLE") or os.environ.get("FORCE_COLOR")):
        return None
    from rich.console import Console

    from spotify_tophits.logs import escape_controls

    class EscapingConsole(Console):
        # Every string Rich renders (table cells and titles included) passes through render_str.
        def render_str(self, text: str, **options: Any) -> Any:
            return super().render_str(escape_controls(text), **options)

    terminal = EscapingConsole()
    return terminal if terminal.is_terminal else None


def echo(line: str = "", level: str = "") -> None:
    """Write one line to standard output; a `level` ("error", "warning") reaches journald as that priority."""
    from spotify_tophits.logs import escape_controls, journal_priority

    prefix = journal_priority(level) if level else ""
    print(prefix + escape_controls(line), file=sys.stdout, flush=True)
