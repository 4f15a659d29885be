"""Spotify's public weekly global chart (charts.spotify.com's anonymous endpoint). Opt-in.

Rows carry Spotify track URIs, so nothing needs matching. The endpoint is undocumented: any
change of shape is a source error with a clear message, never a guess.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.errors import SourceError
from spotify_tophits.sources.base import get_json, validate_rows

if TYPE_CHECKING:
    import requests

ALIAS = "REGIONAL_GLOBAL_WEEKLY"
TRACK_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")


class SpotifyChartsSource:
    """The global weekly top 50 from charts.spotify.com."""

    def __init__(
        self, *, name: str, base_url: str, session: requests.Session, minimum_rows: int, sleep: Callable[[float], None]
    ) -> None:
        self.name = name
        self.chart_id = "global-weekly"
        self.base_url = base_url
        self.session = session
        self.minimum_rows = minimum_rows
        self.sleep = sleep

    def _chart(self) -> dict[str, Any]:
        data = get_json(self.session, self.name, f"{self.base_url}public/v0/charts", sleep=self.sleep)
        charts = data.get("chartEntryViewResponses") if isinstance(data, dict) else None
        if not isinstance(charts, list):
            raise SourceError(f"{self.name}: no chartEntryViewResponses in the answer (the endpoint changed); skipped")
        for chart in charts:
            alias = (((chart or {}).get("displayChart") or {}).get("chartMetadata") or {}).get("alias")
            if alias == ALIAS:
                return dict(chart)
        raise SourceError(f"{self.name}: the answer has no {ALIAS} chart any more; skipped")

    def probe(self) -> int:
        return len(self._chart().get("entries") or [])

    def fetch(self, today: datetime.date) -> Chart:
        """Return the latest weekly chart, dated as Spotify dates it."""
        chart = self._chart()
        try:
            chart_date = datetime.date.fromisoformat(str(chart["displayChart"]["date"]))
        except (KeyError, ValueError):
            raise SourceError(f"{self.name}: the weekly chart has no valid date; skipped") from None
        rows = []
        for position, entry in enumerate(chart.get("entries") or [], start=1):
            try:
                metadata = entry["trackMetadata"]
                match = TRACK_URI.match(metadata["trackUri"])
                rank = int(entry["chartEntryData"]["currentRank"])
                artists = tuple(str(artist["name"]) for artist in metadata["artists"])
                title = str(metadata["trackName"])
            except (KeyError, TypeError, ValueError):
                raise SourceError(f"{self.name}: entry {position} is not in the expected shape; skipped") from None
            if not match:
                raise SourceError(f"{self.name}: entry {position} has no Spotify track URI; skipped")
            rows.append(ChartRow(rank=rank, title=title, artists=artists, spotify_id=match.group(1)))
        return Chart(self.name, self.chart_id, chart_date, validate_rows(self.name, rows, self.minimum_rows))
