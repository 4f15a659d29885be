"""The state DB: SQLite in WAL mode with named migrations applied on open.

It holds the chart history that the weekly, monthly and yearly playlists are computed from,
the resolution cache, the managed playlists and the run records. Every write happens inside
one `BEGIN IMMEDIATE` transaction so a run killed at any point leaves a consistent DB.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from spotify_tophits.errors import ConfigError, DataSafetyError

SQLITE_HEADER = b"SQLite format 3\x00"

# Named, ordered migrations. Never edit one that has shipped: add a new one.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            chart_id TEXT NOT NULL,
            chart_date TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            row_count INTEGER NOT NULL,
            UNIQUE (source, chart_id, chart_date)
        );
        CREATE INDEX observations_by_date ON observations (chart_date);
        CREATE TABLE chart_rows (
            observation_id INTEGER NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            title TEXT NOT NULL,
            artists TEXT NOT NULL,
            isrc TEXT,
            source_track_id TEXT,
            spotify_id TEXT,
            duration_ms INTEGER,
            resolution_key TEXT NOT NULL,
            song_key TEXT NOT NULL,
            artist_key TEXT NOT NULL,
            PRIMARY KEY (observation_id, rank)
        );
        CREATE INDEX chart_rows_by_resolution ON chart_rows (resolution_key);
        CREATE TABLE resolutions (
            key TEXT PRIMARY KEY,
            spotify_id TEXT,
            method TEXT NOT NULL,
            confidence REAL NOT NULL,
            name TEXT,
            artists TEXT,
            isrc TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            resolved_at TEXT NOT NULL,
            retry_after TEXT
        );
        CREATE TABLE source_tracks (
            source TEXT NOT NULL,
            source_track_id TEXT NOT NULL,
            isrc TEXT,
            duration_ms INTEGER,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (source, source_track_id)
        );
        CREATE TABLE managed_playlists (
            key TEXT NOT NULL,
            period TEXT NOT NULL,
            spotify_id TEXT,
            snapshot_id TEXT,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            contents TEXT,
            status TEXT NOT NULL DEFAULT 'active',
            created_at TEXT NOT NULL,
            updated_at TEXT,
            last_error TEXT,
            PRIMARY KEY (key, period)
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            result TEXT NOT NULL,
            exit_code INTEGER,
            summary TEXT
        );
        CREATE TABLE playlist_snapshots (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES runs (id),
            key TEXT NOT NULL,
            period TEXT NOT NULL,
            spotify_id TEXT NOT NULL,
            snapshot_id TEXT,
            contents TEXT NOT NULL,
            taken_at TEXT NOT NULL
        );
        """,
    ),
]
MIGRATIONS.append(
    (
        "0002_source_health",
        """
        CREATE TABLE source_health (
            source TEXT PRIMARY KEY,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_success TEXT,
            last_failure TEXT,
            last_error TEXT
        );
        """,
    )
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclasses.dataclass(frozen=True)
class ManagedPlaylist:
    """What we know about one playlist we manage for one period."""

    key: str
    period: str
    spotify_id: str | None
    snapshot_id: str | None
    name: str
    description: str
    contents: tuple[str, ...] | None
    status: str
    created_at: str
    updated_at: str | None
    last_error: str | None


@dataclasses.dataclass(frozen=True)
class Resolution:
    """A cached answer to "which Spotify track is this chart row?" (spotify_id None = a miss)."""

    key: str
    spotify_id: str | None
    method: str
    confidence: float
    name: str | None
    artists: tuple[str, ...]
    attempts: int
    retry_after: str | None


@dataclasses.dataclass(frozen=True)
class RankedRow:
    """One resolved chart row as the ranking sees it."""

    chart_date: datetime.date
    chart: str
    source: str
    row_count: int
    rank: int
    spotify_id: str | None
    song_key: str
    artist_key: str


def _utc_text(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds")


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


class Store:
    """The state DB. Open it with `open_store`."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self.connection = connection
        self.path = path

    def close(self) -> None:
        self.connection.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one immediate write transaction; roll back on any error."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """Return a stored setting of the run (not_before, user_id, ...), or None."""
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        """Store (or with None, delete) a setting of the run."""
        with self.transaction() as connection:
            if value is None:
                connection.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- chart observations ----------------------------------------------------------------
    def has_observation(self, source: str, chart_id: str, chart_date: datetime.date) -> bool:
        """Return whether this source's chart for that day is stored already."""
        row = self.connection.execute(
            "SELECT 1 FROM observations WHERE source = ? AND chart_id = ? AND chart_date = ?",
            (source, chart_id, chart_date.isoformat()),
        ).fetchone()
        return row is not None

    def save_observation(
        self,
        source: str,
        chart_id: str,
        chart_date: datetime.date,
        fetched_at: datetime.datetime,
        rows: Sequence[dict[str, Any]],
    ) -> None:
        """Store one chart as fetched, replacing an earlier copy of the same chart day."""
        with self.transaction() as connection:
            connection.execute(
                "DELETE FROM chart_rows WHERE observation_id IN "
                "(SELECT id FROM observations WHERE source = ? AND chart_id = ? AND chart_date = ?)",
                (source, chart_id, chart_date.isoformat()),
            )
            connection.execute(
                "DELETE FROM observations WHERE source = ? AND chart_id = ? AND chart_date = ?",
                (source, chart_id, chart_date.isoformat()),
            )
            cursor = connection.execute(
                "INSERT INTO observations (source, chart_id, chart_date, fetched_at, row_count) VALUES (?, ?, ?, ?, ?)",
                (source, chart_id, chart_date.isoformat(), _utc_text(fetched_at), len(rows)),
            )
            observation_id = cursor.lastrowid
            connection.executemany(
                "INSERT INTO chart_rows (observation_id, rank, title, artists, isrc, source_track_id, spotify_id,"
                " duration_ms, resolution_key, song_key, artist_key)"
                " VALUES (:observation_id, :rank, :title, :artists, :isrc, :source_track_id, :spotify_id,"
                " :duration_ms, :resolution_key, :song_key, :artist_key)",
                [{**row, "observation_id": observation_id, "artists": json.dumps(row["artists"])} for row in rows],
            )

    def latest_chart_date(self, until: datetime.date) -> datetime.date | None:
        """Return the newest chart day on or before `until`, or None."""
        row = self.connection.execute(
            "SELECT MAX(chart_date) FROM observations WHERE chart_date <= ?", (until.isoformat(),)
        ).fetchone()
        return None if row[0] is None else datetime.date.fromisoformat(row[0])

    def earliest_chart_date(self) -> datetime.date | None:
        """Return the oldest chart day held, or None."""
        row = self.connection.execute("SELECT MIN(chart_date) FROM observations").fetchone()
        return None if row[0] is None else datetime.date.fromisoformat(row[0])

    def ranked_rows(self, start: datetime.date, end: datetime.date) -> list[RankedRow]:
        """Return every chart row with a chart date in [start, end]; unmatched rows have spotify_id None."""
        cursor = self.connection.execute(
            "SELECT o.chart_date, o.source || ':' || o.chart_id, o.source, o.row_count, r.rank, res.spotify_id,"
            " r.song_key, r.artist_key"
            " FROM chart_rows r JOIN observations o ON o.id = r.observation_id"
            " LEFT JOIN resolutions res ON res.key = r.resolution_key"
            " WHERE o.chart_date BETWEEN ? AND ?",
            (start.isoformat(), end.isoformat()),
        )
        return [
            RankedRow(datetime.date.fromisoformat(date), chart, source, count, rank, spotify_id, song, artist)
            for date, chart, source, count, rank, spotify_id, song, artist in cursor
        ]

    def due_misses(self, since: datetime.date, now: datetime.datetime) -> list[dict[str, Any]]:
        """Return one chart row per cached miss whose back-off has passed, among charts since `since`."""
        cursor = self.connection.execute(
            "SELECT r.rank, r.title, r.artists, r.isrc, r.spotify_id, r.source_track_id, r.duration_ms, res.retry_after"
            " FROM resolutions res JOIN chart_rows r ON r.resolution_key = res.key"
            " JOIN observations o ON o.id = r.observation_id"
            " WHERE res.spotify_id IS NULL AND o.chart_date >= ? GROUP BY res.key",
            (since.isoformat(),),
        )
        rows = []
        for rank, title, artists, isrc, spotify_id, source_track_id, duration_ms, retry_after in cursor:
            if retry_after is None or datetime.datetime.fromisoformat(retry_after) <= now:
                rows.append(
                    {
                        "rank": rank,
                        "title": title,
                        "artists": tuple(json.loads(artists)),
                        "isrc": isrc,
                        "spotify_id": spotify_id,
                        "source_track_id": source_track_id,
                        "duration_ms": duration_ms,
                    }
                )
        return rows

    def record_source(self, source: str, now: datetime.datetime, error: str | None) -> None:
        """Count a source's consecutive failures (reset by a success)."""
        with self.transaction() as connection:
            connection.execute("INSERT OR IGNORE INTO source_health (source) VALUES (?)", (source,))
            if error is None:
                connection.execute(
                    "UPDATE source_health SET consecutive_failures = 0, last_success = ? WHERE source = ?",
                    (_utc_text(now), source),
                )
            else:
                connection.execute(
                    "UPDATE source_health SET consecutive_failures = consecutive_failures + 1, last_failure = ?,"
                    " last_error = ? WHERE source = ?",
                    (_utc_text(now), error, source),
                )

    def source_health(self) -> list[dict[str, Any]]:
        """Return each source's health record."""
        cursor = self.connection.execute(
            "SELECT source, consecutive_failures, last_success, last_failure, last_error"
            " FROM source_health ORDER BY source"
        )
        names = ("source", "consecutive_failures", "last_success", "last_failure", "last_error")
        return [dict(zip(names, row, strict=True)) for row in cursor]

    # -- resolutions ---------------------------------------------------------------------------
    def get_resolution(self, key: str) -> Resolution | None:
        """Return the cached resolution of a row key, or None."""
        row = self.connection.execute(
            "SELECT key, spotify_id, method, confidence, name, artists, attempts, retry_after"
            " FROM resolutions WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return Resolution(row[0], row[1], row[2], row[3], row[4], tuple(json.loads(row[5] or "[]")), row[6], row[7])

    def save_resolution(
        self,
        key: str,
        *,
        spotify_id: str | None,
        method: str,
        confidence: float,
        name: str | None,
        artists: Sequence[str],
        isrc: str | None,
        attempts: int,
        now: datetime.datetime,
        retry_after: datetime.datetime | None,
    ) -> None:
        """Cache a hit (spotify_id) or a miss (None, with when to retry)."""
        with self.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO resolutions (key, spotify_id, method, confidence, name, artists, isrc,"
                " attempts, resolved_at, retry_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    spotify_id,
                    method,
                    confidence,
                    name,
                    json.dumps(list(artists)),
                    isrc,
                    attempts,
                    _utc_text(now),
                    None if retry_after is None else _utc_text(retry_after),
                ),
            )

    def track_labels(self, spotify_ids: Sequence[str]) -> dict[str, str]:
        """Return "Artist – Title" for each known Spotify id, for display."""
        labels: dict[str, str] = {}
        for spotify_id in spotify_ids:
            row = self.connection.execute(
                "SELECT name, artists FROM resolutions WHERE spotify_id = ? AND name IS NOT NULL LIMIT 1",
                (spotify_id,),
            ).fetchone()
            if row is not None:
                labels[spotify_id] = f"{', '.join(json.loads(row[1] or '[]'))} – {row[0]}"
        return labels

    # -- source track cache (e.g. Deezer ISRC look-ups) ------------------------------------------
    def get_source_track(self, source: str, source_track_id: str) -> tuple[str | None, int | None] | None:
        """Return a source track's cached (ISRC, duration), or None when never looked up."""
        row = self.connection.execute(
            "SELECT isrc, duration_ms FROM source_tracks WHERE source = ? AND source_track_id = ?",
            (source, source_track_id),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def save_source_track(
        self, source: str, source_track_id: str, isrc: str | None, duration_ms: int | None, now: datetime.datetime
    ) -> None:
        """Cache a source track's ISRC and duration."""
        with self.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO source_tracks VALUES (?, ?, ?, ?, ?)",
                (source, source_track_id, isrc, duration_ms, _utc_text(now)),
            )

    # -- managed playlists -------------------------------------------------------------------------
    # A fixed column list, never user input, so the f-strings below are not an injection risk.
    _PLAYLIST_COLUMNS = (
        "key, period, spotify_id, snapshot_id, name, description, contents, status, created_at, updated_at, last_error"
    )

    @staticmethod
    def _playlist(row: Sequence[Any]) -> ManagedPlaylist:
        contents = None if row[6] is None else tuple(json.loads(row[6]))
        return ManagedPlaylist(row[0], row[1], row[2], row[3], row[4], row[5], contents, *row[7:])

    def managed_playlists(self, key: str | None = None) -> list[ManagedPlaylist]:
        """Return the managed playlists (of one key, or all), oldest period first."""
        query = f"SELECT {self._PLAYLIST_COLUMNS} FROM managed_playlists"  # noqa: S608
        parameters: tuple[str, ...] = ()
        if key is not None:
            query += " WHERE key = ?"
            parameters = (key,)
        rows = self.connection.execute(query + " ORDER BY key, period", parameters).fetchall()
        return [self._playlist(row) for row in rows]

    def get_playlist(self, key: str, period: str) -> ManagedPlaylist | None:
        """Return the managed playlist of a key and period, or None."""
        row = self.connection.execute(
            f"SELECT {self._PLAYLIST_COLUMNS} FROM managed_playlists WHERE key = ? AND period = ?",  # noqa: S608
            (key, period),
        ).fetchone()
        return None if row is None else self._playlist(row)

    def save_playlist(self, playlist: ManagedPlaylist) -> None:
        """Insert or replace a managed playlist record."""
        with self.transaction() as connection:
            connection.execute(
                f"INSERT OR REPLACE INTO managed_playlists ({self._PLAYLIST_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *dataclasses.astuple(playlist)[:6],
                    None if playlist.contents is None else json.dumps(list(playlist.contents)),
                    *dataclasses.astuple(playlist)[7:],
                ),
            )

    # -- runs and snapshots ---------------------------------------------------------------------------
    def start_run(self, command: str, now: datetime.datetime) -> int:
        """Record a run as started; runs left 'running' by a killed process are marked interrupted."""
        with self.transaction() as connection:
            connection.execute("UPDATE runs SET result = 'interrupted' WHERE result = 'running'")
            cursor = connection.execute(
                "INSERT INTO runs (command, started_at, result) VALUES (?, ?, 'running')", (command, _utc_text(now))
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def finish_run(
        self,
        run_id: int,
        *,
        now: datetime.datetime,
        result: str,
        exit_code: int,
        summary: dict[str, Any],
        snapshots: Sequence[ManagedPlaylist] = (),
    ) -> None:
        """Write the run record and the snapshots of the playlists it changed, in one transaction."""
        with self.transaction() as connection:
            connection.execute(
                "UPDATE runs SET finished_at = ?, result = ?, exit_code = ?, summary = ? WHERE id = ?",
                (_utc_text(now), result, exit_code, json.dumps(summary, sort_keys=True), run_id),
            )
            connection.executemany(
                "INSERT INTO playlist_snapshots (run_id, key, period, spotify_id, snapshot_id, contents, taken_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        playlist.key,
                        playlist.period,
                        playlist.spotify_id,
                        playlist.snapshot_id,
                        json.dumps(list(playlist.contents or ())),
                        _utc_text(now),
                    )
                    for playlist in snapshots
                ],
            )

    def recent_runs(self, limit: int = 10, since: datetime.datetime | None = None) -> list[dict[str, Any]]:
        """Return runs newest first: the last `limit`, or all started since `since`."""
        if since is not None:
            rows = self.connection.execute(
                "SELECT id, command, started_at, finished_at, result, exit_code, summary FROM runs"
                " WHERE started_at >= ? ORDER BY id DESC",
                (_utc_text(since),),
            ).fetchall()
        else:
            rows = self.connection.execute(
                "SELECT id, command, started_at, finished_at, result, exit_code, summary FROM runs"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {
                "id": row[0],
                "command": row[1],
                "started_at": row[2],
                "finished_at": row[3],
                "result": row[4],
                "exit_code": row[5],
                "summary": json.loads(row[6]) if row[6] else {},
            }
            for row in rows
        ]

    def backup_bytes(self) -> bytes:
        """Return a consistent copy of the whole DB, made with SQLite's online backup API.

        Other processes may write meanwhile: the copy is one transaction's view.
        """
        return database_bytes(self.connection)

    def integrity_check(self) -> list[str]:
        """Return SQLite's integrity_check findings; ["ok"] means healthy."""
        return [str(row[0]) for row in self.connection.execute("PRAGMA integrity_check")]


