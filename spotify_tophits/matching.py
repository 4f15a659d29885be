"""Map chart rows to Spotify tracks: normalisation (pure) and resolution (cached, cheapest first).

Order of resolution (DESIGN §2.4): a Spotify id from the source; an `isrc:` search; a careful
text search. A wrong track is worse than a missing one, so a text candidate is accepted only
when title *and* artist agree, its duration (when known) is close, and it names the same
version as the row, both ways (`titles`: live, acoustic, remix... in every charted language).
When the row's content rating is known, the twin with the same rating wins; the other twin is
taken only when no same-rating one exists and the `explicit` policy allows it. Misses are
cached and retried after 1 day, doubling up to 30.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from spotify_tophits.titles import (
    BRACKETED,
    DASH_SUFFIX,
    FEATURE,
    normalise,
    primary_artist,
    primary_name,
    recording_key,
    song_key,
    split_artists,
    split_title,
)

if TYPE_CHECKING:
    from spotify_tophits.charts import ChartRow
    from spotify_tophits.spotify.models import Track
    from spotify_tophits.store import Store

Search = Callable[[str], Sequence["Track"]]

TITLE_THRESHOLD = 88.0
ARTIST_THRESHOLD = 85.0
DURATION_REJECT_MS = 30_000
DURATION_STRONG_MS = 3_000
MAX_MISS_BACKOFF_DAYS = 30
# New matches under this confidence are listed by `update -v` for a person to check.
LOW_CONFIDENCE = 0.9
__all__ = ["normalise", "primary_artist", "primary_name", "song_key", "split_artists", "split_title"]


class ExplicitPolicy(enum.StrEnum):
    """`[matching] explicit`: which twin of a clean/explicit pair goes in a playlist."""

    AS_CHARTED = "as-charted"  # the twin the chart lists; the other only when Spotify has no such twin
    PREFER_CLEAN = "prefer-clean"  # the clean twin when Spotify has one
    CLEAN_ONLY = "clean-only"  # never an explicit track: rows without a clean twin are left out

    def wanted(self, row: ChartRow) -> bool | None:
        """Return the rating this policy wants for a row (False: clean), None for no preference."""
        return row.explicit if self is ExplicitPolicy.AS_CHARTED else False


def rating_word(explicit: bool | None) -> str:
    """Return "explicit", "clean" or "unrated"."""
    return "unrated" if explicit is None else "explicit" if explicit else "clean"


def takes_given_id(row: ChartRow, policy: ExplicitPolicy) -> bool:
    """Return whether the row's own Spotify id is its match: always, except under clean-only when the source
    did not say the track is clean (it may be explicit), where the row is searched for like any other."""
    return bool(row.spotify_id) and (policy is not ExplicitPolicy.CLEAN_ONLY or row.explicit is False)


def resolution_key(row: ChartRow, policy: ExplicitPolicy = ExplicitPolicy.AS_CHARTED) -> str:
    """Return the cache key for a chart row: its Spotify id, else its ISRC, else its recording (song and version)
    with its rating when known; a policy other than as-charted answers differently, so it keys apart."""
    if takes_given_id(row, policy):
        return f"spotify:{row.spotify_id}"
    suffix = "" if policy is ExplicitPolicy.AS_CHARTED else f"|{policy.value}"
    if row.isrc:
        return f"isrc:{row.isrc.upper()}{suffix}"
    rating = "" if row.explicit is None else f"|{rating_word(row.explicit)}"
    return f"text:{recording_key(row.title, row.artists)}{rating}{suffix}"


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A scored Spotify search result, with what a person checking the match should know about it."""

    track: Track
    confidence: float
    notes: tuple[str, ...] = ()


def score_candidate(row: ChartRow, track: Track) -> float | None:
    """Return a confidence in [0, 1] that track is the row's recording, or None when it must be rejected."""
    candidate = judge(row, track)
    return None if candidate is None else candidate.confidence


def judge(row: ChartRow, track: Track) -> Candidate | None:
    """Return the track scored as the row's recording, with notes on any doubt, or None when it must be rejected.

    Versions count both ways: a row naming a version takes that version or nothing, and a track naming a
    version the row does not name is rejected. The rating is not judged here (see `best_candidate`).
    """
    from rapidfuzz import fuzz

    wanted = split_title(row.title)
    offered = split_title(track.name)
    if offered.versions != wanted.versions:
        return None
    notes = []
    if wanted.version_words and offered.version_words and not wanted.version_words & offered.version_words:
        return None  # "Live at Wembley" is not "Live from Tokyo"; a "Club Remix" is not a "Radio Remix"
    if wanted.version_words != offered.version_words:
        notes.append("version tags differ in detail")
    title_score = max(fuzz.ratio(wanted.base, offered.base), fuzz.token_sort_ratio(wanted.base, offered.base))
    if title_score < TITLE_THRESHOLD:
        return None
    row_artists = {normalise(name) for credit in row.artists for name in split_artists(credit)} | {
        normalise(name) for name in wanted.featured
    }
    track_artists = {normalise(name) for credit in track.artists for name in split_artists(credit)} | {
        normalise(name) for name in offered.featured
    }
    artist_score = max(
        (fuzz.ratio(mine, theirs) for mine in row_artists for theirs in track_artists if mine and theirs), default=0.0
    )
    if artist_score < ARTIST_THRESHOLD:
        return None
    if title_score < 100 or artist_score < 100:
        notes.append(f"title {title_score:.0f}%, artist {artist_score:.0f}% alike")
    confidence = 0.5 * title_score / 100 + 0.4 * artist_score / 100
    if row.duration_ms and track.duration_ms:
        difference = abs(row.duration_ms - track.duration_ms)
        if difference > DURATION_REJECT_MS:
            return None
        confidence += 0.1 if difference <= DURATION_STRONG_MS else 0.05
        if difference > DURATION_STRONG_MS:
            notes.append(f"durations differ by {difference / 1000:.0f} s")
    else:
        confidence += 0.05
        notes.append("no duration to compare")
    if wanted.version_words != offered.version_words:
        confidence -= 0.05
    return Candidate(track, round(min(confidence, 1.0), 3), tuple(notes))


