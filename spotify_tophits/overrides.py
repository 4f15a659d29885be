"""The user's overrides (`overrides.toml` beside the config): pin a chart song to a Spotify track, ban
tracks or artists from every playlist. Applied to the chart rows just before ranking, so changing
the file takes effect on the next run without touching the match cache.

    [[pin]]
    artist = "Years & Years"
    title = "King"
    spotify_id = "4iV5W9uYEdYUVa79Axb7Rh"

    [ban]
    tracks = ["1301WleyT98MSxVHPZCA6M"]
    artists = ["Sing Along Stars"]
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from spotify_tophits.errors import ConfigError
from spotify_tophits.matching import primary_artist, song_key
from spotify_tophits.ranking import RankedRow

TRACK_ID = re.compile(r"^[0-9A-Za-z]{22}$")


@dataclasses.dataclass(frozen=True)
class Overrides:
    """Pins by song key, and the banned track ids and artist keys."""

    pins: Mapping[str, str] = dataclasses.field(default_factory=dict)
    banned_tracks: frozenset[str] = frozenset()
    banned_artists: frozenset[str] = frozenset()

    def describe(self) -> list[str]:
        lines = [f"pin {key.replace('|', ' – ')} -> {track}" for key, track in sorted(self.pins.items())]
        lines += [f"ban track {track}" for track in sorted(self.banned_tracks)]
        lines += [f"ban artist {artist}" for artist in sorted(self.banned_artists)]
        return lines


def load_overrides(path: Path) -> Overrides:
    """Read overrides.toml (a missing file means none); raise ConfigError naming the entry and the fix."""
    if not path.is_file():
        return Overrides()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error}); fix the syntax") from None
    unknown = set(document) - {"pin", "ban"}
    if unknown:
        raise ConfigError(f"{path}: unknown section {sorted(unknown)[0]!r}; use [[pin]] and [ban]")
    pins = {}
    raw_pins = document.get("pin", [])
    if not isinstance(raw_pins, list):
        raise ConfigError(f"{path}: pin must be an array of tables: write [[pin]]")
    for index, pin in enumerate(raw_pins):
        if not isinstance(pin, dict) or set(pin) != {"artist", "title", "spotify_id"}:
            raise ConfigError(f"{path}: pin #{index + 1} needs exactly artist, title and spotify_id")
        if not all(isinstance(value, str) for value in pin.values()) or not TRACK_ID.match(pin["spotify_id"]):
            raise ConfigError(f"{path}: pin #{index + 1}: spotify_id {pin['spotify_id']!r} is not a Spotify track id")
        pins[song_key(pin["title"], [pin["artist"]])] = pin["spotify_id"]
    ban = document.get("ban", {})
    if not isinstance(ban, dict) or set(ban) - {"tracks", "artists"}:
        raise ConfigError(f"{path}: [ban] takes tracks = [...] and artists = [...]")
    tracks = ban.get("tracks", [])
    artists = ban.get("artists", [])
    for name, values in (("tracks", tracks), ("artists", artists)):
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise ConfigError(f"{path}: ban.{name} must be a list of strings")
    for track in tracks:
        if not TRACK_ID.match(track):
            raise ConfigError(f"{path}: ban.tracks: {track!r} is not a Spotify track id (22 letters and digits)")
    return Overrides(pins, frozenset(tracks), frozenset(primary_artist([artist]) for artist in artists))


def apply_overrides(rows: Iterable[RankedRow], overrides: Overrides) -> list[RankedRow]:
    """Return the rows with pins applied (unmatched rows included) and banned tracks and artists removed."""
    if not (overrides.pins or overrides.banned_tracks or overrides.banned_artists):
        return [row for row in rows if row.spotify_id is not None]
    result = []
    for row in rows:
        pinned = overrides.pins.get(row.song_key)
        if pinned is not None:
            row = dataclasses.replace(row, spotify_id=pinned)
        if row.spotify_id is None or row.spotify_id in overrides.banned_tracks:
            continue
        if row.artist_key in overrides.banned_artists:
            continue
        result.append(row)
    return result
