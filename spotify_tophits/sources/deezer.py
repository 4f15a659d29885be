"""Deezer: the public "Top <Country>" chart playlists, with ISRCs from `/track/{id}` (looked up once)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.errors import SourceError
from spotify_tophits.sources.base import Pacer, get_json, validate_rows

if TYPE_CHECKING:
    import requests

    from spotify_tophits.store import Store

PAGE = 100
QUOTA_ERROR_CODE = 4
MAX_ROWS = 200


class DeezerSource:
    """One Deezer chart playlist as a chart source."""

    def __init__(
        self,
        *,
        name: str,
        playlist_id: int,
        base_url: str,
        session: requests.Session,
        store: Store,
        minimum_rows: int,
        pacer: Pacer | None,
        sleep: Callable[[float], None],
        clock: Callable[[], datetime.datetime],
    ) -> None:
        self.name = name
        self.chart_id = str(playlist_id)
        self.playlist_id = playlist_id
        self.base_url = base_url
        self.session = session
        self.store = store
        self.minimum_rows = minimum_rows
        self.pacer = pacer
        self.sleep = sleep
        self.clock = clock

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        # Deezer reports errors, its quota included, as HTTP 200 with an "error" object.
        for attempt in range(3):
            if self.pacer is not None:
                self.pacer.wait()
            data = get_json(self.session, self.name, self.base_url + path, params, sleep=self.sleep)
            if not isinstance(data, dict):
                raise SourceError(f"{self.name}: unexpected answer from Deezer {path} (not an object); skipped")
            error = data.get("error")
            if not error:
                return data
            if isinstance(error, dict) and error.get("code") == QUOTA_ERROR_CODE and attempt < 2:
                # Deezer's window is 5 s: one full window later the quota is back.
                self.sleep(5)
                continue
            message = error.get("message") if isinstance(error, dict) else error
            raise SourceError(f"{self.name}: Deezer answered an error for {path}: {message}; skipped")
        raise SourceError(f"{self.name}: Deezer quota exceeded; skipped")

    def probe(self) -> int:
        """Read the first page of the chart playlist only (no track look-ups) and check its shape."""
        page = self._get(f"playlist/{self.playlist_id}/tracks", {"index": 0, "limit": 10})
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
            page = self._get(f"playlist/{self.playlist_id}/tracks", {"index": len(items), "limit": PAGE})
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
            isrc, looked_up_duration = self._isrc(track_id)
            rows.append(
                ChartRow(
                    rank=position,
                    title=title,
                    artists=(artist,),
                    isrc=isrc,
                    source_track_id=track_id,
                    duration_ms=duration_ms or looked_up_duration,
                )
            )
        return Chart(self.name, self.chart_id, today, validate_rows(self.name, rows, self.minimum_rows))

    def _isrc(self, track_id: str) -> tuple[str | None, int | None]:
        cached = self.store.get_source_track("deezer", track_id)
        if cached is not None:
            return cached
        try:
            data = self._get(f"track/{track_id}")
        except SourceError:
            # A single missing track must not cost the whole chart; the row falls back to text search.
            return None, None
        isrc = data.get("isrc") if isinstance(data.get("isrc"), str) else None
        duration = int(data["duration"]) * 1000 if isinstance(data.get("duration"), int) else None
        self.store.save_source_track("deezer", track_id, isrc, duration, self.clock())
        return isrc, duration
