"""The written versions of each playlist (`playlist_snapshots`) and what each held, entry by entry.

`update` records a version whenever it writes a playlist; `show` reads them back for positions,
movement against the previous version and peaks. Versions written before migration 0003 have
their track ids (`contents`) but no entries and no window.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import sqlite3
from collections.abc import Sequence

from spotify_tophits.store.base import StoreBase, utc_text
from spotify_tophits.store.playlists import ManagedPlaylist


@dataclasses.dataclass(frozen=True)
class Entry:
    """One position of a written playlist version, as it was when written."""

    position: int
    spotify_id: str
    title: str
    artists: tuple[str, ...]
    points: float | None
    chart_days: int | None
    sources: tuple[str, ...]
    match_method: str
    match_confidence: float | None


@dataclasses.dataclass(frozen=True)
class Version:
    """One written version of a playlist: when, from which window, and its track ids in order."""

    id: int
    key: str
    period: str
    spotify_id: str
    taken_at: str
    window_start: datetime.date | None
    window_end: datetime.date | None
    contents: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class TrackFacts:
    """What the resolution cache knows of a Spotify track: its name, artists and the best match that found it."""

    title: str
    artists: tuple[str, ...]
    method: str
    confidence: float


@dataclasses.dataclass(frozen=True)
class WrittenVersion:
    """A playlist as a run wrote it: the record, the window it was ranked from, and its entries."""

    playlist: ManagedPlaylist
    window: tuple[datetime.date, datetime.date]
    entries: Sequence[Entry]


def _day(text: str | None) -> datetime.date | None:
    return None if text is None else datetime.date.fromisoformat(text)


def insert_version(
    connection: sqlite3.Connection, run_id: int | None, version: WrittenVersion, now: datetime.datetime
) -> int:
    """Insert one written version and its entries inside the caller's transaction; return its id."""
    playlist = version.playlist
    cursor = connection.execute(
        "INSERT INTO playlist_snapshots (run_id, key, period, spotify_id, snapshot_id, contents, taken_at,"
        " window_start, window_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            playlist.key,
            playlist.period,
            playlist.spotify_id,
            playlist.snapshot_id,
            json.dumps(list(playlist.contents or ())),
            utc_text(now),
            version.window[0].isoformat(),
            version.window[1].isoformat(),
        ),
    )
    version_id = cursor.lastrowid
    assert version_id is not None
    connection.executemany(
        "INSERT INTO playlist_entries (snapshot, position, spotify_id, title, artists, points, chart_days,"
        " sources, match_method, match_confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                version_id,
                entry.position,
                entry.spotify_id,
                entry.title,
                json.dumps(list(entry.artists)),
                entry.points,
                entry.chart_days,
                json.dumps(list(entry.sources)),
                entry.match_method,
                entry.match_confidence,
            )
            for entry in version.entries
        ],
    )
    return version_id


class VersionQueries(StoreBase):
    """Record and read the written versions of playlists and their entries."""

    def versions(self, key: str, period: str) -> list[Version]:
        """Return every written version of one playlist, oldest first."""
        cursor = self.connection.execute(
            "SELECT id, key, period, spotify_id, taken_at, window_start, window_end, contents"
            " FROM playlist_snapshots WHERE key = ? AND period = ? ORDER BY id",
            (key, period),
        )
        return [
            Version(
                id=row["id"],
                key=row["key"],
                period=row["period"],
                spotify_id=row["spotify_id"],
                taken_at=row["taken_at"],
                window_start=_day(row["window_start"]),
                window_end=_day(row["window_end"]),
                contents=tuple(json.loads(row["contents"])),
            )
            for row in cursor
        ]

    def version_entries(self, version_id: int) -> list[Entry]:
        """Return the entries recorded for one version, by position (none for a version older than 0003)."""
        cursor = self.connection.execute(
            "SELECT position, spotify_id, title, artists, points, chart_days, sources, match_method,"
            " match_confidence FROM playlist_entries WHERE snapshot = ? ORDER BY position",
            (version_id,),
        )
        return [
            Entry(
                position=row["position"],
                spotify_id=row["spotify_id"],
                title=row["title"],
                artists=tuple(json.loads(row["artists"])),
                points=row["points"],
                chart_days=row["chart_days"],
                sources=tuple(json.loads(row["sources"])),
                match_method=row["match_method"],
                match_confidence=row["match_confidence"],
            )
            for row in cursor
        ]

    def track_facts(self, spotify_ids: Sequence[str]) -> dict[str, TrackFacts]:
        """Return, per known Spotify id, its name and artists and the most confident match that found it."""
        facts: dict[str, TrackFacts] = {}
        for start in range(0, len(spotify_ids), 500):
            chunk = list(spotify_ids[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            cursor = self.connection.execute(
                "SELECT spotify_id, method, confidence, name, artists FROM resolutions"  # noqa: S608 - marks only
                f" WHERE spotify_id IN ({marks}) ORDER BY confidence DESC, method",
                chunk,
            )
            for row in cursor:
                if row["spotify_id"] not in facts:
                    facts[row["spotify_id"]] = TrackFacts(
                        row["name"] or "", tuple(json.loads(row["artists"] or "[]")), row["method"], row["confidence"]
                    )
        return facts

    def song_label(self, song_key: str) -> tuple[str, tuple[str, ...]] | None:
        """Return a chart's title and artists for a song key (for a pinned track no match ever found)."""
        row = self.connection.execute(
            "SELECT title, artists FROM chart_rows WHERE song_key = ? LIMIT 1", (song_key,)
        ).fetchone()
        return None if row is None else (row["title"], tuple(json.loads(row["artists"])))
