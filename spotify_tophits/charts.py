"""What every chart source produces: a `Chart` of `ChartRow`s for one source, one chart, one day.

Kept apart from the sources themselves so matching, the update story and the store can speak
of chart rows without importing any source (and without an import cycle through them).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from spotify_tophits.titles import primary_artist, song_key


@dataclasses.dataclass(frozen=True)
class ChartRow:
    """One row of a chart as the source published it."""

    rank: int
    title: str
    artists: tuple[str, ...]
    isrc: str | None = None
    spotify_id: str | None = None
    source_track_id: str | None = None
    duration_ms: int | None = None
    # The content rating the source published: True explicit, False clean, None not said.
    explicit: bool | None = None

    def __post_init__(self) -> None:
        # One spelling of an ISRC everywhere (cache key, stored row, comparisons): some sources send lower case.
        if self.isrc is not None:
            object.__setattr__(self, "isrc", self.isrc.strip().replace("-", "").upper() or None)

    def stored_values(self, resolution_key: str) -> dict[str, Any]:
        """Return the row as the store saves it: with its resolution key, song key and artist key."""
        values = dataclasses.asdict(self) | {"artists": list(self.artists), "resolution_key": resolution_key}
        return values | {"song_key": song_key(self.title, self.artists), "artist_key": primary_artist(self.artists)}


@dataclasses.dataclass(frozen=True)
class Chart:
    """A validated chart: one source, one chart, one day."""

    source: str
    chart_id: str
    chart_date: datetime.date
    rows: tuple[ChartRow, ...]
