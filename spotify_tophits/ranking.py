"""Windows and scoring (DESIGN §3). Pure: no I/O, and the day is passed in, never read from a clock.

An entry at rank r of a chart with N rows earns (N - r + 1) / N points for that chart day; a
window's score is the sum over its days and charts. Ties break on more chart days, then better
best rank, then earlier first appearance, then track id, so the same history always gives the
same list. Before cutting to size: one entry per track, one per song, at most
`max_per_artist` per artist.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import enum
from collections.abc import Iterable, Mapping

PERIODIC = ("monthly", "yearly")


@dataclasses.dataclass(frozen=True)
class RankedRow:
    """One chart row as the ranking sees it (spotify_id None: not matched)."""

    chart_date: datetime.date
    chart: str
    source: str
    row_count: int
    rank: int
    spotify_id: str | None
    song_key: str
    artist_key: str


@dataclasses.dataclass(frozen=True)
class Window:
    """The chart days a playlist is built from: [start, end], inclusive, and the period it belongs to."""

    key: str
    period: str
    start: datetime.date
    end: datetime.date
    period_start: datetime.date
    final: bool = False

    def describe(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def period_of(key: str, day: datetime.date) -> str:
    """Return the period a playlist of this key belongs to on a day: one playlist per period."""
    if key == "monthly":
        return f"{day:%Y-%m}"
    if key == "yearly":
        return f"{day:%Y}"
    return key


def period_bounds(key: str, period: str) -> tuple[datetime.date, datetime.date]:
    """Return the first and last day of a monthly ('2026-11') or yearly ('2026') period."""
    if key == "monthly":
        year, month = (int(part) for part in period.split("-"))
        return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])
    year = int(period)
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def current_window(
    key: str, today: datetime.date, earliest: datetime.date | None, latest: datetime.date | None
) -> Window | None:
    """Return the window a playlist covers today, given the first and latest chart days held (None: no data)."""
    if earliest is None or latest is None:
        return None
    if key == "daily":
        return Window(key, key, latest, latest, latest)
    if key == "weekly":
        this_monday = today - datetime.timedelta(days=today.weekday())
        previous_monday = this_monday - datetime.timedelta(days=7)
        if earliest <= previous_monday:
            return Window(key, key, previous_monday, previous_monday + datetime.timedelta(days=6), previous_monday)
        # Until a full week of history exists, the weekly list is "to date".
        return Window(key, key, earliest, today, earliest)
    period = period_of(key, today)
    start, _ = period_bounds(key, period)
    return Window(key, period, start, today, start)


def final_window(key: str, period: str) -> Window:
    """Return the whole-period window used to finalise a monthly or yearly playlist."""
    start, end = period_bounds(key, period)
    return Window(key, period, start, end, start, final=True)


@dataclasses.dataclass
class TrackScore:
    """One track's score in a window: its points, chart days, best rank, first day and the rows that earned them."""

    spotify_id: str
    points: float = 0.0
    days: set[datetime.date] = dataclasses.field(default_factory=set)
    best_rank: int = 10**9
    first_seen: datetime.date = datetime.date.max
    song_key: str = ""
    artist_key: str = ""
    rows: list[tuple[RankedRow, float]] = dataclasses.field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        """The sources whose charts carried the track, in order of first appearance."""
        return list(dict.fromkeys(row.source for row, _ in self.rows))

    def order(self) -> tuple[float, int, int, datetime.date, str]:
        """The sort key of DESIGN §3: points, then chart days, best rank, first appearance, track id."""
        return (-round(self.points, 9), -len(self.days), self.best_rank, self.first_seen, self.spotify_id)


class Cut(enum.StrEnum):
    """Why a scored track was left out before the list was full."""

    SONG = "song"  # another track of the same song ranked higher
    ARTIST = "artist"  # the artist already had max_per_artist tracks


