"""The emulated chart sources: Deezer's API, Apple's most-played feed, iTunes lookups, Spotify's public charts.

Shapes follow the real services, quirks included: Deezer answers errors as HTTP 200 with an
`error` object, Apple's feed dates itself in RFC 2822 form and answers 500 above 100 songs.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_tophits.matching import normalise
from spotify_tophits.sandbox.http import FIELD_FILTER, HttpError, Response
from spotify_tophits.sandbox.world import Song, stable_id

if TYPE_CHECKING:
    from spotify_tophits.sandbox.server import Emulator

APPLE_ID_BASE = 1_500_000_000

# What the real Deezer answers, with HTTP 200, to the request over its limit.
DEEZER_QUOTA_ANSWER = {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}


@dataclasses.dataclass
class DeezerLimit:
    """Deezer's request limit (50 per 5 s per IP) over every Deezer path, on a clock a test may make virtual."""

    requests: int
    seconds: float
    clock: Callable[[], float]
    arrivals: deque[float] = dataclasses.field(default_factory=deque)
    refused: int = 0

    def admit(self) -> bool:
        """Count one arrival; return whether it fits in the window (refused ones count too, as on Deezer)."""
        now = self.clock()
        while self.arrivals and now - self.arrivals[0] >= self.seconds:
            self.arrivals.popleft()
        self.arrivals.append(now)
        if len(self.arrivals) > self.requests:
            self.refused += 1
            return False
        return True


def apple_title(song: Song) -> str:
    """Apple names featured artists in the title ("Song (feat. X)") and credits only the main artist."""
    return f"{song.title} (feat. {', '.join(song.artists[1:])})" if len(song.artists) > 1 else song.title


def deezer_route(emulator: Emulator, method: str, path: str, query: dict[str, str]) -> Response:
    if emulator.deezer_limit is not None:
        with emulator.lock:
            admitted = emulator.deezer_limit.admit()
        if not admitted:
            return 200, DEEZER_QUOTA_ANSWER, {}
    if method != "GET":
        raise HttpError(405, "Method not allowed")
    match = re.fullmatch(r"/playlist/(\d+)/tracks", path)
    if match:
        chart = emulator.deezer_charts.get(int(match.group(1)))
        if chart is None:
            return 200, {"error": {"type": "DataException", "message": "no data", "code": 800}}, {}
        index = int(query.get("index", 0))
        limit = int(query.get("limit", 25))
        rows = [deezer_track(song, full=False) for song in chart]
        page: dict[str, Any] = {"data": rows[index : index + limit], "total": len(rows), "checksum": "c0ffee"}
        if index + limit < len(rows):
            page["next"] = f"{emulator.base_url}deezer{path}?index={index + limit}&limit={limit}"
        return 200, page, {}
    if path == "/search":
        fields = {name: quoted or bare for name, quoted, bare in FIELD_FILTER.findall(query.get("q", ""))}
        # Normalised once per query, not once per song of the world.
        title = normalise(fields["track"]) if "track" in fields else None
        artist = normalise(fields["artist"]) if "artist" in fields else None
        found = [
            song
            for song in emulator.world.songs
            if (title is None or title == emulator.song_words[song.number][0])
            and (artist is None or artist in emulator.song_words[song.number][1])
        ]
        rows = [deezer_track(song, full=False) for song in found[: int(query.get("limit", 25))]]
        return 200, {"data": rows, "total": len(found)}, {}
    match = re.fullmatch(r"/track/(\d+)", path)
    if match:
        song = emulator.deezer_songs.get(int(match.group(1)))
        if song is None:
            return 200, {"error": {"type": "DataException", "message": "no data", "code": 800}}, {}
        return 200, deezer_track(song, full=True), {}
    raise HttpError(404, "Not found")


