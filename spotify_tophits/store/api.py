"""The Store: one object over the state DB, made of one query group per concern."""

from __future__ import annotations

from spotify_tophits.store.charts import ChartQueries
from spotify_tophits.store.playlists import PlaylistQueries
from spotify_tophits.store.resolutions import ResolutionQueries
from spotify_tophits.store.runs import RunQueries
from spotify_tophits.store.versions import VersionQueries


class Store(ChartQueries, ResolutionQueries, PlaylistQueries, RunQueries, VersionQueries):
    """The state DB. Open it with `open_store` (read-write, migrated) or `open_reader` (read-only)."""
