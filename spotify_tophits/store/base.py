"""The connection every query group shares, its one write-transaction helper, and the time format stored."""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from collections.abc import Iterator
from pathlib import Path


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
