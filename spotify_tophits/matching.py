"""Map chart rows to Spotify tracks: normalisation (pure) and resolution (cached, cheapest first).

Order of resolution (DESIGN §2.4): a Spotify id from the source; an `isrc:` search; a careful
text search. A wrong track is worse than a missing one, so a text candidate is accepted only
when title *and* artist agree, its duration (when known) is close, and it is not a live,
remix, karaoke, ... version the chart row did not ask for. Misses are cached and retried after
1 day, doubling up to 30.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spotify_tophits.charts import ChartRow
    from spotify_tophits.spotify.models import Track
    from spotify_tophits.store import Store

Search = Callable[[str], Sequence["Track"]]

# Words that mark a different recording of a song. A candidate carrying one the chart row
# does not carry is rejected outright.
VERSION_WORDS = (
    "live",
    "acoustic",
    "remix",
    "mix",
    "karaoke",
    "instrumental",
    "cover",
    "tribute",
    "sped up",
    "slowed",
    "reverb",
    "demo",
    "orchestral",
)
# Words that name the same recording (or a cut of it people count as the same song).
NEUTRAL_WORDS = ("remaster", "remastered", "clean", "explicit", "radio edit", "single version", "mono", "stereo")
FEATURE = re.compile(r"\s*[\(\[]?\s*\b(?:feat\.?|ft\.?|featuring|with)\s+([^\)\]]+)[\)\]]?", re.IGNORECASE)
BRACKETED = re.compile(r"[\(\[]([^\)\]]*)[\)\]]")
DASH_SUFFIX = re.compile(r"\s+[-–—]\s+(.+)$")
ARTIST_SEPARATORS = re.compile(r"\s*(?:,|&|\bx\b|\band\b|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b|;|/)\s*", re.I)
TITLE_THRESHOLD = 88.0
ARTIST_THRESHOLD = 85.0
DURATION_REJECT_MS = 30_000
DURATION_STRONG_MS = 3_000
MAX_MISS_BACKOFF_DAYS = 30


def _fold_latin_accents(text: str) -> str:
    # Beyoncé and Beyonce are one artist, but a Japanese dakuten or a Devanagari vowel sign
    # changes the word: drop combining marks only where they sit on a Latin letter.
    decomposed = unicodedata.normalize("NFKD", text)
    kept: list[str] = []
    for character in decomposed:
        if unicodedata.combining(character) and kept and kept[-1].isascii() and kept[-1].isalpha():
            continue
        kept.append(character)
    return unicodedata.normalize("NFC", "".join(kept))


def normalise(text: str) -> str:
    """Return text in NFKC, casefolded, Latin accents folded, punctuation dropped, letters of every script kept."""
    text = _fold_latin_accents(unicodedata.normalize("NFKC", text).casefold()).replace("&", " and ")
    # Marks stay: they are part of words in Devanagari, Thai, Arabic and others.
    return " ".join(
        "".join(ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else " " for ch in text).split()
    )


@dataclasses.dataclass(frozen=True)
class TitleParts:
    """A title split into its base, the version words it carries, and artists it features."""

    base: str
    versions: frozenset[str]
    featured: tuple[str, ...]


def split_title(title: str) -> TitleParts:
    """Split a title into base title, version words (from brackets and ' - ' suffixes) and featured artists."""
    featured: list[str] = []

    def take_feature(match: re.Match[str]) -> str:
        featured.extend(split_artists(match.group(1)))
        return " "

    text = FEATURE.sub(take_feature, title)
    tags = [part for part in BRACKETED.findall(text)]
    text = BRACKETED.sub(" ", text)
    suffix = DASH_SUFFIX.search(text)
    if suffix:
        tags.append(suffix.group(1))
        text = text[: suffix.start()]
    versions: set[str] = set()
    for tag in tags:
        normal = f" {normalise(tag)} "
        versions.update(word for word in VERSION_WORDS if f" {word} " in normal or f" {word}ed " in normal)
    base = normalise(text) or normalise(title)
    return TitleParts(base, frozenset(versions), tuple(featured))


def split_artists(text: str) -> list[str]:
    """Split an artist credit such as 'A feat. B & C' into names."""
    return [name.strip() for name in ARTIST_SEPARATORS.split(text) if name and name.strip()]


def primary_name(artists: Sequence[str]) -> str:
    """Return the first artist of a credit as written ("Gunna & Future" gives "Gunna"), for search filters."""
    names = split_artists(artists[0]) if artists else []
    return names[0] if names else ""


def primary_artist(artists: Sequence[str]) -> str:
    """Return the normalised first artist of a credit."""
    names = split_artists(artists[0]) if artists else []
    return normalise(names[0]) if names else ""


def song_key(title: str, artists: Sequence[str]) -> str:
    """Return the key under which versions of one song count once (clean/explicit/remaster alike)."""
    parts = split_title(title)
    version = ",".join(sorted(parts.versions))
    return f"{primary_artist(artists)}|{parts.base}" + (f"|{version}" if version else "")


def resolution_key(row: ChartRow) -> str:
    """Return the cache key for a chart row: its Spotify id, else its ISRC, else its song key."""
    if row.spotify_id:
        return f"spotify:{row.spotify_id}"
    if row.isrc:
        return f"isrc:{row.isrc.upper()}"
    return f"text:{song_key(row.title, row.artists)}"


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A scored Spotify search result."""

    track: Track
    confidence: float


