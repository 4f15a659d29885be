"""Everything tophits says to Spotify, and the only package that imports spotipy (lazily).

`models` holds the plain dataclasses the rest of tophits sees, `gateway` the Protocol, the
spotipy adapter and its retry policy, `auth` OAuth and the token file, `stats` request counting.
Each name is imported from its module on first use, so `status` (the token file) does not load
the gateway.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spotify_tophits.spotify.auth import SCOPES, TokenFile, refresh_token_expiry
    from spotify_tophits.spotify.gateway import RetryPolicy, SpotifyGateway, SpotipyGateway
    from spotify_tophits.spotify.models import WRITE_CHUNK, PlaylistInfo, Track, User
    from spotify_tophits.spotify.readonly import ReadOnlyGateway, WriteRefused
    from spotify_tophits.spotify.stats import RequestStats, latency_percentiles

MODULES = {
    "auth": ("SCOPES", "TokenFile", "refresh_token_expiry"),
    "gateway": ("RetryPolicy", "SpotifyGateway", "SpotipyGateway"),
    "models": ("WRITE_CHUNK", "PlaylistInfo", "Track", "User"),
    "readonly": ("ReadOnlyGateway", "WriteRefused"),
    "stats": ("RequestStats", "latency_percentiles"),
}
HOME = {name: module for module, names in MODULES.items() for name in names}

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


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` the first time someone asks for it."""
    if name not in HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{HOME[name]}"), name)
