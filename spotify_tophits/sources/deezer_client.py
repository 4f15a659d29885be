"""One Deezer client for every source that talks to Deezer: one pacer, the quota waited out, errors typed.

Deezer allows 50 requests per 5 s per IP, whichever source asks, and answers every error, its
quota included, as HTTP 200 with an `error` object (`{"type", "message", "code"}`). So the chart
source and the Apple source's ISRC oracle share one client and one pacer, a quota answer (code 4)
is waited out, and any other error object is raised as a `DeezerError`, never read as "no match".
Code 800 ("no data") is Deezer's real "there is nothing here", which callers may cache.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from spotify_tophits.errors import SourceError
from spotify_tophits.sources.base import Pacer, get_json

if TYPE_CHECKING:
    import requests

QUOTA_CODE = 4
NO_DATA_CODE = 800
WINDOW_SECONDS = 5.0
# Requests leave on our clock and arrive on Deezer's: a quarter second of margin keeps network
# jitter from squeezing 51 arrivals into one of Deezer's windows.
PACING_MARGIN_SECONDS = 0.25
# One full window later the quota is back; three windows in a row means someone else shares the IP.
QUOTA_WAITS = 3


class DeezerError(SourceError):
    """Deezer answered an error object (or an unusable answer): not a fact about the track, never cached."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class DeezerQuotaError(DeezerError):
    """Deezer's quota (code 4) was still exceeded after waiting it out."""


class DeezerNoDataError(DeezerError):
    """Deezer has no such object (code 800, "no data"): a real answer, which may be cached."""


@dataclasses.dataclass(frozen=True)
class DeezerTrack:
    """What tophits learns from Deezer's `/track/{id}` or a search result."""

    id: str
    title: str
    artist: str
    duration_ms: int | None
    isrc: str | None
    explicit: bool | None


def deezer_explicit(item: Mapping[str, Any]) -> bool | None:
    """Return a Deezer track's content rating: `explicit_content_lyrics` (1 explicit; 0 none, 3 edited), else
    `explicit_lyrics`; None when Deezer says it does not know (2 unknown, 6 no advice)."""
    detailed = item.get("explicit_content_lyrics")
    if isinstance(detailed, int) and not isinstance(detailed, bool):
        if detailed == 1:
            return True
        if detailed in (0, 3):
            return False
        return None
    flag = item.get("explicit_lyrics")
    return flag if isinstance(flag, bool) else None


def parse_deezer_track(item: Mapping[str, Any]) -> DeezerTrack:
    """Return a DeezerTrack from a track object of any Deezer answer (playlist row, search result, `/track`)."""
    isrc = item.get("isrc")
    duration = item.get("duration")
    return DeezerTrack(
        id=str(item.get("id")),
        title=str(item.get("title") or ""),
        artist=str((item.get("artist") or {}).get("name") or ""),
        duration_ms=duration * 1000 if isinstance(duration, int) and duration > 0 else None,
        # Upper case, as every ISRC comparison and cache key expects.
        isrc=isrc.strip().upper() if isinstance(isrc, str) and isrc.strip() else None,
        explicit=deezer_explicit(item),
    )


class DeezerClient:
    """Deezer's public API, paced for every source at once; counts requests and quota answers."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        requests_per_5s: int,
        sleep: Callable[[float], None],
        pacing_sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url
        self.session = session
        # `sleep` waits before a retry (and out a quota answer); pacing waits with `pacing_sleep` (default: the same).
        self.sleep = sleep
        pacing = pacing_sleep or sleep
        self.pacer = Pacer(requests_per_5s, WINDOW_SECONDS + PACING_MARGIN_SECONDS, pacing, monotonic)
        self.quota_answers = 0

    def get(self, source: str, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET a Deezer path and return its object; raise DeezerError for an error object, SourceError for
        network trouble (after get_json's retries)."""
        for attempt in range(QUOTA_WAITS + 1):
            self.pacer.wait()
            data = get_json(self.session, source, self.base_url + path, params, sleep=self.sleep)
            if not isinstance(data, dict):
                raise DeezerError(f"{source}: unexpected answer from Deezer {path} (not an object)")
            error = data.get("error")
            if not error:
                return data
            code = error.get("code") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(error)
            if code == QUOTA_CODE:
                self.quota_answers += 1
                if attempt < QUOTA_WAITS:
                    self.sleep(WINDOW_SECONDS)
                    continue
                raise DeezerQuotaError(f"{source}: Deezer quota still exceeded after waiting; skipped", code)
            error_class = DeezerNoDataError if code == NO_DATA_CODE else DeezerError
            raise error_class(f"{source}: Deezer answered an error for {path}: {message} (code {code})", code)
        raise AssertionError("unreachable: the loop returns or raises")

    def track(self, source: str, track_id: str) -> DeezerTrack:
        """Return `/track/{id}`; raise DeezerNoDataError when Deezer has no such track."""
        return parse_deezer_track(self.get(source, f"track/{track_id}"))

    def search(self, source: str, query: str, limit: int = 5) -> list[DeezerTrack]:
        """Return the tracks of one Deezer search (an empty list is Deezer's real "nothing found")."""
        found = self.get(source, "search", {"q": query, "limit": limit})
        data = found.get("data")
        if not isinstance(data, list):
            raise DeezerError(f"{source}: Deezer search answer has no 'data' list")
        return [parse_deezer_track(item) for item in data[:limit] if isinstance(item, dict)]
