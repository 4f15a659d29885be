"""Settings: `config.toml`, secrets, and the paths every command uses (DESIGN §6).

`paths` resolves directories, `secrets` the Spotify app credentials, `settings` reads and
validates `config.toml` (with `notify` for the alert channels); this package exports the
names the rest of tophits uses.
"""

from spotify_tophits.config.notify import Channel, NotifySettings
from spotify_tophits.config.paths import Paths, resolve_paths
from spotify_tophits.config.secrets import DEFAULT_REDIRECT_URI, Credentials
from spotify_tophits.config.settings import (
    PLAYLIST_KEYS,
    BackupSettings,
    PlaylistSettings,
    Settings,
    load_settings,
    render_playlist_name,
)

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "PLAYLIST_KEYS",
    "BackupSettings",
    "Channel",
    "Credentials",
    "NotifySettings",
    "Paths",
    "PlaylistSettings",
    "Settings",
    "load_settings",
    "render_playlist_name",
    "resolve_paths",
]
