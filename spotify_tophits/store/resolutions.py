"""The resolution cache: "which Spotify track is this chart row?", hits and misses alike."""

from __future__ import annotations

import dataclasses
import datetime
import json
import sqlite3
from collections.abc import Sequence

from spotify_tophits.store.base import StoreBase, utc_text


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
    # The matched track's content rating; None when unknown (a miss, or resolved before ratings were kept).
    explicit: bool | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Resolution:
        """Map a `resolutions` row by column name."""
        return cls(
            key=row["key"],
            spotify_id=row["spotify_id"],
            method=row["method"],
            confidence=row["confidence"],
            name=row["name"],
            artists=tuple(json.loads(row["artists"] or "[]")),
            attempts=row["attempts"],
            retry_after=row["retry_after"],
            explicit=None if row["explicit"] is None else bool(row["explicit"]),
        )


class ResolutionQueries(StoreBase):
    """Read and write the resolution cache."""

    def get_resolution(self, key: str) -> Resolution | None:
        """Return the cached resolution of a row key, or None."""
        row = self.connection.execute(
            "SELECT key, spotify_id, method, confidence, name, artists, attempts, retry_after, explicit"
            " FROM resolutions WHERE key = ?",
            (key,),
        ).fetchone()
        return None if row is None else Resolution.from_row(row)

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
        explicit: bool | None = None,
    ) -> None:
        """Cache a hit (spotify_id, with its track's rating when known) or a miss (None, with when to retry)."""
        with self.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO resolutions (key, spotify_id, method, confidence, name, artists, isrc,"
                " attempts, resolved_at, retry_after, explicit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    spotify_id,
                    method,
                    confidence,
                    name,
                    json.dumps(list(artists)),
                    isrc,
                    attempts,
                    utc_text(now),
                    None if retry_after is None else utc_text(retry_after),
                    None if explicit is None else int(explicit),
                ),
            )

    def rekey_rows(self, old_key: str, new_key: str) -> None:
        """Point every chart row keyed `old_key` at `new_key` (resolved through the search budget if not cached)."""
        with self.transaction() as connection:
            connection.execute("UPDATE chart_rows SET resolution_key = ? WHERE resolution_key = ?", (new_key, old_key))

    def track_labels(self, spotify_ids: Sequence[str]) -> dict[str, str]:
        """Return "Artist – Title" for each known Spotify id, for display."""
        labels: dict[str, str] = {}
        for spotify_id in spotify_ids:
            row = self.connection.execute(
                "SELECT name, artists FROM resolutions WHERE spotify_id = ? AND name IS NOT NULL LIMIT 1",
                (spotify_id,),
            ).fetchone()
            if row is not None:
                labels[spotify_id] = f"{', '.join(json.loads(row['artists'] or '[]'))} – {row['name']}"
        return labels
