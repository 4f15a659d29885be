"""Apple Music's most-played feed per storefront: up to 100 songs a day, no key, no ISRC, no duration.

Durations come from the iTunes lookup endpoint (one request for the whole chart), and an ISRC
from Deezer's search used as an oracle when Deezer has the same recording (title, artist and
duration must agree). Both are cached per Apple song id, so a song is looked up once.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.errors import SourceError
from spotify_tophits.sources.base import get_json, validate_rows

if TYPE_CHECKING:
    import requests

    from spotify_tophits.store import Store

FEED_SIZE = 100
MAX_FEED_AGE = datetime.timedelta(days=3)


def feed_date(text: str) -> datetime.date | None:
    """Return the date of the feed's `updated` field: RFC 2822 as Apple sends it, or ISO 8601."""
    import email.utils

    try:
        return email.utils.parsedate_to_datetime(text).date()
    except (TypeError, ValueError):
        pass
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


class AppleSource:
    """The Apple Music most-played songs of one storefront."""

    def __init__(
        self,
        *,
        name: str,
        storefront: str,
        base_url: str,
        itunes_url: str,
        deezer_url: str,
        session: requests.Session,
        store: Store,
        minimum_rows: int,
        sleep: Callable[[float], None],
        clock: Callable[[], datetime.datetime],
    ) -> None:
        self.name = name
        self.storefront = storefront
        self.chart_id = f"most-played-{storefront}"
        self.base_url = base_url
        self.itunes_url = itunes_url
        self.deezer_url = deezer_url
        self.session = session
        self.store = store
        self.minimum_rows = minimum_rows
        self.sleep = sleep
        self.clock = clock

    def _feed(self, size: int) -> dict[str, Any]:
        url = f"{self.base_url}api/v2/{self.storefront}/music/most-played/{size}/songs.json"
        data = get_json(self.session, self.name, url, sleep=self.sleep)
        feed = data.get("feed") if isinstance(data, dict) else None
        if not isinstance(feed, dict) or not isinstance(feed.get("results"), list):
            raise SourceError(f"{self.name}: the Apple feed has no feed.results list (its shape changed?); skipped")
        return feed

    def probe(self) -> int:
        return len(self._feed(10)["results"])

    def fetch(self, today: datetime.date) -> Chart:
        """Return the storefront's most-played chart; refuse a feed not updated for days."""
        feed = self._feed(FEED_SIZE)
        updated = feed.get("updated")
        if isinstance(updated, str):
            published = feed_date(updated)
            age = today - published if published else datetime.timedelta(0)
            if age > MAX_FEED_AGE:
                raise SourceError(f"{self.name}: the Apple feed was last updated {updated}; stale, skipped")
        songs = []
        for position, item in enumerate(feed["results"], start=1):
            try:
                songs.append((position, str(item["id"]), str(item["name"]), str(item["artistName"])))
            except (KeyError, TypeError):
                raise SourceError(f"{self.name}: Apple row {position} is missing id/name/artistName; skipped") from None
        durations = self._durations([song_id for _, song_id, _, _ in songs])
        rows = []
        for position, song_id, title, artist in songs:
            isrc = self._isrc(song_id, title, artist, durations.get(song_id))
            rows.append(
                ChartRow(
                    rank=position,
                    title=title,
                    artists=(artist,),
                    isrc=isrc,
                    source_track_id=song_id,
                    duration_ms=durations.get(song_id),
                )
            )
        return Chart(self.name, self.chart_id, today, validate_rows(self.name, rows, self.minimum_rows))

    def _durations(self, song_ids: list[str]) -> dict[str, int]:
        """Return known durations, looking up the unknown ones in one iTunes request (≤ 200 ids)."""
        durations: dict[str, int] = {}
        missing = []
        for song_id in song_ids:
            cached = self.store.get_source_track("apple", song_id)
            if cached is not None and cached[1]:
                durations[song_id] = cached[1]
            else:
                missing.append(song_id)
        if not missing:
            return durations
        try:
            data = get_json(
                self.session,
                self.name,
                f"{self.itunes_url}lookup",
                {"id": ",".join(missing[:200]), "country": self.storefront},
                sleep=self.sleep,
            )
        except SourceError:
            return durations  # durations only sharpen matching; the chart stands without them
        for result in data.get("results", []) if isinstance(data, dict) else []:
            if isinstance(result, dict) and result.get("trackId") and isinstance(result.get("trackTimeMillis"), int):
                durations[str(result["trackId"])] = result["trackTimeMillis"]
        return durations

    def _isrc(self, song_id: str, title: str, artist: str, duration_ms: int | None) -> str | None:
        """Ask Deezer's search for the same recording and take its ISRC; cached, misses included."""
        cached = self.store.get_source_track("apple", song_id)
        if cached is not None:
            return cached[0]
        from spotify_tophits.matching import plain_title, score_candidate
        from spotify_tophits.spotify import Track

        isrc = None
        try:
            query = f'artist:"{artist}" track:"{plain_title(title)}"'
            search = f"{self.deezer_url}search"
            found = get_json(self.session, self.name, search, {"q": query, "limit": 5}, sleep=self.sleep)
            for item in (found.get("data") or [])[:5] if isinstance(found, dict) else []:
                candidate = Track(
                    str(item.get("id")),
                    str(item.get("title") or ""),
                    (str((item.get("artist") or {}).get("name") or ""),),
                    int(item["duration"]) * 1000 if item.get("duration") else None,
                    None,
                )
                if score_candidate(ChartRow(0, title, (artist,), duration_ms=duration_ms), candidate) is not None:
                    track = f"{self.deezer_url}track/{item['id']}"
                    details = get_json(self.session, self.name, track, sleep=self.sleep)
                    isrc = details.get("isrc") if isinstance(details, dict) else None
                    break
        except SourceError:
            return None  # try again next time: nothing cached
        self.store.save_source_track("apple", song_id, isrc, duration_ms, self.clock())
        return isrc