def score_candidate(row: ChartRow, track: Track) -> float | None:
    """Return a confidence in [0, 1] that track is the row's recording, or None when it must be rejected."""
    from rapidfuzz import fuzz

    wanted = split_title(row.title)
    offered = split_title(track.name)
    if offered.versions - wanted.versions:
        return None
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
    confidence = 0.5 * title_score / 100 + 0.4 * artist_score / 100
    if row.duration_ms and track.duration_ms:
        difference = abs(row.duration_ms - track.duration_ms)
        if difference > DURATION_REJECT_MS:
            return None
        confidence += 0.1 if difference <= DURATION_STRONG_MS else 0.05
    else:
        confidence += 0.05
    if wanted.versions != offered.versions:
        confidence -= 0.05
    return round(min(confidence, 1.0), 3)


def best_candidate(row: ChartRow, tracks: Iterable[Track]) -> Candidate | None:
    """Return the best acceptable track for the row, preferring singles and albums over compilations."""
    scored = []
    for track in tracks:
        confidence = score_candidate(row, track)
        if confidence is not None:
            scored.append(Candidate(track, confidence))
    if not scored:
        return None
    return max(
        scored, key=lambda c: (c.confidence, c.track.album_type != "compilation", c.track.isrc == row.isrc, c.track.id)
    )


def _quote(text: str) -> str:
    return text.replace('"', " ").strip()


def plain_title(title: str) -> str:
    """Return the title as a search engine wants it: no featured artists, brackets or ' - version' suffix."""
    plain = DASH_SUFFIX.sub("", BRACKETED.sub(" ", FEATURE.sub(" ", title)))
    return " ".join(plain.split()) or title


def text_query(row: ChartRow) -> str:
    """Return the fielded search query for a row: plain title and primary artist, quoted."""
    artist = split_artists(row.artists[0])[0] if row.artists else ""
    return f'track:"{_quote(plain_title(row.title))}" artist:"{_quote(artist)}"'


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What resolving one row gave: a Spotify id (or None), how, and how many searches it cost."""

    key: str
    spotify_id: str | None
    method: str
    confidence: float
    searches: int
    cached: bool


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


def resolve(row: ChartRow, search: Search | None, store: Store, now: datetime.datetime) -> Outcome:
    """Resolve a chart row to a Spotify track id, cheapest first, caching hits and misses in the store.

    `search` runs one Spotify track search; None means "cache only" (no request may be made).
    """
    key = resolution_key(row)
    cached = store.get_resolution(key)
    if cached is not None and (
        cached.spotify_id is not None
        or cached.retry_after is None
        or datetime.datetime.fromisoformat(cached.retry_after) > now
    ):
        return Outcome(key, cached.spotify_id, cached.method, cached.confidence, 0, True)
    attempts = (cached.attempts if cached else 0) + 1
    if row.spotify_id:
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
        )
        return Outcome(key, row.spotify_id, "spotify-id", 1.0, 0, False)
    if search is None:
        return Outcome(key, None, "unresolved", 0.0, 0, False)
    searches = 0
    found: Candidate | None = None
    method = "text"
    if row.isrc:
        searches += 1
        results = search(f"isrc:{row.isrc}")
        found = best_candidate(row, [track for track in results if (track.isrc or "").upper() == row.isrc.upper()])
        method = "isrc"
    if found is None:
        searches += 1
        found = best_candidate(row, search(text_query(row)))
        method = "text"
    if found is None:
        store.save_resolution(
            key,
            spotify_id=None,
            method="miss",
            confidence=0.0,
            name=row.title,
            artists=row.artists,
            isrc=row.isrc,
            attempts=attempts,
            now=now,
            retry_after=miss_due(now, attempts),
        )
        return Outcome(key, None, "miss", 0.0, searches, False)
    confidence = min(1.0, found.confidence + (0.1 if method == "isrc" else 0.0))
    store.save_resolution(
        key,
        spotify_id=found.track.id,
        method=method,
        confidence=confidence,
        name=found.track.name,
        artists=found.track.artists,
        isrc=found.track.isrc,
        attempts=attempts,
        now=now,
        retry_after=None,
    )
    return Outcome(key, found.track.id, method, confidence, searches, False)
