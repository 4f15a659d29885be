"""Verifying an archive end to end: its members against the manifest (`format`), then the state DB inside
opens read-only, passes SQLite's integrity check and holds the row counts the manifest says."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from spotify_tophits.archive.format import Verified, read_archive
from spotify_tophits.archive.members import DEFAULT_STATE_DB_BYTES, STATE_MEMBER
from spotify_tophits.errors import DataSafetyError


def check_state_db(path: Path, data: bytes) -> dict[str, int]:
    """Open a state DB copy in a temporary directory, run integrity_check, and return its row counts."""
    with tempfile.TemporaryDirectory(prefix="tophits-verify-") as directory:
        copy = Path(directory) / STATE_MEMBER
        copy.write_bytes(data)
        return check_state_file(path, copy)


def check_state_file(path: Path, copy: Path) -> dict[str, int]:
    """Open a state DB copy (a file nobody else uses) read-only, run integrity_check, return its row counts."""
    with copy.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise DataSafetyError(f"{path}: {STATE_MEMBER} inside is not an SQLite database")
    try:
        connection = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            findings = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
            if findings != ["ok"]:
                raise DataSafetyError(f"{path}: {STATE_MEMBER} fails integrity_check: {findings[0][:200]}")
            return row_counts(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise DataSafetyError(f"{path}: {STATE_MEMBER} cannot be opened ({error})") from None


COUNTED_TABLES = ("observations", "chart_rows", "resolutions", "managed_playlists", "runs", "playlist_snapshots")


def row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Return the row count of each table that holds history."""
    counts = {}
    existing = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in COUNTED_TABLES:
        if table in existing:
            counts[table] = int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
    return counts


def verify_archive(
    path: Path, *, max_state_bytes: int = DEFAULT_STATE_DB_BYTES, workdir: Path | None = None
) -> Verified:
    """Verify an archive end to end: members, checksums, manifest, and the state DB inside."""
    verified = read_archive(path, max_state_bytes=max_state_bytes, workdir=workdir)
    if verified.state_file is not None:
        try:
            counts = check_state_file(path, verified.state_file)
            expected = verified.manifest.row_counts
            mismatched = [table for table, count in expected.items() if counts.get(table) != count]
            if mismatched:
                raise DataSafetyError(f"{path}: row counts differ from the manifest for {', '.join(mismatched)}")
        except BaseException:
            verified.close()
            raise
    return verified
