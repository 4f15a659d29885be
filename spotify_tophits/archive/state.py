"""The state DB and archives: a safety copy of the DB as it is on disk (before a migration), and a trial
restore of an archive's DB (it opens, and an older schema migrates, on a temporary copy)."""

from __future__ import annotations

import datetime
import shutil
import sqlite3
import tempfile
from pathlib import Path

from spotify_tophits.archive.format import Member, Verified, build_manifest, write_archive
from spotify_tophits.archive.members import DEFAULT_STATE_DB_BYTES, STATE_MEMBER
from spotify_tophits.archive.retention import archive_name
from spotify_tophits.archive.verify import check_state_db, verify_archive
from spotify_tophits.errors import DataSafetyError
from spotify_tophits.store import file_bytes, open_store, schema_version_of


def state_copy(directory: Path, path: Path, now: datetime.datetime, label: str) -> Path:
    """Archive the state DB file at path into directory as a labelled `state` archive; return its path.

    Labelled archives are outside the retention rules and kept 30 days (see `retention`).
    """
    data = file_bytes(path)
    counts = check_state_db(path, data)
    member = Member(STATE_MEMBER, data)
    manifest = build_manifest(
        "state",
        [member],
        created_at=now,
        schema_version=schema_version_of(path),
        account_id=None,
        row_counts=counts,
        secrets=False,
    )
    return write_archive(directory / archive_name("state", now, label), manifest, [member])


def check_current_state(path: Path) -> None:
    """Raise DataSafetyError, saying the *current* state DB at path is unreadable and how to move it aside,
    when it is not a healthy SQLite database (before a restore copies it to safety)."""
    try:
        check_state_db(path, file_bytes(path))
    except (DataSafetyError, sqlite3.DatabaseError) as error:
        reason = getattr(error, "message", str(error)).removeprefix(f"{path}: ")
        raise DataSafetyError(
            f"the current state DB {path} is unreadable ({reason}), so no safety copy can be made and nothing"
            f" was changed; move it aside (mv {path} {path}.broken) and run the restore again"
        ) from None


def verify_restorable(path: Path, max_state_bytes: int = DEFAULT_STATE_DB_BYTES) -> Verified:
    """Verify an archive end to end and check its state DB would restore: it opens, and its schema
    is one this tophits reads (an older one migrates, on a temporary copy)."""
    verified = verify_archive(path, max_state_bytes=max_state_bytes)
    if verified.state_file is not None:
        try:
            with tempfile.TemporaryDirectory(prefix="tophits-trial-restore-") as directory:
                trial = Path(directory) / STATE_MEMBER
                shutil.copyfile(verified.state_file, trial)
                open_store(trial).close()
        except BaseException:
            verified.close()
            raise
    return verified
