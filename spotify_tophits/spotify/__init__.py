"""Everything tophits says to Spotify, and the only package that imports spotipy (lazily).

`models` holds the plain dataclasses the rest of tophits sees, `gateway` the Protocol, the
spotipy adapter and its retry policy, `auth` OAuth and the token file, `stats` request counting.
"""

from spotify_tophits.spotify.auth import SCOPES, TokenFile, refresh_token_expiry
from spotify_tophits.spotify.gateway import RetryPolicy, SpotifyGateway, SpotipyGateway
from spotify_tophits.spotify.models import WRITE_CHUNK, PlaylistInfo, Track, User
from spotify_tophits.spotify.readonly import ReadOnlyGateway, WriteRefused
from spotify_tophits.spotify.stats import RequestStats, latency_percentiles

__all__ = [
    "SCOPES",
    "WRITE_CHUNK",
    "PlaylistInfo",
    "ReadOnlyGateway",
    "RequestStats",
    "RetryPolicy",
    "SpotifyGateway",
    "SpotipyGateway",
    "TokenFile",
    "Track",
    "User",
    "WriteRefused",
    "latency_percentiles",
    "refresh_token_expiry",
]
