"""Which members an archive of each kind may hold, and how large each may be, checked before any is read.

A hostile archive must not choose what a restore overwrites, nor how much memory or disk reading
it takes: every member name is one a backup of that kind writes, and every member has a cap (the
state DB's is a setting, `[backup] max_state_db_mib`, default 2 GiB; config and secret files 1 MiB).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from spotify_tophits.errors import DataSafetyError

STATE_MEMBER = "state.db"
MANIFEST = "manifest.json"
CONFIG_MEMBERS = ("config/config.toml", "config/overrides.toml")
SECRET_MEMBERS = ("secrets/.env", "secrets/token.json")
PLAYLIST_MEMBER = re.compile(r"^playlists/[0-9A-Za-z_-][0-9A-Za-z._-]*\.json$")
SMALL_FILE_BYTES = 1024 * 1024
PLAYLIST_BYTES = 16 * 1024 * 1024
DEFAULT_STATE_DB_BYTES = 2 * 1024**3
MAX_MEMBERS = 2000


def member_limit(name: str, kind: str, secrets: bool, max_state_bytes: int) -> int | None:
    """Return the most bytes member `name` may hold in an archive of `kind` (None: not allowed there)."""
    if name == STATE_MEMBER:
        return max_state_bytes if kind in ("full", "state") else None
    if name in CONFIG_MEMBERS:
        return SMALL_FILE_BYTES if kind in ("full", "config") else None
    if name in SECRET_MEMBERS:
        return SMALL_FILE_BYTES if secrets else None
    if PLAYLIST_MEMBER.match(name):
        return PLAYLIST_BYTES if kind == "full" else None
    return None


def check_declared(path: object, name: str, size: int, kind: str, secrets: bool, max_state_bytes: int) -> None:
    """Raise DataSafetyError when a member the manifest declares is not allowed, or larger than its cap."""
    parts = PurePosixPath(name)
    if name.startswith("/") or parts.is_absolute() or ".." in parts.parts:
        raise DataSafetyError(f"{path}: unsafe member path {name!r}; refusing the archive")
    limit = member_limit(name, kind, secrets, max_state_bytes)
    if limit is None:
        without = " without secrets" if name in SECRET_MEMBERS else ""
        raise DataSafetyError(
            f"{path}: member {name!r} is not allowed in a {kind} archive{without}; refusing the archive"
        )
    if size > limit:
        hint = " (raise [backup] max_state_db_mib if this state DB is genuine)" if name == STATE_MEMBER else ""
        raise DataSafetyError(
            f"{path}: member {name!r} declares {size} bytes, over the {limit // 1024**2} MiB cap{hint};"
            " refusing the archive"
        )
