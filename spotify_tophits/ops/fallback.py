"""The last notification channels that worked, so a broken `config.toml` still raises its alert.

Every job that loads the settings keeps the `[notify]` table exactly as config.toml wrote it in
the state directory (0600, atomic). When config.toml later fails to load, `tophits notify
--failed-unit` falls back to that table, parsed as before; no other setting, and never a resolved
Spotify credential, is kept. The dead-man's-switch ping stays the backstop for what this cannot
catch (the state directory gone, the notify unit itself failing).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spotify_tophits.config import NotifySettings, Settings, load_settings, resolve_paths
from spotify_tophits.config.notify import parse_notify
from spotify_tophits.config.reader import TableReader
from spotify_tophits.errors import ConfigError

logger = logging.getLogger(__name__)
FILE_NAME = "last-channels.json"


def remember(settings: Settings) -> bool:
    """Keep the `[notify]` table of a config that loaded; return whether the kept copy changed.

    Never raises: failing to keep it must not fail the job that called it.
    """
    state_dir = settings.paths.state_dir
    if not settings.config_file_found or not state_dir.is_dir():
        return False
    try:
        document = tomllib.loads(settings.paths.config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        logger.debug("cannot re-read %s to keep its channels: %s", settings.paths.config_file, error)
        return False
    table: Any = document.get("notify", {})
    text = json.dumps(table, sort_keys=True, indent=1)
    path = state_dir / FILE_NAME
    try:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return False
        from spotify_tophits.files import write_atomically

        write_atomically(path, text.encode("utf-8"))
    except OSError as error:
        logger.warning("could not keep the notification channels in %s (%s)", path, error)
        return False
    return True


def recall(state_dir: Path) -> NotifySettings | None:
    """Return the channels kept by `remember`, parsed as config.toml's are; None when there are none."""
    path = state_dir / FILE_NAME
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        notify = parse_notify(TableReader(table, str(path), "notify."), TableReader({}, str(path), "metrics."))
    except (OSError, ValueError, ConfigError):
        return None
    return notify if notify.channels else None


def fallback_settings(environ: Mapping[str, str], broken: ConfigError) -> Settings:
    """Return default settings with the last channels that worked, for alerting while config.toml is broken.

    Log at critical that it happened; re-raise `broken` when no channels were kept.
    """
    paths = resolve_paths(environ)
    notify = recall(paths.state_dir)
    if notify is None:
        raise broken
    # Defaults, not a half-read broken file: no config.toml (and no .env beside it) is read at all.
    stand_in = {**environ, "TOPHITS_CONFIG": str(paths.state_dir / "no-config.toml")}
    stand_in.pop("SPOTIPY_REDIRECT_URI", None)
    defaults = load_settings(stand_in)
    logger.critical(
        "%s; alerting through the last notification channels that worked (%s)",
        broken.message,
        paths.state_dir / FILE_NAME,
    )
    return dataclasses.replace(defaults, paths=paths, notify=notify)
