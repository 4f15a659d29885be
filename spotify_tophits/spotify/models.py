"""What tophits knows of Spotify's objects: plain frozen dataclasses, and the parsers that make them.

Parsers accept both shapes Spotify serves in 2026: playlist contents under `items` (apps created
earlier may still see `tracks`), and each entry's track under `item` (or `track`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

READ_PAGE = 50
WRITE_CHUNK = 100
SEARCH_LIMIT = 10


@dataclasses.dataclass(frozen=True)
class User:
    """The authorised Spotify user."""

    id: str
    display_name: str | None
    account_id: str | None


@dataclasses.dataclass(frozen=True)
class Track:
    """A Spotify track as tophits needs it."""

    id: str
    name: str
    artists: tuple[str, ...]
    duration_ms: int | None
    isrc: str | None
    album_type: str | None = None
    explicit: bool | None = None


@dataclasses.dataclass(frozen=True)
class PlaylistInfo:
    """A playlist's metadata (not its items)."""

    id: str
    name: str
    description: str
    owner_id: str
    snapshot_id: str
    public: bool | None
    total: int


def entry_track_id(entry: Mapping[str, Any] | None) -> str | None:
    """Return the track id of a playlist entry, or None for local files, episodes gone missing and nulls.

    Since 2026 the track sits under "item"; apps created earlier may still see "track".
    """
    track = (entry or {}).get("item") or (entry or {}).get("track")
    if not track or not track.get("id") or track.get("is_local") or track.get("type", "track") != "track":
        return None
    return str(track["id"])


def parse_playlist(data: Mapping[str, Any]) -> PlaylistInfo:
    """Given a playlist object from Spotify, return its metadata (accepting `items` or `tracks`)."""
    contents = data.get("items") if isinstance(data.get("items"), dict) else data.get("tracks")
    return PlaylistInfo(
        id=data["id"],
        name=data.get("name") or "",
        description=data.get("description") or "",
        owner_id=(data.get("owner") or {}).get("id") or "",
        snapshot_id=data.get("snapshot_id") or "",
        public=data.get("public"),
        total=int((contents or {}).get("total") or 0),
    )


def normal_isrc(value: object) -> str | None:
    """Return an ISRC in upper case without spaces (some bodies carry it in lower case), or None."""
    text = value.strip().replace("-", "").upper() if isinstance(value, str) else ""
    return text or None


def parse_track(data: Mapping[str, Any]) -> Track:
    """Given a track object from Spotify, return a Track."""
    return Track(
        id=data["id"],
        name=data.get("name") or "",
        artists=tuple(artist.get("name") or "" for artist in data.get("artists") or []),
        duration_ms=data.get("duration_ms"),
        isrc=normal_isrc((data.get("external_ids") or {}).get("isrc")),
        album_type=(data.get("album") or {}).get("album_type"),
        explicit=data["explicit"] if isinstance(data.get("explicit"), bool) else None,
    )
