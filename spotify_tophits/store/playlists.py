"""The playlists tophits manages, one record per key and period, and the snapshots of what was written."""

from __future__ import annotations

import dataclasses
import enum
import json
import sqlite3

from spotify_tophits.store.base import StoreBase


class PlaylistState(enum.StrEnum):
    """A managed playlist is updated while active; a finalised monthly or yearly one is kept as is."""

    ACTIVE = "active"
    FINAL = "final"


@dataclasses.dataclass(frozen=True)
class ManagedPlaylist:
    """What we know about one playlist we manage for one period."""

    key: str
    period: str
    spotify_id: str | None
    snapshot_id: str | None
    name: str
    description: str
    contents: tuple[str, ...] | None
    status: PlaylistState
    created_at: str
    updated_at: str | None
    last_error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ManagedPlaylist:
        """Map a `managed_playlists` row by column name."""
        return cls(
            key=row["key"],
            period=row["period"],
            spotify_id=row["spotify_id"],
            snapshot_id=row["snapshot_id"],
            name=row["name"],
            description=row["description"],
            contents=None if row["contents"] is None else tuple(json.loads(row["contents"])),
            status=PlaylistState(row["status"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            last_error=row["last_error"],
        )


# A fixed column list, never user input, so the f-strings below are not an injection risk.
COLUMNS = tuple(field.name for field in dataclasses.fields(ManagedPlaylist))
_COLUMN_LIST = ", ".join(COLUMNS)


class PlaylistQueries(StoreBase):
    """Read and write managed playlist records."""

    def managed_playlists(self, key: str | None = None) -> list[ManagedPlaylist]:
        """Return the managed playlists (of one key, or all), oldest period first."""
        query = f"SELECT {_COLUMN_LIST} FROM managed_playlists"  # noqa: S608
        parameters: tuple[str, ...] = ()
        if key is not None:
            query += " WHERE key = ?"
            parameters = (key,)
        rows = self.connection.execute(query + " ORDER BY key, period", parameters).fetchall()
        return [ManagedPlaylist.from_row(row) for row in rows]

    def get_playlist(self, key: str, period: str) -> ManagedPlaylist | None:
        """Return the managed playlist of a key and period, or None."""
        row = self.connection.execute(
            f"SELECT {_COLUMN_LIST} FROM managed_playlists WHERE key = ? AND period = ?",  # noqa: S608
            (key, period),
        ).fetchone()
        return None if row is None else ManagedPlaylist.from_row(row)

    def save_playlist(self, playlist: ManagedPlaylist) -> None:
        """Insert or replace a managed playlist record."""
        values = dataclasses.asdict(playlist)
        values["contents"] = None if playlist.contents is None else json.dumps(list(playlist.contents))
        placeholders = ", ".join(f":{column}" for column in COLUMNS)
        with self.transaction() as connection:
            connection.execute(
                f"INSERT OR REPLACE INTO managed_playlists ({_COLUMN_LIST}) VALUES ({placeholders})",  # noqa: S608
                values,
            )
