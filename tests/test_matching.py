"""Matching: normalisation (properties), candidate scoring (a table of tricky rows), resolution with caching."""

from __future__ import annotations

import datetime
import unicodedata
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotify_tophits.charts import ChartRow
from spotify_tophits.matching import (
    ExplicitPolicy,
    best_candidate,
    miss_backoff,
    normalise,
    resolution_key,
    resolve,
    score_candidate,
    song_key,
    split_title,
    text_query,
)
from spotify_tophits.spotify import Track
from spotify_tophits.store import open_store
from spotify_tophits.titles import recording_key

NOW = datetime.datetime(2026, 11, 28, 6, tzinfo=datetime.UTC)


@given(st.text())
def test_normalise_is_idempotent(text):
    assert normalise(normalise(text)) == normalise(text)


@given(st.text())
def test_normalise_keeps_letters_of_every_script_and_drops_punctuation(text):
    result = normalise(text)
    assert all(
        character.isalnum() or character == " " or unicodedata.category(character).startswith("M")
        for character in result
    )


def test_normalise_examples():
    assert normalise("Beyoncé & JAY-Z!") == "beyonce and jay z"
    assert normalise("नमस्ते") == "नमस्ते"  # the virama and vowel sign are part of the word
    assert normalise("が") == "が"  # a dakuten is not an accent to fold
    assert normalise("夜明け") == "夜明け"
    assert normalise("ＡＢＣ") == "abc"


def test_split_title_remembers_versions_and_featured_artists():
    assert split_title("Golden Hearts (feat. Nova Quinn) - Live") == split_title(
        "golden hearts - live (ft. Nova Quinn)"
    )
    parts = split_title("Golden Hearts (feat. Nova Quinn) - Live")
    assert (parts.base, parts.versions, parts.featured) == ("golden hearts", frozenset({"live"}), ("Nova Quinn",))
    assert split_title("Paper Skies - Remastered 2011").versions == frozenset()
    assert split_title("Paper Skies (Sped Up)").versions == frozenset({"sped up"})


def test_song_key_counts_every_version_of_a_song_once_and_the_recording_key_tells_them_apart():
    assert song_key("Paper Skies", ["Ava Stone"]) == song_key("Paper Skies (Clean)", ["Ava Stone feat. Leo Vega"])
    assert song_key("Paper Skies - 2011 Remaster", ["Ava Stone"]) == song_key("Paper Skies", ["Ava Stone"])
    assert song_key("Paper Skies (Club Remix)", ["Ava Stone"]) == song_key("Paper Skies", ["Ava Stone"])
    assert song_key("Paper Skies (En Vivo)", ["Ava Stone & Leo Vega"]) == "ava stone|paper skies"
    assert recording_key("Paper Skies (Club Remix)", ["Ava Stone"]) == "ava stone|paper skies|remix:club"
    assert recording_key("Paper Skies (Live from Tokyo)", ["Ava Stone"]) == "ava stone|paper skies|live:tokyo"
    assert recording_key("Paper Skies - Remastered", ["Ava Stone"]) == "ava stone|paper skies"


def test_resolution_key_prefers_spotify_id_then_isrc_then_text():
    assert resolution_key(ChartRow(1, "T", ("A",), isrc="us1", spotify_id="x" * 22)) == "spotify:" + "x" * 22
    assert resolution_key(ChartRow(1, "T", ("A",), isrc="us1")) == "isrc:US1"
    assert resolution_key(ChartRow(1, "T", ("A",))) == "text:a|t"


def track(name: str, *artists: str, duration: int | None = 200_000, album: str = "single") -> Track:
    return Track("id", name, artists, duration, None, album)


