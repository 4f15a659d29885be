"""The connection every query group shares, its one write-transaction helper, and the time format stored."""

from __future__ import annotations

import contextlib
import datetime
import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from spotify_tophits.errors import DataSafetyError, TemporaryError, TophitsError

# SQLite's words for trouble that passes (space, permissions, a lock) rather than a damaged file.
TEMPORARY_WORDS = ("disk is full", "disk i/o error", "readonly", "read-only", "unable to open", "locked", "busy")


def database_error(error: BaseException, path: Path | None) -> TophitsError | None:
    """Return the user-facing error for an SQLite or disk error while using the state DB at path (None when
    `error` is neither): exit 5 for a full disk, a read-only file or a lock (retry after fixing), exit 6 for a
    damaged DB."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EDQUOT):
        return TemporaryError(
            f"cannot write the state DB {path} ({error.strerror}); free disk space or lift the limit, then retry"
        )
    if not isinstance(error, sqlite3.Error):
        return None
    text = str(error)
    if isinstance(error, sqlite3.OperationalError) and any(word in text.lower() for word in TEMPORARY_WORDS):
        return TemporaryError(
            f"the state DB {path} cannot be written ({text}); free disk space or make it writable, then retry"
        )
    return DataSafetyError(f"the state DB {path} is damaged ({text}); run `tophits doctor`, or restore a backup")


def utc_text(moment: datetime.datetime) -> str:
    """Return a moment as the state DB stores it: ISO 8601 in UTC, to the second."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds")


def database_bytes(connection: sqlite3.Connection) -> bytes:
    """Return a consistent copy of the database behind connection as bytes (SQLite's online backup API)."""
    import tempfile  # only backups need it; every command opens the store

    with tempfile.TemporaryDirectory(prefix="tophits-backup-") as directory:
        target = sqlite3.connect(Path(directory) / "state.db")
        try:
            connection.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        return (Path(directory) / "state.db").read_bytes()


class StoreBase:
    """An open state DB connection (rows readable by column name). Open it with `open_store`."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        connection.row_factory = sqlite3.Row
        self.connection = connection
        self.path = path

    def close(self) -> None:
        self.connection.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one immediate write transaction; roll back on any error.

        Inside `rolled_back` the block is a savepoint of that outer transaction instead.
        """
        if self.connection.in_transaction:
            self.connection.execute("SAVEPOINT tophits_write")
            try:
                yield self.connection
            except BaseException:
                self.connection.execute("ROLLBACK TO tophits_write")
                self.connection.execute("RELEASE tophits_write")
                raise
            self.connection.execute("RELEASE tophits_write")
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    @contextlib.contextmanager
    def rolled_back(self) -> Iterator[None]:
        """Run the block in one write transaction that is always rolled back (a dry run).

        Every write of the block is seen by its later reads, and none reaches the file: the DB is
        byte-identical afterwards, and the WAL holds no committed frame a checkpoint could fold in.
        """
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            self.connection.execute("ROLLBACK")

    def backup_bytes(self) -> bytes:
        """Return a consistent copy of the whole DB, made with SQLite's online backup API.

        Other processes may write meanwhile: the copy is one transaction's view.
        """
        return database_bytes(self.connection)

    def integrity_check(self) -> list[str]:
        """Return SQLite's integrity_check findings; ["ok"] means healthy."""
        return [str(row[0]) for row in self.connection.execute("PRAGMA integrity_check")]
