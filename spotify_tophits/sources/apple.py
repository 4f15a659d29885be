"""Apple Music's most-played feed per storefront: up to 100 songs a day, no key, no ISRC, no duration.

Durations and content ratings come from the iTunes lookup endpoint (one request for the whole
chart), and an ISRC from Deezer's search used as an oracle when Deezer has the same recording
(title, artist, duration and rating must agree), through the `DeezerClient` every Deezer source
shares. What is learned is cached per Apple song id with its date; a real "Deezer has nothing" is
asked again after a growing back-off (1 day doubling to 30), a Deezer error not cached at all.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.errors import SourceError
from spotify_tophits.sources.base import get_json, logger, validate_rows
from spotify_tophits.sources.deezer_client import DeezerClient, DeezerNoDataError, DeezerQuotaError

if TYPE_CHECKING:
    import requests

    from spotify_tophits.store import Store

FEED_SIZE = 100
MAX_FEED_AGE = datetime.timedelta(days=3)
# iTunes' trackExplicitness: "cleaned" is the edited twin of an explicit song.
ITUNES_RATINGS = {"explicit": True, "cleaned": False, "notExplicit": False}


def apple_rating(value: object) -> bool | None:
    """Return the rating of a feed's `contentAdvisoryRating` ("Explict" as the real feed spells it, or
    "Explicit"; "Clean"); None when the feed does not say."""
    if not isinstance(value, str) or not value:
        return None
    return value.casefold() in ("explict", "explicit")


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
        deezer: DeezerClient,
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
        self.deezer = deezer
        self.session = session
        self.store = store
        self.minimum_rows = minimum_rows
        self.sleep = sleep
        self.clock = clock
        # Song ids whose Deezer look-up failed this run (not cached: asked again next run).
        self.errored: list[str] = []
        self._quota_spent = False

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
                song = (position, str(item["id"]), str(item["name"]), str(item["artistName"]))
            except (KeyError, TypeError):
                raise SourceError(f"{self.name}: Apple row {position} is missing id/name/artistName; skipped") from None
            songs.append((*song, apple_rating(item.get("contentAdvisoryRating"))))
        facts = self._itunes_facts([song_id for _, song_id, _, _, _ in songs])
        rows = []
        for position, song_id, title, artist, rating in songs:
            duration, looked_up_rating = facts.get(song_id, (None, None))
            row = ChartRow(
                rank=position,
                title=title,
                artists=(artist,),
                source_track_id=song_id,
                duration_ms=duration,
                explicit=rating if rating is not None else looked_up_rating,
            )
            rows.append(dataclasses.replace(row, isrc=self._isrc(row)))
        if self.errored:
            logger.info("%s: Deezer failed for %d songs; asked again next run", self.name, len(self.errored))
        return Chart(self.name, self.chart_id, today, validate_rows(self.name, rows, self.minimum_rows))

    def _itunes_facts(self, song_ids: list[str]) -> dict[str, tuple[int | None, bool | None]]:
        """Return known (duration, rating) per song, looking up the unknown ones in one iTunes request (≤ 200)."""
        facts: dict[str, tuple[int | None, bool | None]] = {}
        missing = []
        for song_id in song_ids:
            cached = self.store.get_source_track("apple", song_id)
            if cached is not None and cached.duration_ms:
                facts[song_id] = (cached.duration_ms, cached.explicit)
            else:
                missing.append(song_id)
        if not missing:
            return facts
        try:
            data = get_json(
                self.session,
                self.name,
                f"{self.itunes_url}lookup",
                {"id": ",".join(missing[:200]), "country": self.storefront},
                sleep=self.sleep,
            )
        except SourceError:
            return facts  # durations only sharpen matching; the chart stands without them
        for result in data.get("results", []) if isinstance(data, dict) else []:
            if isinstance(result, dict) and result.get("trackId") and isinstance(result.get("trackTimeMillis"), int):
                rating = ITUNES_RATINGS.get(str(result.get("trackExplicitness")))
                facts[str(result["trackId"])] = (result["trackTimeMillis"], rating)
        return facts

    def _isrc(self, row: ChartRow) -> str | None:
        """Ask Deezer's search for the same recording and take its ISRC; cached with its date, misses with a
        back-off, errors not at all."""
        from spotify_tophits.matching import best_candidate, miss_due, plain_title, primary_name
        from spotify_tophits.spotify import Track

        song_id = str(row.source_track_id)
        now = self.clock()
        cached = self.store.get_source_track("apple", song_id)
        if cached is not None and (cached.isrc is not None or not cached.due(now)):
            return cached.isrc
        if self._quota_spent:
            self.errored.append(song_id)
            return None
        # Deezer's artist filter knows the main artist only: "Gunna & Future" finds nothing there.
        query = f'artist:"{primary_name(row.artists)}" track:"{plain_title(row.title)}"'
        try:
            found = self.deezer.search(self.name, query, limit=5)
            candidates = [
                Track(item.id, item.title, (item.artist,), item.duration_ms, None, explicit=item.explicit)
                for item in found
            ]
            best = best_candidate(row, candidates)
            isrc = self._deezer_isrc(best.track.id) if best is not None else None
        except DeezerQuotaError:
            self._quota_spent = True
            self.errored.append(song_id)
            return None
        except SourceError:
            self.errored.append(song_id)
            return None  # asked again next run: nothing cached
        attempts = 0 if isrc else (cached.attempts if cached else 0) + 1
        self.store.save_source_track(
            "apple",
            song_id,
            isrc,
            row.duration_ms,
            now,
            explicit=row.explicit,
            attempts=attempts,
            retry_after=None if isrc else miss_due(now, attempts),
        )
        return isrc

    def _deezer_isrc(self, track_id: str) -> str | None:
        try:
            return self.deezer.track(self.name, track_id).isrc
        except DeezerNoDataError:
            return None  # the search listed it, but Deezer has no details: a real miss
