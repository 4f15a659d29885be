"""`tophits show --explain N`: why entry N sits where it does, recomputed from the stored chart history.

Its points by chart day and source, the tie-breaker that placed it against each neighbour, any pin,
artist cap or song dedupe that touched it, and the tracks the caps cut above the cut line. The
recomputation uses today's history and overrides: when its list differs from what was written
(a late match, a changed overrides.toml), the explanation says so.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from spotify_tophits.config import Settings
from spotify_tophits.errors import UsageError
from spotify_tophits.overrides import apply_overrides, load_overrides
from spotify_tophits.ranking import Cut, TrackScore, Window, rank_window, score_tracks
from spotify_tophits.store import open_reader

if TYPE_CHECKING:
    from spotify_tophits.actions.show import ShowEntry, ShowResult

# The parts of the ranking order, in the order they are compared (DESIGN §3).
TIE_BREAKERS = ("points", "chart days", "best rank", "first appearance", "track id")


@dataclasses.dataclass(frozen=True)
class Contribution:
    """What one chart day of one source gave the track."""

    chart_date: datetime.date
    source: str
    rank: int
    rows: int
    points: float


@dataclasses.dataclass(frozen=True)
class Neighbour:
    """An entry next to the explained one and what decided their order."""

    position: int
    label: str
    points: float
    above: bool
    decided_by: str


@dataclasses.dataclass(frozen=True)
class Explanation:
    """Everything `--explain` prints about one entry."""

    entry: ShowEntry
    playlist: str
    window: tuple[datetime.date, datetime.date]
    contributions: list[Contribution]
    neighbours: list[Neighbour]
    touched: list[str]
    cut: list[tuple[str, float, str]]
    differences: list[str]

    @property
    def points(self) -> float:
        return round(sum(contribution.points for contribution in self.contributions), 6)


def decided_by(upper: TrackScore, lower: TrackScore) -> str:
    """Return which part of the ranking order put `upper` before `lower`."""
    for name, first, second in zip(TIE_BREAKERS, upper.order(), lower.order(), strict=True):
        if first != second:
            return name
    return "track id"


def explain_entry(settings: Settings, shown: ShowResult, position: int) -> Explanation:
    """Explain the entry at `position` of a shown playlist from the stored history (read-only)."""
    if not 1 <= position <= len(shown.entries):
        raise UsageError(f"--explain {position}: {shown.name} has entries 1 to {len(shown.entries)}")
    if shown.window_start is None or shown.window_end is None:
        raise UsageError(f"{shown.name} was written before tophits recorded windows; run `tophits update` first")
    entry = shown.entries[position - 1]
    playlist = settings.playlists[shown.playlist]
    window = Window(shown.playlist, shown.period, shown.window_start, shown.window_end, shown.window_start)
    overrides = load_overrides(settings.paths.config_dir / "overrides.toml")
    store = open_reader(settings.paths.state_db)
    try:
        rows = apply_overrides(store.ranked_rows(window.start, window.end), overrides)
        ranking = rank_window(rows, window, playlist.size, settings.max_per_artist, settings.weights)
        scores = score_tracks(rows, window, settings.weights)
        facts = store.track_facts([*scores])
    finally:
        store.close()

    def label(track: str) -> str:
        known = facts.get(track)
        return f"{', '.join(known.artists)} – {known.title}" if known else track

    score = scores.get(entry.spotify_id)
    contributions = [
        Contribution(row.chart_date, row.source, row.rank, row.row_count, round(points, 6))
        for row, points in (score.rows if score else [])
    ]
    neighbours: list[Neighbour] = []
    chosen = ranking.track_ids
    if entry.spotify_id in chosen and score is not None:
        index = chosen.index(entry.spotify_id)
        for other, above in ((index - 1, True), (index + 1, False)):
            if 0 <= other < len(chosen):
                neighbour = ranking.chosen[other]
                upper, lower = (neighbour, score) if above else (score, neighbour)
                neighbours.append(
                    Neighbour(other + 1, label(neighbour.spotify_id), neighbour.points, above, decided_by(upper, lower))
                )
    touched = []
    for song, track in overrides.pins.items():
        if track == entry.spotify_id:
            touched.append(f"pinned by overrides.toml for {song.replace('|', ' – ')}")
    for cut_score, reason in ranking.cut:
        if score is None:
            break
        if reason == Cut.SONG and cut_score.song_key == score.song_key:
            touched.append(f"kept over {label(cut_score.spotify_id)} (the same song, fewer points)")
        if reason == Cut.ARTIST and cut_score.artist_key == score.artist_key:
            touched.append(
                f"its artist is at the cap of {settings.max_per_artist} (max_per_artist):"
                f" {label(cut_score.spotify_id)} was cut"
            )
    cut = [
        (label(cut_score.spotify_id), round(cut_score.points, 6), "same song" if reason == Cut.SONG else "artist cap")
        for cut_score, reason in ranking.cut
    ]
    differences = []
    written = [shown_entry.spotify_id for shown_entry in shown.entries]
    if chosen != written:
        moved = sum(1 for index, track in enumerate(written) if index >= len(chosen) or chosen[index] != track)
        differences.append(
            f"the history changed since this was written (a late match, new overrides): ranked today,"
            f" {moved} of {len(written)} positions would differ"
        )
    recomputed = round(score.points, 6) if score else 0.0
    if entry.points is not None and abs(recomputed - entry.points) > 1e-6:
        differences.append(f"today this entry would have {recomputed:.4f} points, not {entry.points:.4f}")
    return Explanation(
        entry, shown.name, (window.start, window.end), contributions, neighbours, touched, cut, differences
    )
