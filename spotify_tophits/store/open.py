"""Opening the state DB: create and migrate (on a copy, swapped in atomically), or open read-only.

An older schema is migrated on a copy that replaces the file with one rename, so a failure leaves
the DB byte-identical; a newer schema, a file that is not SQLite or a corrupt one is refused.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from spotify_tophits.errors import ConfigError, DataSafetyError
from spotify_tophits.files import write_atomically
from spotify_tophits.store import schema
from spotify_tophits.store.api import Store
from spotify_tophits.store.base import database_bytes
from spotify_tophits.store.schema import apply_migrations, newer_schema_error

SQLITE_HEADER = b"SQLite format 3\x00"


def check_is_sqlite(path: Path) -> None:
    """Raise DataSafetyError if the file at path exists and is not an SQLite database."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as error:
        raise DataSafetyError(f"cannot read state DB {path}: {error}; check its permissions") from None
    if header and header != SQLITE_HEADER:
        raise DataSafetyError(
            f"{path} is not an SQLite database; move it aside and run `tophits restore` from a backup"
        )


def file_bytes(path: Path) -> bytes:
    """Return a consistent copy of the state DB file at path, read without changing it."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return database_bytes(connection)
    finally:
        connection.close()


def schema_version_of(path: Path) -> int:
    """Return the schema version of an existing state DB without changing it (0 for a new file)."""
    check_is_sqlite(path)
    if not path.exists():
        return 0
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(connection.execute("PRAGMA user_version").fetchone()[0])
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise DataSafetyError(f"state DB {path} cannot be read ({error}); run `tophits doctor`") from None


def _checkpoint(path: Path) -> None:
    """Fold a WAL left by an earlier run into the DB file, so a copy sees every committed change."""
    if not Path(f"{path}-wal").exists():
        return
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _migrate_copy(path: Path, now: datetime.datetime | None) -> None:
    """Migrate an older DB on a copy and swap the copy in with one rename: the original is never written."""
    copy = path.with_name(f".{path.name}.migrating")
    for stale in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        stale.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(copy, isolation_level=None)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
        apply_migrations(target, path, now)
    except BaseException:
        target.close()
        source.close()
        copy.unlink(missing_ok=True)
        raise
    target.close()
    source.close()
    os.chmod(copy, 0o600)
    # The old WAL (if any) belongs to the old file; fold it in before the swap so it cannot be
    # replayed into the migrated one.
    for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    os.replace(copy, path)


def open_reader(path: Path) -> Store:
    """Open an existing state DB read-only (for `status`): never creates, migrates or locks it.

    Raise DataSafetyError if it is missing, not SQLite, corrupt, or not at this tophits' schema.
    """
    if not path.exists():
        raise DataSafetyError(f"no state DB at {path} yet; run `tophits update` first")
    check_is_sqlite(path)
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=5)
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise DataSafetyError(f"state DB {path} cannot be read ({error}); run `tophits doctor`") from None
    if version != schema.SCHEMA_VERSION:
        connection.close()
        if version > schema.SCHEMA_VERSION:
            raise newer_schema_error(version, path)
        raise DataSafetyError(f"state DB {path} has schema {version}; run `tophits update` once to migrate it")
    return Store(connection, path)


def open_store(
    path: Path | None, pre_migration: Callable[[Path], Path] | None = None, now: datetime.datetime | None = None
) -> Store:
    """Open (creating if needed) the state DB at path, or in memory for None, migrated to the latest schema.

    An existing DB with an older schema is first copied by `pre_migration` (which returns where the
    copy went), then migrated on a copy swapped in atomically; `now` dates the migrations. Raise
    DataSafetyError, leaving the file byte-identical, if it is not SQLite, is corrupt, has a newer
    schema, or a migration fails.
    """
    if path is not None:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"cannot create the state directory {path.parent} ({error.strerror});"
                " set TOPHITS_STATE_DIR to a writable directory"
            ) from None
        version = schema_version_of(path)  # also refuses a file that is not SQLite
        if 0 < version < schema.SCHEMA_VERSION:
            copy = pre_migration(path) if pre_migration is not None else None
            try:
                _checkpoint(path)
                _migrate_copy(path, now)
            except (sqlite3.DatabaseError, DataSafetyError) as error:
                where = f"; the pre-migration copy is {copy}" if copy else ""
                message = getattr(error, "message", str(error))
                latest = schema.SCHEMA_VERSION
                raise DataSafetyError(
                    f"migrating {path} from schema {version} to {latest} failed ({message}); the state DB"
                    f" is unchanged{where}"
                ) from None
    target = ":memory:" if path is None else str(path)
    if path is not None:
        # SQLite gives the -wal and -shm files the database file's mode: make it 0600 before they exist.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            for private in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                if private.exists():
                    os.chmod(private, 0o600)
    try:
        connection = sqlite3.connect(target, isolation_level=None, timeout=30, check_same_thread=False)
        connection.execute("PRAGMA foreign_keys = ON")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.SCHEMA_VERSION:
            # Checked before WAL mode is switched on, so a newer DB is left byte-identical.
            connection.close()
            raise newer_schema_error(version, path)
        if path is not None:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
        apply_migrations(connection, path, now)
    except sqlite3.DatabaseError as error:
        raise DataSafetyError(
            f"state DB {path} cannot be opened ({error}); run `tophits doctor`, or restore a backup"
        ) from None
    if path is not None:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    return Store(connection, path)


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[BinaryIO]:
    """Open a new file at path for writing, mode 0600 from the start, fsynced when the block ends."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def replace_database(target: Path, data: bytes | Path, now: datetime.datetime) -> None:
    """Put the database `data` (a restored archive's, as bytes or a file) in place of target with one rename,
    migrating an older schema first (dated `now`). Raise DataSafetyError, leaving target as it was, when data
    is newer or corrupt."""
    incoming = target.with_name(".state.db.restoring")
    for stale in (incoming, Path(f"{incoming}-wal"), Path(f"{incoming}-shm")):
        stale.unlink(missing_ok=True)
    if isinstance(data, Path):
        # Streamed, not read into memory: a state DB may be large.
        with data.open("rb") as source, _private_file(incoming) as copy:
            shutil.copyfileobj(source, copy, 1024 * 1024)
    else:
        write_atomically(incoming, data)
    try:
        open_store(incoming, now=now).close()  # migrates an older schema forward; refuses a newer or corrupt one
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise
    if target.exists():
        # Fold the current WAL into the file and remove it: a WAL left beside the new DB would
        # be replayed into it.
        _checkpoint(target)
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
    incoming.replace(target)
