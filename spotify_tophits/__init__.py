"""tophits keeps a family of Spotify "top hits" playlists current for one account."""

__version__ = "0.1.0"
