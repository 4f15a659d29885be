"""A gateway for dry runs: every read goes through, every write is refused.

`update --dry-run` promises to change nothing on Spotify. Checking a flag before each write works
only until a new step forgets to; wrapping the gateway makes the promise structural.
"""

from __future__ import annotations

from collections.abc import Sequence

from spotify_tophits.errors import TophitsError
from spotify_tophits.spotify.gateway import SpotifyGateway
from spotify_tophits.spotify.models import PlaylistInfo, Track, User


class WriteRefused(TophitsError):
    """A dry run tried to change something on Spotify: a bug in tophits (exit 1)."""


class ReadOnlyGateway:
    """A SpotifyGateway that passes reads to `inner` and refuses every write."""

    def __init__(self, inner: SpotifyGateway) -> None:
        self.inner = inner
        self.stats = inner.stats

    def current_user(self) -> User:
        return self.inner.current_user()

    def my_playlists(self) -> list[PlaylistInfo]:
        return self.inner.my_playlists()

    def playlist_track_ids(self, playlist_id: str) -> list[str]:
        return self.inner.playlist_track_ids(playlist_id)

    def search_tracks(self, query: str) -> list[Track]:
        return self.inner.search_tracks(query)

    def top_tracks(self) -> list[Track]:
        return self.inner.top_tracks()

    def create_playlist(self, name: str, description: str, public: bool) -> PlaylistInfo:
        raise WriteRefused(f"a dry run tried to create the playlist {name!r}")

    def change_details(self, playlist_id: str, name: str, description: str) -> None:
        raise WriteRefused(f"a dry run tried to rename playlist {playlist_id}")

    def replace_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        raise WriteRefused(f"a dry run tried to replace the items of playlist {playlist_id}")

    def add_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        raise WriteRefused(f"a dry run tried to add items to playlist {playlist_id}")