@dataclasses.dataclass(frozen=True)
class Ranking:
    """A ranked window: the chosen tracks in order, and the ones the caps cut before the list was full."""

    chosen: list[TrackScore]
    cut: list[tuple[TrackScore, Cut]]

    @property
    def track_ids(self) -> list[str]:
        return [score.spotify_id for score in self.chosen]


def _order(row: RankedRow) -> tuple[datetime.date, str, int, str, str]:
    return (row.chart_date, row.chart, row.rank, row.song_key, row.artist_key)


def score_tracks(
    rows: Iterable[RankedRow], window: Window, weights: Mapping[str, float] | None = None
) -> dict[str, TrackScore]:
    """Return every matched track's score in the window, by Spotify id."""
    best: dict[tuple[str, datetime.date, str | None], RankedRow] = {}
    for row in rows:
        if row.spotify_id is None or not window.start <= row.chart_date <= window.end:
            continue
        # A track listed twice in one chart on one day counts once, at its better rank.
        slot = (row.chart, row.chart_date, row.spotify_id)
        if slot not in best or _order(row) < _order(best[slot]):
            best[slot] = row
    scores: dict[str, TrackScore] = {}
    for row in sorted(best.values(), key=_order):
        weight = (weights or {}).get(row.source, 1.0)
        # Sorted first, so a track whose sources disagree on its song or artist always takes the
        # keys of its first appearance, whatever order the rows came in.
        assert row.spotify_id is not None
        score = scores.setdefault(
            row.spotify_id, TrackScore(row.spotify_id, song_key=row.song_key, artist_key=row.artist_key)
        )
        points = weight * (row.row_count - row.rank + 1) / row.row_count
        score.points += points
        score.days.add(row.chart_date)
        score.best_rank = min(score.best_rank, row.rank)
        score.first_seen = min(score.first_seen, row.chart_date)
        score.rows.append((row, points))
    return scores


def rank_window(
    rows: Iterable[RankedRow],
    window: Window,
    size: int,
    max_per_artist: int,
    weights: Mapping[str, float] | None = None,
) -> Ranking:
    """Rank the window: the chosen tracks (at most `size`) and those cut by the song or artist rule on the way."""
    ordered = sorted(score_tracks(rows, window, weights).values(), key=TrackScore.order)
    chosen: list[TrackScore] = []
    cut: list[tuple[TrackScore, Cut]] = []
    songs: set[str] = set()
    per_artist: dict[str, int] = {}
    for score in ordered:
        if len(chosen) >= size:
            break
        if score.song_key in songs:
            cut.append((score, Cut.SONG))
            continue
        if per_artist.get(score.artist_key, 0) >= max_per_artist:
            cut.append((score, Cut.ARTIST))
            continue
        songs.add(score.song_key)
        per_artist[score.artist_key] = per_artist.get(score.artist_key, 0) + 1
        chosen.append(score)
    return Ranking(chosen, cut)


def rank_tracks(
    rows: Iterable[RankedRow],
    window: Window,
    size: int,
    max_per_artist: int,
    weights: Mapping[str, float] | None = None,
) -> list[str]:
    """Return the ordered Spotify track ids for the window, at most `size` long."""
    return rank_window(rows, window, size, max_per_artist, weights).track_ids


def fillable(songs: Iterable[tuple[str, str]], size: int, max_per_artist: int) -> int:
    """Return how many entries (at most `size`) a window's matched songs fill, without scoring them.

    `songs` are (artist key, song key) pairs of the window's matched rows, in any order and with
    repeats. One entry per song and at most `max_per_artist` per artist is what `rank_window`
    keeps, so this is its length whenever a song has one artist and a track one song; it stops
    reading once the list would be full, so a long history costs no more than a short one.
    """
    seen: set[str] = set()
    per_artist: dict[str, int] = {}
    filled = 0
    for artist_key, song_key in songs:
        if filled >= size:
            break
        if song_key in seen or per_artist.get(artist_key, 0) >= max_per_artist:
            continue
        seen.add(song_key)
        per_artist[artist_key] = per_artist.get(artist_key, 0) + 1
        filled += 1
        if filled == size:
            break
    return filled