def database_bytes(connection: sqlite3.Connection) -> bytes:
    """Return a consistent copy of the database behind connection as bytes (SQLite's online backup API)."""
    with tempfile.TemporaryDirectory(prefix="tophits-backup-") as directory:
        target = sqlite3.connect(Path(directory) / "state.db")
        try:
            connection.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        return (Path(directory) / "state.db").read_bytes()


def file_bytes(path: Path) -> bytes:
    """Return a consistent copy of the state DB file at path, read without changing it."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return database_bytes(connection)
    finally:
        connection.close()


def _newer_schema_error(version: int, path: Path | None) -> DataSafetyError:
    return DataSafetyError(
        f"state DB {path} has schema version {version}, newer than this tophits knows ({SCHEMA_VERSION});"
        " upgrade tophits (pipx upgrade spotify-tophits)"
    )


def _apply_migrations(connection: sqlite3.Connection, path: Path | None) -> None:
    """Apply every pending migration in one transaction: all of them, or none."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise _newer_schema_error(version, path)
    if version == SCHEMA_VERSION:
        return
    # executescript would commit on its own, so run statements one by one in our transaction.
    connection.execute("BEGIN IMMEDIATE")
    try:
        for number, (name, script) in enumerate(MIGRATIONS[:SCHEMA_VERSION], start=1):
            if number <= version:
                continue
            for statement in script.split(";"):
                if statement.strip():
                    connection.execute(statement)
            if number == 1:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
                )
            connection.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (name, _utc_text(datetime.datetime.now(datetime.UTC))),
            )
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


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


