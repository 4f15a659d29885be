"""The state DB and archives: a safety copy of the DB as it is on disk (before a migration), and a trial
restore of an archive's DB (it opens, and an older schema migrates, on a temporary copy)."""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

from spotify_tophits.archive.format import (
    STATE_MEMBER,
    Member,
    Verified,
    build_manifest,
    check_state_db,
    verify_archive,
    write_archive,
)
from spotify_tophits.archive.retention import archive_name
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


def verify_restorable(path: Path) -> Verified:
    """Verify an archive end to end and check its state DB would restore: it opens, and its schema
    is one this tophits reads (an older one migrates, on a temporary copy)."""
    verified = verify_archive(path)
    if STATE_MEMBER in verified.members:
        with tempfile.TemporaryDirectory(prefix="tophits-trial-restore-") as directory:
            trial = Path(directory) / STATE_MEMBER
            trial.write_bytes(verified.members[STATE_MEMBER])
            open_store(trial).close()
    return verified
