"""Ranking is pure: table tests for the windows and scoring, properties for the invariants."""

from __future__ import annotations

import datetime
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from spotify_tophits.ranking import (
    RankedRow,
    Window,
    current_window,
    fillable,
    final_window,
    period_of,
    rank_tracks,
)

DAY = datetime.date(2026, 11, 28)  # a Saturday


def row(
    day: int, rank: int, track: str, *, count: int = 10, chart: str = "deezer:1", song: str = "", artist: str = ""
) -> RankedRow:
    return RankedRow(
        DAY - datetime.timedelta(days=day),
        chart,
        chart.split(":")[0],
        count,
        rank,
        track,
        song or track,
        artist or track,
    )


WIDE = Window("yearly", "2026", datetime.date(2026, 1, 1), DAY, datetime.date(2026, 1, 1))


def test_scoring_sums_points_over_days_and_charts():
    rows = [row(0, 1, "a"), row(1, 1, "b"), row(0, 2, "b"), row(0, 1, "c", chart="apple:us")]
    # a: 1.0; b: 1.0 + 0.9; c: 1.0 (another chart, same day)
    assert rank_tracks(rows, WIDE, 10, 3) == ["b", "a", "c"]


def test_ties_break_on_days_then_best_rank_then_first_seen_then_id():
    rows = [row(0, 1, "x", count=2), row(0, 2, "y", count=2), row(1, 2, "y", count=2)]
    # x: 1.0 on one day; y: 0.5 + 0.5 on two days -> y wins on chart days.
    assert rank_tracks(rows, WIDE, 10, 3) == ["y", "x"]
    rows = [row(0, 1, "m", count=1), row(0, 1, "n", count=1, chart="apple:us")]
    assert rank_tracks(rows, WIDE, 10, 3) == ["m", "n"]
    rows = [row(1, 1, "late", count=1), row(2, 1, "early", count=1, chart="apple:us")]
    assert rank_tracks(rows, WIDE, 10, 3) == ["early", "late"]


def test_one_entry_per_song_and_at_most_max_per_artist():
    rows = [
        row(0, 1, "explicit", song="s1", artist="A"),
        row(0, 2, "clean", song="s1", artist="A"),
        row(0, 3, "a2", artist="A"),
        row(0, 4, "a3", artist="A"),
        row(0, 5, "b1", artist="B"),
    ]
    assert rank_tracks(rows, WIDE, 10, 2) == ["explicit", "a2", "b1"]


def test_rows_outside_the_window_do_not_count():
    window = Window("daily", "daily", DAY, DAY, DAY)
    assert rank_tracks([row(1, 1, "old"), row(0, 5, "new")], window, 10, 3) == ["new"]


def test_windows_for_each_playlist():
    earliest = datetime.date(2026, 1, 5)
    assert current_window("daily", DAY, earliest, DAY - datetime.timedelta(days=1)) == Window(
        "daily",
        "daily",
        DAY - datetime.timedelta(days=1),
        DAY - datetime.timedelta(days=1),
        DAY - datetime.timedelta(days=1),
    )
    weekly = current_window("weekly", DAY, earliest, DAY)
    assert (weekly.start, weekly.end) == (datetime.date(2026, 11, 16), datetime.date(2026, 11, 22))
    young = current_window("weekly", DAY, datetime.date(2026, 11, 20), DAY)
    assert (young.start, young.end) == (datetime.date(2026, 11, 20), DAY)
    monthly = current_window("monthly", DAY, earliest, DAY)
    assert (monthly.period, monthly.start, monthly.end) == ("2026-11", datetime.date(2026, 11, 1), DAY)
    yearly = current_window("yearly", DAY, earliest, DAY)
    assert (yearly.period, yearly.start) == ("2026", datetime.date(2026, 1, 1))
    assert current_window("daily", DAY, None, None) is None
    february = final_window("monthly", "2028-02")
    assert (february.start, february.end, february.final) == (
        datetime.date(2028, 2, 1),
        datetime.date(2028, 2, 29),
        True,
    )
    assert period_of("weekly", DAY) == "weekly"


tracks = st.sampled_from([f"t{i}" for i in range(40)])
rows_strategy = st.lists(
    st.builds(
        # A track's artist and song are facts of the track; several tracks share a song (t1, t11, ...).
        lambda day, rank, track, chart: row(
            day, rank, track, count=50, chart=chart, artist="ABCDEF"[int(track[1:]) % 6], song=track[:2]
        ),
        st.integers(0, 20),
        st.integers(1, 50),
        tracks,
        st.sampled_from(["deezer:1", "apple:us"]),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(rows_strategy, st.integers(1, 30), st.integers(1, 4), st.randoms())
def test_ranking_properties(rows, size, cap, shuffler: random.Random):
    result = rank_tracks(rows, WIDE, size, cap)

    assert len(result) <= size
    assert len(result) == len(set(result))
    artists = {r.spotify_id: r.artist_key for r in rows}
    songs = {r.spotify_id: r.song_key for r in rows}
    for artist in set(artists.values()):
        assert sum(1 for track in result if artists[track] == artist) <= cap
    assert len({songs[track] for track in result}) == len(result)
    shuffled = list(rows)
    shuffler.shuffle(shuffled)
    assert rank_tracks(shuffled, WIDE, size, cap) == result


one_artist_per_song = st.lists(
    st.builds(
        # As in the charts: a song (t1, t11, ... share "t1") belongs to one artist.
        lambda day, rank, track: row(day, rank, track, count=50, artist="ABC"[int(track[1]) % 3], song=track[:2]),
        st.integers(0, 20),
        st.integers(1, 50),
        tracks,
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(one_artist_per_song, st.integers(1, 30), st.integers(1, 4), st.randoms())
def test_fillable_counts_what_ranking_keeps_in_any_row_order(rows, size, cap, shuffler: random.Random):
    shuffled = list(rows)
    shuffler.shuffle(shuffled)

    kept = rank_tracks(rows, WIDE, size, cap)

    assert fillable(((r.artist_key, r.song_key) for r in shuffled), size, cap) == len(kept)


def test_fillable_stops_reading_once_the_list_is_full():
    read = []

    def songs():
        for index in range(1000):
            read.append(index)
            yield f"artist{index}", f"song{index}"

    assert fillable(songs(), 5, 1) == 5
    assert len(read) == 5


@given(st.permutations([f"t{i}" for i in range(12)]))
def test_ranking_of_one_chart_day_follows_the_chart_order(order):
    rows = [row(0, rank, track, count=12, artist=track) for rank, track in enumerate(order, start=1)]
    assert rank_tracks(rows, WIDE, 12, 1) == list(order)


@given(st.integers(2, 10), st.integers(1, 9))
def test_a_better_rank_never_moves_a_track_down(better, gap):
    worse = better + gap
    rows = [row(0, better, "x", count=20), row(0, worse, "y", count=20)]
    assert rank_tracks(rows, WIDE, 2, 3) == ["x", "y"]


@given(st.permutations(range(4)))
def test_ranking_is_independent_of_row_order_when_sources_disagree_on_keys(order):
    rows = [
        row(0, 1, "x", artist="A", chart="deezer:1"),
        row(0, 2, "x", artist="B", chart="apple:us"),
        row(0, 2, "y", artist="A"),
        row(1, 3, "z", artist="B"),
    ]
    expected = rank_tracks(rows, WIDE, 10, 1)
    # x takes its keys from its first appearance by (day, chart, rank): apple:us, artist B.
    assert rank_tracks([rows[i] for i in order], WIDE, 10, 1) == expected == ["x", "y"]