def best_candidate(
    row: ChartRow, tracks: Iterable[Track], policy: ExplicitPolicy = ExplicitPolicy.AS_CHARTED
) -> Candidate | None:
    """Return the best acceptable track for the row, preferring singles and albums over compilations.

    When the policy wants a rating (the row's, or clean) and a candidate has it, only such candidates compete:
    of clean/explicit twins, the right one wins. Otherwise the other rating is taken, noted, unless the policy
    is clean-only, which never takes an explicit (or unrated) track.
    """
    scored = [candidate for track in tracks if (candidate := judge(row, track)) is not None]
    wanted = policy.wanted(row)
    if wanted is not None:
        same = [candidate for candidate in scored if candidate.track.explicit is wanted]
        if same:
            scored = same
        elif policy is ExplicitPolicy.CLEAN_ONLY:
            return None
        else:
            scored = [
                dataclasses.replace(
                    candidate,
                    notes=(
                        *candidate.notes,
                        f"rated {rating_word(candidate.track.explicit)}, the chart's is {rating_word(row.explicit)}"
                        if policy is ExplicitPolicy.AS_CHARTED
                        else f"no clean twin on Spotify; took the {rating_word(candidate.track.explicit)} one",
                    ),
                )
                for candidate in scored
            ]
    if not scored:
        return None
    return max(
        scored, key=lambda c: (c.confidence, c.track.album_type != "compilation", c.track.isrc == row.isrc, c.track.id)
    )


def _quote(text: str) -> str:
    return text.replace('"', " ").strip()


def plain_title(title: str) -> str:
    """Return the title as a search engine wants it: no featured artists, brackets or ' - version' suffix."""
    title = unicodedata.normalize("NFKC", title)
    plain = DASH_SUFFIX.sub("", BRACKETED.sub(" ", FEATURE.sub(" ", title)))
    return " ".join(plain.split()) or title


