"""A deterministic sample music world for the emulator: songs, their Spotify and Deezer copies, daily charts.

The same seed always gives the same world, so tests and `tophits demo` can assert exact
playlists. Songs rise and fall over the days so the daily, weekly, monthly and yearly lists
differ, and the catalogue has the traps real matching meets: live and remix versions, clean
and explicit pairs, same titles by different artists, and chart songs missing from Spotify.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import math
import random

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
WORDS_A = [
    "Golden",
    "Midnight",
    "Electric",
    "Paper",
    "Silver",
    "Velvet",
    "Neon",
    "Broken",
    "Wild",
    "Quiet",
    "Burning",
    "Crystal",
    "Hidden",
    "Lonely",
    "Summer",
    "Winter",
    "Ocean",
    "Desert",
    "Cosmic",
    "Sugar",
    "Honey",
    "Shadow",
    "Rebel",
    "Lucky",
    "Fading",
    "Endless",
    "Falling",
    "Rising",
]
WORDS_B = [
    "Hearts",
    "Lights",
    "Dreams",
    "Roads",
    "Skies",
    "Rivers",
    "Nights",
    "Fires",
    "Waves",
    "Stars",
    "Echoes",
    "Promises",
    "Mirrors",
    "Wings",
    "Flowers",
    "Streets",
    "Kisses",
    "Secrets",
    "Storms",
    "Tears",
    "Colours",
    "Signals",
    "Horizons",
    "Shadows",
    "Bridges",
    "Letters",
]
FIRST_NAMES = [
    "Ava",
    "Leo",
    "Mia",
    "Noah",
    "Zoe",
    "Kai",
    "Luna",
    "Omar",
    "Ines",
    "Yuki",
    "Sofia",
    "Mateo",
    "Amara",
    "Elif",
    "Nova",
    "Ravi",
    "Chloe",
    "Theo",
    "Lina",
    "Jonas",
]
LAST_NAMES = [
    "Rivers",
    "Stone",
    "Vega",
    "Moreau",
    "Okafor",
    "Tanaka",
    "Novak",
    "Silva",
    "Lindqvist",
    "Haddad",
    "Brooks",
    "Quinn",
    "Marlowe",
    "Castillo",
    "Ito",
]
BAND_NAMES = [
    "The Lanterns",
    "Paper Kites Club",
    "Velvet Avenue",
    "Northern Static",
    "The Midnight Choir",
    "Glass Harbour",
    "Sunset Parade",
    "Echo Assembly",
    "The Wild Hours",
    "Neon Orchard",
    "Blue District",
    "Satellite Hearts",
]
NON_LATIN_ARTISTS = ("ユイ", "김하늘", "Мира", "صوفيا", "周杰")
NON_LATIN_TITLES = ("夜明け", "봄날", "Звезда", "حلم", "晴天")


@dataclasses.dataclass(frozen=True)
class Song:
    """One song of the world, as the charts see it."""

    number: int
    title: str
    artists: tuple[str, ...]
    isrc: str
    duration_ms: int
    spotify_id: str | None
    deezer_id: int
    release_day: int
    strength: float
    lifetime: float

    @property
    def explicit(self) -> bool:
        """One song in five carries explicit lyrics, the same on every service."""
        return self.number % 5 == 0


@dataclasses.dataclass(frozen=True)
class CatalogTrack:
    """One track in the emulated Spotify catalogue (a song's main release or a variant)."""

    id: str
    name: str
    artists: tuple[str, ...]
    isrc: str
    duration_ms: int
    explicit: bool
    album_name: str
    album_type: str


def stable_id(*parts: object, length: int = 22) -> str:
    """Return a Spotify-like base62 id derived from parts, stable across runs and machines."""
    digest = int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest(), "big")
    characters = []
    for _ in range(length):
        digest, index = divmod(digest, 62)
        characters.append(BASE62[index])
    return "".join(characters)