# (row title, row artists, row duration, candidate, accepted?)
CORPUS = [
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts", "Ava Stone"), True),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts - Live", "Ava Stone", duration=225_000), False),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts (Club Remix)", "Ava Stone"), False),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts (Karaoke Version)", "Sing Along Stars"), False),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts (Instrumental)", "Ava Stone"), False),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts - Sped Up", "Ava Stone"), False),
    (
        "Golden Hearts - Live",
        ("Ava Stone",),
        225_000,
        track("Golden Hearts - Live", "Ava Stone", duration=225_000),
        True,
    ),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts", "Leo Vega"), False),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Heart Attack", "Ava Stone"), False),
    ("Golden Hearts", ("Ava Stone",), 200_000, track("Golden Hearts", "Ava Stone", duration=260_000), False),
    ("Golden Hearts", ("Ava Stone",), None, track("Golden Hearts", "Ava Stone", duration=260_000), True),
    ("Golden Hearts (feat. Leo Vega)", ("Ava Stone",), 200_000, track("Golden Hearts", "Ava Stone", "Leo Vega"), True),
    (
        "Golden Hearts",
        ("Ava Stone feat. Leo Vega",),
        200_000,
        track("Golden Hearts (feat. Leo Vega)", "Ava Stone"),
        True,
    ),
    ("Golden Hearts", ("Leo Vega",), 200_000, track("Golden Hearts (with Leo Vega)", "Ava Stone"), True),
    ("Golden Hearts - 2011 Remaster", ("Ava Stone",), 200_000, track("Golden Hearts", "Ava Stone"), True),
    ("Golden Hearts (Clean)", ("Ava Stone",), 200_000, track("Golden Hearts", "Ava Stone"), True),
    ("夜明け", ("ユイ",), 200_000, track("夜明け", "ユイ"), True),
    ("夜明け", ("ユイ",), 200_000, track("晴天", "ユイ"), False),
    ("Звезда", ("Мира",), 200_000, track("Звезда", "Мира"), True),
    ("Beyoncé Song", ("Beyoncé",), 200_000, track("Beyonce Song", "Beyonce"), True),
    ("King", ("Years & Years",), 200_000, track("King of the Blues", "Ten Years After"), False),
]


@pytest.mark.parametrize(("title", "artists", "duration", "candidate", "accepted"), CORPUS)
def test_score_candidate_corpus(title, artists, duration, candidate, accepted):
    confidence = score_candidate(ChartRow(1, title, artists, duration_ms=duration), candidate)
    assert (confidence is not None) == accepted
    if confidence is not None:
        assert 0.8 <= confidence <= 1.0


