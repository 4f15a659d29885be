"""Deezer: the public "Top <Country>" chart playlists, with ISRCs from `/track/{id}` (looked up once).

Every request goes through the shared `DeezerClient` (one pacer for all sources). What `/track`
tells us is cached with the day it was learned; Deezer's real "no data" is cached with the same
growing back-off as a Spotify miss, while any other error is not cached at all, so the next run
asks again for exactly the tracks that errored.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.errors import SourceError
from spotify_tophits.matching import miss_due
from spotify_tophits.sources.base import logger, validate_rows
from spotify_tophits.sources.deezer_client import (
    DeezerClient,
    DeezerNoDataError,
    DeezerQuotaError,
    DeezerTrack,
    deezer_explicit,
)

if TYPE_CHECKING:
    from spotify_tophits.store import Store

PAGE = 100
MAX_ROWS = 200


class DeezerSource:
    """One Deezer chart playlist as a chart source."""

    def __init__(
        self,
        *,
        name: str,
        playlist_id: int,
        client: DeezerClient,
        store: Store,
        minimum_rows: int,
        clock: Callable[[], datetime.datetime],
    ) -> None:
        self.name = name
        self.chart_id = str(playlist_id)
        self.playlist_id = playlist_id
        self.client = client
        self.store = store
        self.minimum_rows = minimum_rows
        self.clock = clock
        # Track ids whose look-up failed this run (not cached: asked again next run).
        self.errored: list[str] = []
        self._quota_spent = False

    def probe(self) -> int:
        """Read the first page of the chart playlist only (no track look-ups) and check its shape."""
        page = self.client.get(self.name, f"playlist/{self.playlist_id}/tracks", {"index": 0, "limit": 10})
        data = page.get("data")
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and "title" in item and "artist" in item for item in data
        ):
            raise SourceError(f"{self.name}: Deezer playlist answer is not in the expected shape")
        total = int(page.get("total") or len(data))
        if total < self.minimum_rows:
            raise SourceError(f"{self.name}: chart has {total} rows, fewer than the minimum {self.minimum_rows}")
        return total

    def fetch(self, today: datetime.date) -> Chart:
        """Return today's chart from the Deezer playlist, every row with its ISRC when Deezer has one."""
        items: list[Any] = []
        while len(items) < MAX_ROWS:
            path = f"playlist/{self.playlist_id}/tracks"
            page = self.client.get(self.name, path, {"index": len(items), "limit": PAGE})
            data = page.get("data")
            if not isinstance(data, list):
                raise SourceError(f"{self.name}: Deezer playlist answer has no 'data' list; skipped")
            items.extend(data)
            if not data or not page.get("next"):
                break
        rows = []
        for position, item in enumerate(items, start=1):
            try:
                track_id = str(int(item["id"]))
                title = str(item["title"])
                artist = str(item["artist"]["name"])
                duration_ms = int(item["duration"]) * 1000 if item.get("duration") else None
            except (KeyError, TypeError, ValueError):
                raise SourceError(f"{self.name}: Deezer row {position} is missing id/title/artist; skipped") from None
            isrc, looked_up_duration, looked_up_rating = self._facts(track_id)
            rating = deezer_explicit(item)
            rows.append(
                ChartRow(
                    rank=position,
                    title=title,
                    artists=(artist,),
                    isrc=isrc,
                    source_track_id=track_id,
                    duration_ms=duration_ms or looked_up_duration,
                    explicit=rating if rating is not None else looked_up_rating,
                )
            )
        if self.errored:
            logger.info("%s: Deezer failed for %d tracks; asked again next run", self.name, len(self.errored))
        return Chart(self.name, self.chart_id, today, validate_rows(self.name, rows, self.minimum_rows))

    def _facts(self, track_id: str) -> tuple[str | None, int | None, bool | None]:
        """Return a track's (ISRC, duration, rating): cached, else from `/track/{id}` (a miss cached with back-off)."""
        now = self.clock()
        cached = self.store.get_source_track("deezer", track_id)
        if cached is not None and not cached.due(now):
            return cached.isrc, cached.duration_ms, cached.explicit
        if self._quota_spent:
            self.errored.append(track_id)
            return None, None, None
        try:
            track: DeezerTrack | None = self.client.track(self.name, track_id)
        except DeezerNoDataError:
            track = None
        except DeezerQuotaError:
            # Waited out three windows already: the rest of this run would only wait more.
            self._quota_spent = True
            self.errored.append(track_id)
            return None, None, None
        except SourceError:
            # A single failed look-up must not cost the whole chart; the row falls back to text search
            # this run, and nothing is cached, so the next run asks again.
            self.errored.append(track_id)
            return None, None, None
        if track is None or track.isrc is None:
            attempts = (cached.attempts if cached else 0) + 1
            self.store.save_source_track(
                "deezer",
                track_id,
                None,
                track.duration_ms if track else None,
                now,
                explicit=track.explicit if track else None,
                attempts=attempts,
                retry_after=miss_due(now, attempts),
            )
            return None, track.duration_ms if track else None, track.explicit if track else None
        self.store.save_source_track("deezer", track_id, track.isrc, track.duration_ms, now, explicit=track.explicit)
        return track.isrc, track.duration_ms, track.explicit
