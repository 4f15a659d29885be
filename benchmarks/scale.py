"""Scale fixture: a realistic state DB holding N years of daily charts from two sources.

Each day has a Deezer and an Apple chart of 100 rows with realistic churn (about six new songs a
day per chart, each charting for one to six weeks), every row resolved (about 4% misses), one
run record with a realistic summary, and the managed playlists with their written versions and entries. Track ids
come from the sandbox world, so an emulator serving that world accepts writes of them.

    python benchmarks/scale.py YEARS PATH
"""

from __future__ import annotations

import bisect
import datetime
import json
import math
import random
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

from spotify_tophits.actions.entries import written_entries
from spotify_tophits.matching import primary_artist, song_key
from spotify_tophits.overrides import Overrides
from spotify_tophits.ranking import RankedRow, Window, current_window, final_window, rank_tracks, rank_window
from spotify_tophits.sandbox.world import World
from spotify_tophits.store import WrittenVersion, open_store
from spotify_tophits.store.versions import insert_version

SOURCES = (("deezer:worldwide", "3155776842"), ("apple:us", "most-played-us"))


def world_for(years: int, last_day: datetime.date) -> World:
    """The sample world sized for `years` of charts ending on last_day."""
    days = years * 365
    return World(start=last_day - datetime.timedelta(days=days - 1), songs=max(3600, days * 7))


def generate(path: Path, years: int, last_day: datetime.date, seed: int = 11) -> dict[str, int]:
    """Write the state DB at path (replacing it) and return its row counts."""
    days = years * 365
    first_day = last_day - datetime.timedelta(days=days - 1)
    world = world_for(years, last_day)
    randomiser = random.Random(seed)
    songs = world.songs
    releases = sorted((randomiser.uniform(-45, days), index) for index in range(len(songs)))
    release_days = [day for day, _ in releases]
    lifetimes = {index: randomiser.uniform(7, 42) for _, index in releases}
    released = {index: day for day, index in releases}
    strength = {index: randomiser.uniform(0.3, 1.0) ** 2 for _, index in releases}
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = open_store(path)
    connection = store.connection
    connection.execute("BEGIN")
    resolved: set[str] = set()
    observation_id = 0
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        low = bisect.bisect_left(release_days, offset - 45)
        high = bisect.bisect_right(release_days, offset)
        candidates = [index for _, index in releases[low:high]]
        for source, chart_id in SOURCES:
            taste = 0 if source.startswith("deezer") else 1

            def score(index: int, taste: int = taste, offset: int = offset) -> float:
                age = max(offset - released[index], 0.0)
                curve = (1 - math.exp(-age / 3)) * math.exp(-age / lifetimes[index])
                noise = ((index * 2654435761 + offset * 97 + taste * 13) % 1000) / 1000
                return strength[index] * curve * (0.8 + 0.4 * noise)

            chart = sorted(candidates, key=score, reverse=True)[:100]
            observation_id += 1
            connection.execute(
                "INSERT INTO observations (id, source, chart_id, chart_date, fetched_at, row_count)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (observation_id, source, chart_id, day.isoformat(), f"{day.isoformat()}T06:00:00+00:00", len(chart)),
            )
            rows = []
            for rank, index in enumerate(chart, start=1):
                song = songs[index]
                key = f"isrc:{song.isrc}"
                rows.append(
                    (
                        observation_id,
                        rank,
                        song.title,
                        json.dumps(list(song.artists)),
                        song.isrc,
                        str(song.deezer_id),
                        None,
                        song.duration_ms,
                        key,
                        song_key(song.title, song.artists),
                        primary_artist(song.artists),
                    )
                )
                if key not in resolved:
                    resolved.add(key)
                    connection.execute(
                        "INSERT OR REPLACE INTO resolutions (key, spotify_id, method, confidence, name, artists, isrc,"
                        " attempts, resolved_at, retry_after) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                        (
                            key,
                            song.spotify_id,
                            "isrc" if song.spotify_id else "miss",
                            1.0 if song.spotify_id else 0.0,
                            song.title,
                            json.dumps(list(song.artists)),
                            song.isrc,
                            f"{day.isoformat()}T06:00:00+00:00",
                            None if song.spotify_id else "2099-01-01T00:00:00+00:00",
                        ),
                    )
            connection.executemany(
                "INSERT INTO chart_rows (observation_id, rank, title, artists, isrc, source_track_id, spotify_id,"
                " duration_ms, resolution_key, song_key, artist_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        summary = {
            "sources": [
                {"name": s, "status": "fetched", "rows": 100, "matched": 96, "message": ""} for s, _ in SOURCES
            ],
            "match_rate": 0.96,
            "requests": {
                "total": 14,
                "by_status": {"200": 12, "201": 2},
                "latency_ms": {"p50": 80.0, "p95": 95.0, "p99": 120.0},
                "latencies_ms": [80.0 + (i % 7) for i in range(14)],
                "rate_limited": 0,
                "retries": 0,
            },
        }
        connection.execute(
            "INSERT INTO runs (command, started_at, finished_at, result, exit_code, summary)"
            " VALUES ('update', ?, ?, 'ok', 0, ?)",
            (f"{day.isoformat()}T06:00:00+00:00", f"{day.isoformat()}T06:00:09+00:00", json.dumps(summary)),
        )
    connection.execute("COMMIT")
    _playlists(store, world, first_day, last_day)
    counts = {
        table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("observations", "chart_rows", "resolutions", "runs", "managed_playlists", "playlist_snapshots")
    }
    store.close()
    return counts


