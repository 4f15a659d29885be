"""Your own top tracks (`GET /me/top/tracks`, short term, about four weeks), for "my hits" blended in. Opt-in."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.sources.base import validate_rows

if TYPE_CHECKING:
    from spotify_tophits.spotify import SpotifyGateway


class MeTopSource:
    """The account's short-term top tracks as a daily chart; one Spotify request a day."""

    def __init__(self, *, name: str, gateway: Callable[[], SpotifyGateway], minimum_rows: int) -> None:
        self.name = name
        self.chart_id = "short_term"
        self.gateway = gateway
        self.minimum_rows = minimum_rows

    def probe(self) -> int:
        return len(self.gateway().top_tracks())

    def fetch(self, today: datetime.date) -> Chart:
        rows = [
            ChartRow(
                rank=position,
                title=track.name,
                artists=track.artists,
                isrc=track.isrc,
                spotify_id=track.id,
                explicit=track.explicit,  # so clean-only knows a clean track without searching for it
            )
            for position, track in enumerate(self.gateway().top_tracks(), start=1)
        ]
        return Chart(self.name, self.chart_id, today, validate_rows(self.name, rows, self.minimum_rows))