def apple_route(emulator: Emulator, path: str) -> Response:
    match = re.fullmatch(r"/api/v2/([a-z]{2})/music/most-played/(\d+)/songs\.json", path)
    if not match:
        raise HttpError(404, "Not found")
    size = int(match.group(2))
    if size > 100:
        # The real feed answers 500 above 100 items.
        raise HttpError(500, "Internal error")
    songs = emulator.apple_charts.get(match.group(1))
    if songs is None:
        raise HttpError(404, "Not found")
    updated = emulator.apple_updated or datetime.datetime.now(datetime.UTC)
    results = [
        {
            "artistName": song.artists[0],
            "id": str(APPLE_ID_BASE + song.number),
            "name": apple_title(song),
            "releaseDate": "2026-01-01",
            "kind": "songs",
            "artistId": str(sum(map(ord, song.artists[0]))),
            # The real feed spells it "Explict", and leaves the key out for other songs.
            **({"contentAdvisoryRating": "Explict"} if song.explicit else {}),
            "genres": [{"genreId": "14", "name": "Pop"}],
            "url": f"https://music.apple.com/{match.group(1)}/song/{APPLE_ID_BASE + song.number}",
        }
        for song in songs[:size]
    ]
    feed = {
        "title": "Top Songs",
        "id": f"https://rss.applemarketingtools.com/api/v2/{match.group(1)}/music/most-played/{size}/songs.json",
        # The real feed dates itself in RFC 2822 form.
        "updated": updated.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "results": results,
    }
    return 200, {"feed": feed}, {}


def itunes_route(emulator: Emulator, path: str, query: dict[str, str]) -> Response:
    if path != "/lookup":
        raise HttpError(404, "Not found")
    by_id = {APPLE_ID_BASE + song.number: song for song in emulator.world.songs}
    results = []
    for text in query.get("id", "").split(","):
        song = by_id.get(int(text)) if text.isdigit() else None
        if song is not None:
            results.append(
                {
                    "wrapperType": "track",
                    "kind": "song",
                    "trackId": APPLE_ID_BASE + song.number,
                    "trackName": apple_title(song),
                    "artistName": song.artists[0],
                    "trackTimeMillis": song.duration_ms,
                    "trackExplicitness": "explicit" if song.explicit else "notExplicit",
                }
            )
    return 200, {"resultCount": len(results), "results": results}, {}


def spotify_charts_route(emulator: Emulator, path: str) -> Response:
    if path != "/public/v0/charts" or emulator.spotify_weekly is None:
        raise HttpError(404, "Not found")
    day, songs = emulator.spotify_weekly
    entries = [
        {
            "chartEntryData": {
                "currentRank": rank,
                "previousRank": rank + 1,
                "peakRank": rank,
                "appearancesOnChart": 3,
            },
            "trackMetadata": {
                "trackName": song.title,
                "trackUri": f"spotify:track:{song.spotify_id}",
                "artists": [
                    {"name": name, "spotifyUri": f"spotify:artist:{stable_id('artist', name)}"} for name in song.artists
                ],
            },
        }
        for rank, song in enumerate([s for s in songs if s.spotify_id][:50], start=1)
    ]
    chart = {
        "displayChart": {"chartMetadata": {"alias": "REGIONAL_GLOBAL_WEEKLY"}, "date": day.isoformat()},
        "entries": entries,
    }
    return 200, {"chartEntryViewResponses": [chart]}, {}


def deezer_track(song: Song, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": song.deezer_id,
        "readable": True,
        "title": song.title,
        "title_short": song.title,
        "title_version": "",
        "link": f"https://www.deezer.com/track/{song.deezer_id}",
        "duration": song.duration_ms // 1000,
        "rank": 900000 - song.number,
        "explicit_lyrics": song.explicit,
        "explicit_content_lyrics": 1 if song.explicit else 0,
        "explicit_content_cover": 0,
        "artist": {"id": 5000 + sum(map(ord, song.artists[0])), "name": song.artists[0], "type": "artist"},
        "album": {"id": 9000 + song.number, "title": f"{song.title} (Single)", "type": "album"},
        "type": "track",
    }
    if full:
        data["isrc"] = song.isrc
        data["contributors"] = [{"name": name, "role": "Main"} for name in song.artists]
        data["release_date"] = "2026-01-01"
    return data