def _versions(store, rows_by_day, window, record, size, first_day):  # type: ignore[no-untyped-def]
    """The written versions of one playlist, as daily runs would have left them: one a day for Daily Hits
    and for the current month and year (the yearly list re-ranked weekly, to keep the fixture quick), one
    a week for Weekly Hits, and one (the final list) for a finished month or year."""
    if window.final:
        steps = [window]
    elif window.key == "daily":
        steps = [Window("daily", "daily", day, day, day) for day in sorted(rows_by_day) if day >= first_day]
    elif window.key == "weekly":
        mondays = sorted({day - datetime.timedelta(days=day.weekday()) for day in rows_by_day})[1:]
        steps = [Window("weekly", "weekly", m, m + datetime.timedelta(days=6), m) for m in mondays if m <= window.start]
    else:
        start = max(window.start, first_day)
        days = [start + datetime.timedelta(days=i) for i in range((window.end - start).days + 1)]
        steps = [Window(window.key, window.period, window.start, day, window.start) for day in days]
    versions = []
    ranked = None
    for index, step in enumerate(steps):
        if ranked is None or window.key != "yearly" or index % 7 == 0 or index == len(steps) - 1:
            day_rows = [
                row
                for offset in range((step.end - step.start).days + 1)
                for row in rows_by_day.get(step.start + datetime.timedelta(days=offset), ())
            ]
            ranked = rank_window(day_rows, step, size, 3)
        entries = written_entries(store, ranked, Overrides())
        versions.append(
            WrittenVersion(replace(record, contents=tuple(ranked.track_ids)), (step.start, step.end), entries)
        )
    return versions


def _playlists(store, world: World, first_day: datetime.date, last_day: datetime.date) -> None:  # type: ignore[no-untyped-def]
    """Managed playlists for every period, with the contents ranking gives, and a snapshot per playlist."""
    from spotify_tophits.store import ManagedPlaylist

    rows = store.ranked_rows(first_day, last_day)
    rows_by_day: dict[datetime.date, list[RankedRow]] = {}
    for row in rows:
        rows_by_day.setdefault(row.chart_date, []).append(row)
    now = datetime.datetime.combine(last_day, datetime.time(6), tzinfo=datetime.UTC)
    periods = sorted(
        {
            (key, day.strftime(fmt))
            for key, fmt in (("monthly", "%Y-%m"), ("yearly", "%Y"))
            for day in (first_day + datetime.timedelta(days=i) for i in range((last_day - first_day).days + 1))
        }
    )
    windows = [
        final_window(key, period) for key, period in periods if period not in (f"{last_day:%Y-%m}", f"{last_day:%Y}")
    ]
    windows += [current_window(key, last_day, first_day, last_day) for key in ("daily", "weekly", "monthly", "yearly")]
    sizes = {"daily": 50, "weekly": 100, "monthly": 200, "yearly": 250}
    connection = store.connection
    connection.execute("BEGIN")
    for window in windows:
        assert window is not None
        contents = rank_tracks(rows, window, sizes[window.key], 3)
        spotify_id = f"P{abs(hash((window.key, window.period))) % 10**21:021d}"
        record = ManagedPlaylist(
            window.key,
            window.period,
            spotify_id,
            "snap",
            f"{window.key} {window.period}",
            "",
            tuple(contents),
            "final" if window.final else "active",
            now.isoformat(),
            now.isoformat(),
            None,
        )
        connection.execute(
            "INSERT OR REPLACE INTO managed_playlists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.key,
                record.period,
                record.spotify_id,
                record.snapshot_id,
                record.name,
                record.description,
                json.dumps(list(contents)),
                record.status,
                record.created_at,
                record.updated_at,
                None,
            ),
        )
        for version in _versions(store, rows_by_day, window, record, sizes[window.key], first_day):
            insert_version(connection, None, version, now)
    connection.execute("COMMIT")


if __name__ == "__main__":
    years = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(f"state-{years}y.db")
    print(generate(target, years, datetime.date(2026, 11, 28)))
    sqlite3.connect(target).close()