def _noise(*parts: object) -> float:
    """Return a stable pseudo-random number in [0, 1) derived from parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class World:
    """The sample world. Day 0 is `start`; songs may have been released before it."""

    def __init__(self, start: datetime.date, seed: int = 7, songs: int = 3600, chart_size: int = 100) -> None:
        self.start = start
        self.seed = seed
        self.chart_size = chart_size
        randomiser = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
        artists = self._artists(randomiser)
        self.songs: list[Song] = []
        self.catalog: list[CatalogTrack] = []
        seen_titles: set[str] = set()
        for number in range(songs):
            title = self._title(randomiser, number, seen_titles)
            artist = artists[randomiser.randrange(len(artists))] if number % 9 else artists[number % len(artists)]
            featured = (artists[randomiser.randrange(len(artists))],) if randomiser.random() < 0.15 else ()
            all_artists = (artist, *[name for name in featured if name != artist])
            duration = randomiser.randint(130, 260) * 1000 + randomiser.randint(0, 999)
            # About 4% of chart songs are not on Spotify at all: those rows must stay unmatched.
            on_spotify = randomiser.random() >= 0.04
            spotify_id = stable_id(seed, "track", number) if on_spotify else None
            song = Song(
                number=number,
                title=title,
                artists=all_artists,
                isrc=f"QZ{stable_id(seed, 'isrc', number, length=10).upper()}",
                duration_ms=duration,
                spotify_id=spotify_id,
                deezer_id=1_000_000 + number * 7 + seed,
                # About six releases a day, most charting for two to six weeks: enough churn to
                # fill a 250-track yearly list within the demo's 40 days.
                release_day=randomiser.randint(-100, 500),
                strength=randomiser.uniform(0.3, 1.0) ** 2,
                lifetime=randomiser.uniform(8, 40),
            )
            self.songs.append(song)
            if spotify_id:
                self._add_catalog_tracks(randomiser, song)

    @staticmethod
    def _artists(randomiser: random.Random) -> list[str]:
        names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
        randomiser.shuffle(names)
        return names + list(BAND_NAMES) + list(NON_LATIN_ARTISTS)

    @staticmethod
    def _title(randomiser: random.Random, number: int, seen: set[str]) -> str:
        if number % 97 == 5:
            return NON_LATIN_TITLES[(number // 97) % len(NON_LATIN_TITLES)]
        while True:
            title = f"{randomiser.choice(WORDS_A)} {randomiser.choice(WORDS_B)}"
            # A few titles repeat on purpose (same title, different artist); most are unique.
            if title not in seen or randomiser.random() < 0.05:
                seen.add(title)
                return title

    def _add_catalog_tracks(self, randomiser: random.Random, song: Song) -> None:
        assert song.spotify_id is not None
        album = f"{song.title} (Single)"
        self.catalog.append(
            CatalogTrack(
                song.spotify_id, song.title, song.artists, song.isrc, song.duration_ms, song.explicit, album, "single"
            )
        )
        roll = randomiser.random()
        if roll < 0.2:
            self.catalog.append(
                CatalogTrack(
                    stable_id(self.seed, "live", song.number),
                    f"{song.title} - Live",
                    song.artists,
                    f"QL{stable_id(self.seed, 'live-isrc', song.number, length=10).upper()}",
                    song.duration_ms + 25000,
                    False,
                    "Live Sessions",
                    "album",
                )
            )
        elif roll < 0.35:
            self.catalog.append(
                CatalogTrack(
                    stable_id(self.seed, "remix", song.number),
                    f"{song.title} (Club Remix)",
                    song.artists,
                    f"QR{stable_id(self.seed, 'remix-isrc', song.number, length=10).upper()}",
                    song.duration_ms + 60000,
                    False,
                    "Remixes",
                    "single",
                )
            )
        elif roll < 0.45:
            self.catalog.append(
                CatalogTrack(
                    stable_id(self.seed, "karaoke", song.number),
                    f"{song.title} (Karaoke Version)",
                    ("Sing Along Stars",),
                    f"QK{stable_id(self.seed, 'karaoke-isrc', song.number, length=10).upper()}",
                    song.duration_ms,
                    False,
                    "Karaoke Hits",
                    "compilation",
                )
            )

    def day_number(self, day: datetime.date) -> int:
        return (day - self.start).days

    def score(self, song: Song, day: datetime.date, audience: str = "deezer") -> float:
        """Return the song's chart strength on a day for an audience: a rise after release, a slow decay, noise."""
        age = self.day_number(day) - song.release_day
        if age < 0:
            return 0.0
        curve = (1 - math.exp(-age / 4)) * math.exp(-age / song.lifetime)
        # Each service's listeners differ a little, so their charts overlap without being equal.
        taste = 0.8 + 0.4 * _noise(self.seed, "taste", audience, song.number) if audience != "deezer" else 1.0
        return song.strength * curve * taste * (0.85 + 0.3 * _noise(self.seed, song.number, day.isoformat(), audience))

    def chart(self, day: datetime.date, size: int | None = None, audience: str = "deezer") -> list[Song]:
        """Return the day's chart for an audience (deezer, apple, spotify), best first."""
        scores = {song.number: self.score(song, day, audience) for song in self.songs}
        ranked = sorted(self.songs, key=lambda song: (-scores[song.number], song.number))
        return [song for song in ranked if scores[song.number] > 0][: size or self.chart_size]
