"""Chart history: observations (one source's chart on one day), their rows, source health and source facts."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterator, Sequence
from typing import Any

from spotify_tophits.ranking import RankedRow
from spotify_tophits.store.base import StoreBase, utc_text


@dataclasses.dataclass(frozen=True)
class SourceFact:
    """What a source told us about one of its tracks, and when: a cached miss has `retry_after` set."""

    isrc: str | None
    duration_ms: int | None
    explicit: bool | None
    learned_at: datetime.datetime
    attempts: int
    retry_after: datetime.datetime | None

    def due(self, now: datetime.datetime) -> bool:
        """Whether a cached miss has waited out its back-off and may be asked again."""
        return self.retry_after is not None and self.retry_after <= now


def _rating(value: Any) -> bool | None:
    return None if value is None else bool(value)


class ChartQueries(StoreBase):
    """Observations and chart rows; how each source fared; what a source told us about its tracks."""

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
                (source, chart_id, chart_date.isoformat(), utc_text(fetched_at), len(rows)),
            )
            observation_id = cursor.lastrowid
            connection.executemany(
                "INSERT INTO chart_rows (observation_id, rank, title, artists, isrc, source_track_id, spotify_id,"
                " duration_ms, resolution_key, song_key, artist_key, explicit)"
                " VALUES (:observation_id, :rank, :title, :artists, :isrc, :source_track_id, :spotify_id,"
                " :duration_ms, :resolution_key, :song_key, :artist_key, :explicit)",
                [
                    {"explicit": None, **row, "observation_id": observation_id, "artists": json.dumps(row["artists"])}
                    for row in rows
                ],
            )

    def latest_chart_date(self, until: datetime.date) -> datetime.date | None:
        """Return the newest chart day on or before `until`, or None."""
        row = self.connection.execute(
            "SELECT MAX(chart_date) AS day FROM observations WHERE chart_date <= ?", (until.isoformat(),)
        ).fetchone()
        return None if row["day"] is None else datetime.date.fromisoformat(row["day"])

    def earliest_chart_date(self) -> datetime.date | None:
        """Return the oldest chart day held, or None."""
        row = self.connection.execute("SELECT MIN(chart_date) AS day FROM observations").fetchone()
        return None if row["day"] is None else datetime.date.fromisoformat(row["day"])

    def charted_songs(self, start: datetime.date, end: datetime.date) -> Iterator[tuple[str, str]]:
        """Yield (artist key, song key) of each matched chart row dated in [start, end], newest day first.

        Rows are read as the caller asks for them (through the chart-date index), so a caller that
        stops early never reads the rest of the window.
        """
        cursor = self.connection.cursor()
        cursor.row_factory = None  # plain tuples: this reads thousands of rows for a long window
        cursor.execute(
            "SELECT r.artist_key, r.song_key FROM observations o"
            " JOIN chart_rows r ON r.observation_id = o.id"
            " JOIN resolutions res ON res.key = r.resolution_key"
            " WHERE o.chart_date BETWEEN ? AND ? AND res.spotify_id IS NOT NULL"
            " ORDER BY o.chart_date DESC",
            (start.isoformat(), end.isoformat()),
        )
        try:
            yield from cursor
        finally:
            cursor.close()

    def ranked_rows(self, start: datetime.date, end: datetime.date, *, clean_only: bool = False) -> list[RankedRow]:
        """Return every chart row with a chart date in [start, end]; unmatched rows have spotify_id None.

        With `clean_only`, a row whose track is not known to be clean (explicit, or matched before ratings
        were kept) counts as unmatched: whatever was cached, no explicit track reaches a playlist.
        """
        cursor = self.connection.execute(
            "SELECT o.chart_date, o.source || ':' || o.chart_id AS chart, o.source, o.row_count, r.rank,"
            " CASE WHEN ? AND res.explicit IS NOT 0 THEN NULL ELSE res.spotify_id END AS spotify_id,"
            " r.song_key, r.artist_key"
            " FROM chart_rows r JOIN observations o ON o.id = r.observation_id"
            " LEFT JOIN resolutions res ON res.key = r.resolution_key"
            " WHERE o.chart_date BETWEEN ? AND ?",
            (clean_only, start.isoformat(), end.isoformat()),
        )
        return [
            RankedRow(
                chart_date=datetime.date.fromisoformat(row["chart_date"]),
                chart=row["chart"],
                source=row["source"],
                row_count=row["row_count"],
                rank=row["rank"],
                spotify_id=row["spotify_id"],
                song_key=row["song_key"],
                artist_key=row["artist_key"],
            )
            for row in cursor
        ]

    def unrated_matches(self, start: datetime.date, end: datetime.date) -> set[str]:
        """Return the resolution keys of matches not known to be clean among charts dated in [start, end]
        (what `clean-only` leaves out of a ranking)."""
        cursor = self.connection.execute(
            "SELECT DISTINCT r.resolution_key FROM chart_rows r JOIN observations o ON o.id = r.observation_id"
            " JOIN resolutions res ON res.key = r.resolution_key"
            " WHERE o.chart_date BETWEEN ? AND ? AND res.spotify_id IS NOT NULL AND res.explicit IS NOT 0",
            (start.isoformat(), end.isoformat()),
        )
        return {row[0] for row in cursor}

    def matches_not_known_clean(self, since: datetime.date) -> list[dict[str, Any]]:
        """Return one chart row per resolution key, among charts since `since`, whose match is explicit or of
        unknown rating, or which was never resolved, with its key as `resolution_key` (to re-key on a policy
        change)."""
        cursor = self.connection.execute(
            "SELECT r.resolution_key, r.rank, r.title, r.artists, r.isrc, r.spotify_id, r.source_track_id,"
            " r.duration_ms, r.explicit"
            " FROM chart_rows r JOIN observations o ON o.id = r.observation_id"
            " LEFT JOIN resolutions res ON res.key = r.resolution_key"
            " WHERE o.chart_date >= ? AND (res.key IS NULL OR (res.spotify_id IS NOT NULL AND res.explicit IS NOT 0))"
            " GROUP BY r.resolution_key",
            (since.isoformat(),),
        )
        return [
            dict(row) | {"artists": tuple(json.loads(row["artists"])), "explicit": _rating(row["explicit"])}
            for row in cursor
        ]

    def due_misses(self, since: datetime.date, now: datetime.datetime) -> list[dict[str, Any]]:
        """Return one chart row per cached miss whose back-off has passed, among charts since `since`."""
        cursor = self.connection.execute(
            "SELECT r.rank, r.title, r.artists, r.isrc, r.spotify_id, r.source_track_id, r.duration_ms,"
            " r.explicit, res.retry_after"
            " FROM resolutions res JOIN chart_rows r ON r.resolution_key = res.key"
            " JOIN observations o ON o.id = r.observation_id"
            " WHERE res.spotify_id IS NULL AND o.chart_date >= ? GROUP BY res.key",
            (since.isoformat(),),
        )
        rows = []
        for row in cursor:
            retry_after = row["retry_after"]
            if retry_after is None or datetime.datetime.fromisoformat(retry_after) <= now:
                rows.append(
                    {
                        "rank": row["rank"],
                        "title": row["title"],
                        "artists": tuple(json.loads(row["artists"])),
                        "isrc": row["isrc"],
                        "spotify_id": row["spotify_id"],
                        "source_track_id": row["source_track_id"],
                        "duration_ms": row["duration_ms"],
                        "explicit": _rating(row["explicit"]),
                    }
                )
        return rows

    def unresolved_rows(self, since: datetime.date, limit: int) -> list[dict[str, Any]]:
        """Return up to `limit` chart rows never resolved (an earlier run's search budget ran out), oldest charts
        first and best ranks first within a chart, one per resolution key, among charts since `since`."""
        if limit <= 0:
            return []
        cursor = self.connection.execute(
            "SELECT r.rank, r.title, r.artists, r.isrc, r.spotify_id, r.source_track_id, r.duration_ms, r.explicit"
            " FROM chart_rows r JOIN observations o ON o.id = r.observation_id"
            " LEFT JOIN resolutions res ON res.key = r.resolution_key"
            " WHERE res.key IS NULL AND o.chart_date >= ?"
            " GROUP BY r.resolution_key ORDER BY MIN(o.chart_date), MIN(o.id), MIN(r.rank) LIMIT ?",
            (since.isoformat(), limit),
        )
        return [
            dict(row) | {"artists": tuple(json.loads(row["artists"])), "explicit": _rating(row["explicit"])}
            for row in cursor
        ]

    # -- source health ---------------------------------------------------------------------------
    def record_source(self, source: str, now: datetime.datetime, error: str | None) -> None:
        """Count a source's consecutive failures (reset by a success)."""
        with self.transaction() as connection:
            connection.execute("INSERT OR IGNORE INTO source_health (source) VALUES (?)", (source,))
            if error is None:
                connection.execute(
                    "UPDATE source_health SET consecutive_failures = 0, last_success = ? WHERE source = ?",
                    (utc_text(now), source),
                )
            else:
                connection.execute(
                    "UPDATE source_health SET consecutive_failures = consecutive_failures + 1, last_failure = ?,"
                    " last_error = ? WHERE source = ?",
                    (utc_text(now), error, source),
                )

    def source_health(self) -> list[dict[str, Any]]:
        """Return each source's health record."""
        cursor = self.connection.execute(
            "SELECT source, consecutive_failures, last_success, last_failure, last_error"
            " FROM source_health ORDER BY source"
        )
        return [dict(row) for row in cursor]

    # -- source track facts (e.g. Deezer ISRC look-ups) ---------------------------------------------
    def get_source_track(self, source: str, source_track_id: str) -> SourceFact | None:
        """Return what a source told us about a track (a miss included), or None when never learned."""
        row = self.connection.execute(
            "SELECT isrc, duration_ms, explicit, fetched_at, attempts, retry_after FROM source_tracks"
            " WHERE source = ? AND source_track_id = ?",
            (source, source_track_id),
        ).fetchone()
        if row is None:
            return None
        return SourceFact(
            isrc=row["isrc"],
            duration_ms=row["duration_ms"],
            explicit=_rating(row["explicit"]),
            learned_at=datetime.datetime.fromisoformat(row["fetched_at"]),
            attempts=row["attempts"],
            retry_after=None if row["retry_after"] is None else datetime.datetime.fromisoformat(row["retry_after"]),
        )

    def save_source_track(
        self,
        source: str,
        source_track_id: str,
        isrc: str | None,
        duration_ms: int | None,
        now: datetime.datetime,
        *,
        explicit: bool | None = None,
        attempts: int = 0,
        retry_after: datetime.datetime | None = None,
    ) -> None:
        """Cache what a source told us about a track, learned `now`; a miss carries when to ask again."""
        with self.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO source_tracks (source, source_track_id, isrc, duration_ms, fetched_at,"
                " explicit, attempts, retry_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    source_track_id,
                    isrc,
                    duration_ms,
                    utc_text(now),
                    None if explicit is None else int(explicit),
                    attempts,
                    None if retry_after is None else utc_text(retry_after),
                ),
            )