def _migrate_copy(path: Path) -> None:
    """Migrate an older DB on a copy and swap the copy in with one rename: the original is never written."""
    copy = path.with_name(f".{path.name}.migrating")
    for stale in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        stale.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(copy, isolation_level=None)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
        _apply_migrations(target, path)
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
    if version != SCHEMA_VERSION:
        connection.close()
        if version > SCHEMA_VERSION:
            raise _newer_schema_error(version, path)
        raise DataSafetyError(f"state DB {path} has schema {version}; run `tophits update` once to migrate it")
    return Store(connection, path)


def open_store(path: Path | None, pre_migration: Callable[[Path], Path] | None = None) -> Store:
    """Open (creating if needed) the state DB at path, or in memory for None, migrated to the latest schema.

    An existing DB with an older schema is first copied by `pre_migration` (which returns where the
    copy went), then migrated on a copy swapped in atomically. Raise DataSafetyError, leaving the
    file byte-identical, if it is not SQLite, is corrupt, has a newer schema, or a migration fails.
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
        if 0 < version < SCHEMA_VERSION:
            copy = pre_migration(path) if pre_migration is not None else None
            try:
                _checkpoint(path)
                _migrate_copy(path)
            except (sqlite3.DatabaseError, DataSafetyError) as error:
                where = f"; the pre-migration copy is {copy}" if copy else ""
                message = getattr(error, "message", str(error))
                raise DataSafetyError(
                    f"migrating {path} from schema {version} to {SCHEMA_VERSION} failed ({message}); the state DB"
                    f" is unchanged{where}"
                ) from None
    target = ":memory:" if path is None else str(path)
    try:
        connection = sqlite3.connect(target, isolation_level=None, timeout=30, check_same_thread=False)
        connection.execute("PRAGMA foreign_keys = ON")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            # Checked before WAL mode is switched on, so a newer DB is left byte-identical.
            connection.close()
            raise _newer_schema_error(version, path)
        if path is not None:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
        _apply_migrations(connection, path)
    except sqlite3.DatabaseError as error:
        raise DataSafetyError(
            f"state DB {path} cannot be opened ({error}); run `tophits doctor`, or restore a backup"
        ) from None
    if path is not None:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    return Store(connection, path)
