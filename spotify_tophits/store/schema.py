"""The state DB's schema: named, ordered migrations, applied in one transaction.

Never edit a migration that has shipped: add a new one. `PRAGMA user_version` holds how many
have been applied; `schema_migrations` records each by name and time.
"""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

from spotify_tophits.errors import DataSafetyError

# Named, ordered migrations.
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
# What each written version of a playlist held, entry by entry, for `tophits show`: the window it
# was ranked from, and per entry the points, chart days, sources and match as of writing.
MIGRATIONS.append(
    (
        "0003_playlist_entries",
        """
        ALTER TABLE playlist_snapshots ADD COLUMN window_start TEXT;
        ALTER TABLE playlist_snapshots ADD COLUMN window_end TEXT;
        CREATE INDEX playlist_snapshots_by_playlist ON playlist_snapshots (key, period, id);
        CREATE TABLE playlist_entries (
            snapshot INTEGER NOT NULL REFERENCES playlist_snapshots (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            spotify_id TEXT NOT NULL,
            title TEXT NOT NULL,
            artists TEXT NOT NULL,
            points REAL NOT NULL,
            chart_days INTEGER NOT NULL,
            sources TEXT NOT NULL,
            match_method TEXT NOT NULL,
            match_confidence REAL,
            PRIMARY KEY (snapshot, position)
        );
        """,
    )
)
MIGRATIONS.append(
    (
        "0004_source_facts_and_ratings",
        # A source fact now carries its back-off: a cached "no ISRC" is asked again after 1 day,
        # doubling to 30. Misses cached before this migration never expired: they are due at once.
        """
        ALTER TABLE source_tracks ADD COLUMN explicit INTEGER;
        ALTER TABLE source_tracks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE source_tracks ADD COLUMN retry_after TEXT;
        UPDATE source_tracks SET retry_after = fetched_at, attempts = 1 WHERE isrc IS NULL;
        ALTER TABLE chart_rows ADD COLUMN explicit INTEGER;
        """,
    )
)
# `status` reads the last week's runs on every call: through an index, not a scan of every run ever.
MIGRATIONS.append(("0005_runs_by_start", "CREATE INDEX runs_by_start ON runs (started_at);"))
# The content rating of each matched track (1 explicit, 0 clean), so `clean-only` can leave out explicit tracks
# matched before it was chosen. Resolutions made before this migration have none (NULL: unknown).
MIGRATIONS.append(("0006_resolution_ratings", "ALTER TABLE resolutions ADD COLUMN explicit INTEGER;"))
SCHEMA_VERSION = len(MIGRATIONS)


def newer_schema_error(version: int, path: Path | None) -> DataSafetyError:
    """Return the error for a state DB written by a newer tophits than this one."""
    return DataSafetyError(
        f"state DB {path} has schema version {version}, newer than this tophits knows ({SCHEMA_VERSION});"
        " upgrade tophits (pipx upgrade spotify-tophits)"
    )


def apply_migrations(connection: sqlite3.Connection, path: Path | None, now: datetime.datetime | None) -> None:
    """Apply every pending migration in one transaction: all of them, or none. Each is recorded as applied at
    `now` (left empty without one: a DB in memory or a trial copy)."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise newer_schema_error(version, path)
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
                (name, now.astimezone(datetime.UTC).isoformat(timespec="seconds") if now else None),
            )
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
