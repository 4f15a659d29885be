"""What every chart source produces: a `Chart` of `ChartRow`s for one source, one chart, one day.

Kept apart from the sources themselves so matching, the update story and the store can speak
of chart rows without importing any source (and without an import cycle through them).
"""

from __future__ import annotations

import dataclasses
import datetime


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


@dataclasses.dataclass(frozen=True)
class Chart:
    """A validated chart: one source, one chart, one day."""

    source: str
    chart_id: str
    chart_date: datetime.date
    rows: tuple[ChartRow, ...]