def text_query(row: ChartRow) -> str:
    """Return the fielded search query for a row: plain title and the primary artist only (featured artists
    count in scoring, but a filter naming them finds nothing), quoted."""
    return f'track:"{_quote(plain_title(row.title))}" artist:"{_quote(primary_name(row.artists))}"'


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What resolving one row gave: a Spotify id (or None), how, and how many searches it cost."""

    key: str
    spotify_id: str | None
    method: str
    confidence: float
    searches: int
    cached: bool
    # Why a doubtful match was accepted (low confidence, another rating, version detail); empty when sure.
    notes: tuple[str, ...] = ()
    # The track found, as "Artists – Name (rating)", for a person checking a new match.
    track: str = ""


@dataclasses.dataclass(frozen=True)
class MatchToCheck:
    """A new match `update -v` lists for a person to check: the row, the track, and why it was accepted."""

    source: str
    rank: int
    row: str
    track: str
    confidence: float
    why: str


def match_to_check(source: str, row: ChartRow, outcome: Outcome) -> MatchToCheck | None:
    """Return the row's new match as one to check when its confidence is low or its rating is not the chart's."""
    if outcome.cached or outcome.spotify_id is None or not outcome.track:
        return None
    mismatched = any(note.startswith(("rated ", "no clean twin")) for note in outcome.notes)
    if outcome.confidence >= LOW_CONFIDENCE and not mismatched:
        return None
    label = f"{', '.join(row.artists)} – {row.title} ({rating_word(row.explicit)})"
    why = "; ".join(outcome.notes) or f"{outcome.method} match"
    return MatchToCheck(source, row.rank, label, outcome.track, outcome.confidence, why)


def miss_backoff(attempts: int) -> datetime.timedelta:
    """Return how long to wait before searching again after `attempts` misses: 1, 2, 4, ... 30 days."""
    return datetime.timedelta(days=min(MAX_MISS_BACKOFF_DAYS, 2 ** max(0, attempts - 1)))


def miss_due(now: datetime.datetime, attempts: int) -> datetime.datetime:
    """Return when a miss is searched again: the start of the local day `miss_backoff` days after now's.

    Counted in local dates (`now` carries the user's zone), so a miss from day D with a back-off
    of 1 is due on D+1 whatever the hour of either run; compared to the second, a run that starts
    a few seconds earlier than yesterday's would wait a second day.
    """
    day = now.date() + miss_backoff(attempts)
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=now.tzinfo)


def _search_best(
    row: ChartRow, search: Search, policy: ExplicitPolicy, seen: list[Track]
) -> tuple[Candidate | None, str, int]:
    """Return the best candidate, how it was found ("isrc" or "text") and the searches spent; add every
    search result to `seen`.

    The ISRC names one recording, one twin: when the policy wants another rating than the ISRC's track has,
    the text search looks for the twin too, and the ISRC's track stays the fallback the policy may allow.
    """
    searches = 0
    by_isrc: Candidate | None = None
    if row.isrc:
        searches += 1
        results = [track for track in search(f"isrc:{row.isrc}") if (track.isrc or "").upper() == row.isrc]
        seen.extend(results)
        by_isrc = best_candidate(row, results, policy)
        wanted = policy.wanted(row)
        if by_isrc is not None and (wanted is None or by_isrc.track.explicit is wanted):
            return dataclasses.replace(by_isrc, confidence=min(1.0, by_isrc.confidence + 0.1)), "isrc", searches
    searches += 1
    results = list(search(text_query(row)))
    seen.extend(results)
    by_text = best_candidate(row, results, policy)
    if by_text is not None and (by_isrc is None or by_text.track.explicit is policy.wanted(row)):
        return by_text, "text", searches
    if by_isrc is not None:
        return dataclasses.replace(by_isrc, confidence=min(1.0, by_isrc.confidence + 0.1)), "isrc", searches
    return None, "text", searches


def resolve(
    row: ChartRow,
    search: Search | None,
    store: Store,
    now: datetime.datetime,
    policy: ExplicitPolicy = ExplicitPolicy.AS_CHARTED,
) -> Outcome:
    """Resolve a chart row to a Spotify track id, cheapest first, caching hits and misses in the store.

    `search` runs one Spotify track search; None means "cache only" (no request may be made).
    """
    key = resolution_key(row, policy)
    cached = store.get_resolution(key)
    if cached is not None and (
        cached.spotify_id is not None
        or cached.retry_after is None
        or datetime.datetime.fromisoformat(cached.retry_after) > now
    ):
        return Outcome(key, cached.spotify_id, cached.method, cached.confidence, 0, True)
    if cached is None and policy is not ExplicitPolicy.AS_CHARTED:
        # A clean match made as charted is what every policy takes: copied, it costs no search after a switch.
        earlier = store.get_resolution(resolution_key(row))
        if earlier is not None and earlier.spotify_id is not None and earlier.explicit is False:
            store.save_resolution(
                key,
                spotify_id=earlier.spotify_id,
                method=earlier.method,
                confidence=earlier.confidence,
                name=earlier.name,
                artists=earlier.artists,
                isrc=row.isrc,
                attempts=1,
                now=now,
                retry_after=None,
                explicit=False,
            )
            return Outcome(key, earlier.spotify_id, earlier.method, earlier.confidence, 0, True)
    attempts = (cached.attempts if cached else 0) + 1
    if row.spotify_id and takes_given_id(row, policy):
        store.save_resolution(
            key,
            spotify_id=row.spotify_id,
            method="spotify-id",
            confidence=1.0,
            name=row.title,
            artists=row.artists,
            isrc=row.isrc,
            attempts=attempts,
            now=now,
            retry_after=None,
            explicit=row.explicit,
        )
        return Outcome(key, row.spotify_id, "spotify-id", 1.0, 0, False)
    if search is None:
        return Outcome(key, None, "unresolved", 0.0, 0, False)
    seen: list[Track] = []
    found, method, searches = _search_best(row, search, policy, seen)
    if found is None:
        # Counted apart: the song is on Spotify, but only explicit, and the policy is clean-only.
        left_out = policy is ExplicitPolicy.CLEAN_ONLY and best_candidate(row, seen) is not None
        method = "no-clean-twin" if left_out else "miss"
        store.save_resolution(
            key,
            spotify_id=None,
            method=method,
            confidence=0.0,
            name=row.title,
            artists=row.artists,
            isrc=row.isrc,
            attempts=attempts,
            now=now,
            retry_after=miss_due(now, attempts),
        )
        return Outcome(key, None, method, 0.0, searches, False)
    store.save_resolution(
        key,
        spotify_id=found.track.id,
        method=method,
        confidence=found.confidence,
        name=found.track.name,
        artists=found.track.artists,
        isrc=found.track.isrc,
        attempts=attempts,
        now=now,
        retry_after=None,
        explicit=found.track.explicit,
    )
    label = f"{', '.join(found.track.artists)} – {found.track.name} ({rating_word(found.track.explicit)})"
    return Outcome(key, found.track.id, method, found.confidence, searches, False, found.notes, label)
