"""The state DB: SQLite in WAL mode with named migrations applied on open.

It holds the chart history that the weekly, monthly and yearly playlists are computed from,
the resolution cache, the managed playlists and the run records. Every write happens inside
one `BEGIN IMMEDIATE` transaction so a run killed at any point leaves a consistent DB.

`open` opens (and migrates), `schema` holds the migrations, `api` the Store, made of one query
group per concern (`charts`, `resolutions`, `playlists`, `runs`); this package exports the names
the rest of tophits uses.
"""

from spotify_tophits.store.api import Store
from spotify_tophits.store.charts import SourceFact
from spotify_tophits.store.open import (
    check_is_sqlite,
    file_bytes,
    open_reader,
    open_store,
    replace_database,
    schema_version_of,
)
from spotify_tophits.store.playlists import ManagedPlaylist, PlaylistState
from spotify_tophits.store.resolutions import Resolution
from spotify_tophits.store.runs import RunResult
from spotify_tophits.store.schema import MIGRATIONS, SCHEMA_VERSION
from spotify_tophits.store.versions import Entry, TrackFacts, Version, WrittenVersion

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Entry",
    "ManagedPlaylist",
    "PlaylistState",
    "Resolution",
    "RunResult",
    "SourceFact",
    "Store",
    "TrackFacts",
    "Version",
    "WrittenVersion",
    "check_is_sqlite",
    "file_bytes",
    "open_reader",
    "open_store",
    "replace_database",
    "schema_version_of",
]