def test_miss_backoff_doubles_from_one_day_to_thirty():
    assert [miss_backoff(n).days for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_miss_is_due_the_next_local_day_whatever_the_hour_of_either_run(tmp_path):
    """A miss from day D with back-off 1 is searched again on D+1, even by a run seconds earlier than D's."""
    store = open_store(tmp_path / "state.db")
    queries: list[str] = []

    def search(query: str) -> list[Track]:
        queries.append(query)
        return []

    zone = zoneinfo.ZoneInfo("Europe/Berlin")
    first = datetime.datetime(2026, 11, 10, 6, 0, 7, tzinfo=zone)
    resolve(ChartRow(2, "Missing Song", ("Nobody",)), search, store, first)
    resolve(ChartRow(2, "Missing Song", ("Nobody",)), search, store, first + datetime.timedelta(hours=17))
    assert len(queries) == 1  # 23:00 the same day: not yet
    resolve(ChartRow(2, "Missing Song", ("Nobody",)), search, store, first + datetime.timedelta(days=1, seconds=-5))
    assert len(queries) == 2  # 06:00:02 the next day: due, although 24 h have not passed
    store.close()


def test_resolve_uses_the_source_spotify_id_without_a_search(tmp_path):
    store = open_store(tmp_path / "state.db")
    searches: list[str] = []
    outcome = resolve(ChartRow(1, "T", ("A",), spotify_id="s" * 22), searches.append, store, NOW)  # type: ignore[arg-type]
    assert (outcome.spotify_id, outcome.method, searches) == ("s" * 22, "spotify-id", [])
    store.close()


def test_resolve_caches_hits_and_misses(tmp_path):
    store = open_store(tmp_path / "state.db")
    found = Track("hit", "Golden Hearts", ("Ava Stone",), 200_000, "QZ1", "single")
    queries: list[str] = []

    def search(query: str) -> list[Track]:
        queries.append(query)
        return [found] if "Golden" in query or "QZ1" in query else []

    hit = resolve(ChartRow(1, "Golden Hearts", ("Ava Stone",), isrc="QZ1"), search, store, NOW)
    again = resolve(ChartRow(5, "Golden Hearts", ("Ava Stone",), isrc="qz1"), search, store, NOW)
    miss = resolve(ChartRow(2, "Missing Song", ("Nobody",)), search, store, NOW)
    # Later the same day: the miss waits for the next local day.
    later = NOW.replace(hour=23, minute=59)
    miss_again = resolve(ChartRow(2, "Missing Song", ("Nobody",)), search, store, later)

    assert (hit.spotify_id, hit.method, hit.searches) == ("hit", "isrc", 1)
    assert (again.spotify_id, again.cached, again.searches) == ("hit", True, 0)
    assert (miss.spotify_id, miss.searches, miss_again.searches) == (None, 1, 0)
    assert queries == ["isrc:QZ1", 'track:"Missing Song" artist:"Nobody"']
    store.close()


# -- clean/explicit twins and the explicit policy -------------------------------------------------------------
DIRTY = Track("e" * 22, "Wild Heart", ("Nova Quinn",), 200_000, "QCEXPLICIT01", "single", explicit=True)
CLEAN = Track("c" * 22, "Wild Heart", ("Nova Quinn",), 200_000, "QCCLEAN00001", "single", explicit=False)


def twin_row(explicit: bool | None, isrc: str | None = None) -> ChartRow:
    return ChartRow(1, "Wild Heart", ("Nova Quinn",), isrc=isrc, duration_ms=200_000, explicit=explicit)


@pytest.mark.parametrize(
    ("explicit", "policy", "expected"),
    [
        (True, ExplicitPolicy.AS_CHARTED, DIRTY),
        (False, ExplicitPolicy.AS_CHARTED, CLEAN),
        (True, ExplicitPolicy.PREFER_CLEAN, CLEAN),
        (True, ExplicitPolicy.CLEAN_ONLY, CLEAN),
        (None, ExplicitPolicy.CLEAN_ONLY, CLEAN),
    ],
)
def test_of_two_twins_the_one_the_policy_wants_wins_in_either_order(explicit, policy, expected):
    for order in ([DIRTY, CLEAN], [CLEAN, DIRTY]):
        found = best_candidate(twin_row(explicit), order, policy)
        assert found is not None and found.track == expected and found.notes == ()


def test_the_other_twin_is_taken_only_when_the_policy_allows_it_and_then_it_is_noted():
    as_charted = best_candidate(twin_row(False), [DIRTY])
    prefer_clean = best_candidate(twin_row(True), [DIRTY], ExplicitPolicy.PREFER_CLEAN)

    assert as_charted is not None and as_charted.notes == ("rated explicit, the chart's is clean",)
    assert prefer_clean is not None and prefer_clean.notes == ("no clean twin on Spotify; took the explicit one",)
    assert best_candidate(twin_row(True), [DIRTY], ExplicitPolicy.CLEAN_ONLY) is None


def test_prefer_clean_looks_past_an_explicit_isrc_for_the_clean_twin_and_clean_only_counts_a_row_left_out(tmp_path):
    store = open_store(tmp_path / "state.db")
    queries: list[str] = []

    def search(query: str) -> list[Track]:
        queries.append(query)
        return [DIRTY] if query.startswith("isrc:") else [DIRTY, CLEAN]

    def explicit_only(query: str) -> list[Track]:
        return [DIRTY]

    row = twin_row(True, isrc="qcexplicit01")
    charted = resolve(row, search, store, NOW)
    clean = resolve(row, search, store, NOW, ExplicitPolicy.PREFER_CLEAN)
    left_out = resolve(twin_row(True), explicit_only, store, NOW, ExplicitPolicy.CLEAN_ONLY)

    assert (charted.spotify_id, charted.method, charted.key) == (DIRTY.id, "isrc", "isrc:QCEXPLICIT01")
    assert (clean.spotify_id, clean.method, clean.key) == (CLEAN.id, "text", "isrc:QCEXPLICIT01|prefer-clean")
    assert (left_out.spotify_id, left_out.method) == (None, "no-clean-twin")
    assert queries == ["isrc:QCEXPLICIT01", "isrc:QCEXPLICIT01", 'track:"Wild Heart" artist:"Nova Quinn"']
    store.close()


def test_a_text_row_with_a_known_rating_keys_its_twin_apart():
    assert resolution_key(twin_row(True)) == "text:nova quinn|wild heart|explicit"
    assert resolution_key(twin_row(False)) == "text:nova quinn|wild heart|clean"
    assert resolution_key(twin_row(None)) == "text:nova quinn|wild heart"
    assert resolution_key(twin_row(None), ExplicitPolicy.CLEAN_ONLY) == "text:nova quinn|wild heart|clean-only"


def test_the_text_query_filters_on_the_primary_artist_only():
    row = ChartRow(1, "pushin P (feat. Young Thug)", ("Gunna & Future",))

    assert text_query(row) == 'track:"pushin P" artist:"Gunna"'
