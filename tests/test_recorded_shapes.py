"""Answers in the real services' shapes (tests/data/responses/), replayed into tophits' own source classes."""

from __future__ import annotations

import datetime
import json
import urllib.parse
from pathlib import Path
from typing import Any

import requests
from conftest import WORLDWIDE, at, no_sleep

from spotify_tophits.sources.apple import AppleSource
from spotify_tophits.sources.deezer import DeezerSource
from spotify_tophits.sources.deezer_client import DeezerClient, parse_deezer_track
from spotify_tophits.spotify.models import parse_track
from spotify_tophits.store import open_store

RESPONSES = Path(__file__).parent / "data" / "responses"
DAY = datetime.date(2026, 11, 10)


def response(name: str) -> Any:
    return json.loads((RESPONSES / f"{name}.json").read_text(encoding="utf-8"))


def client(settings) -> DeezerClient:  # type: ignore[no-untyped-def]
    return DeezerClient(settings.endpoints["deezer_api"], requests.Session(), requests_per_5s=50, sleep=no_sleep)


def test_a_full_deezer_track_gives_its_isrc_duration_and_rating():
    track = parse_deezer_track(response("deezer_track"))

    assert (track.id, track.artist, track.isrc, track.duration_ms, track.explicit) == (
        "3210987651",
        "Drift",
        "QZDRF2600117",
        187_000,
        True,
    )


def test_a_spotify_track_with_a_lower_case_isrc_is_read_in_upper_case_with_its_rating():
    track = parse_track(response("spotify_track"))

    assert (track.isrc, track.explicit, track.artists, track.album_type) == (
        "QZDRF2600117",
        True,
        ("Drift", "Kova", "Lumi"),
        "single",
    )


def test_a_deezer_playlist_page_in_the_real_shape_gives_rows_with_ratings_and_isrcs(settings, emulator, tmp_path):
    page = response("deezer_playlist_tracks")
    emulator.inject("GET", rf"/deezer/playlist/{WORLDWIDE}/tracks", status=200, body=page)
    for item in page["data"]:
        emulator.inject(
            "GET",
            rf"/deezer/track/{item['id']}",
            status=200,
            body=response("deezer_track") | {"id": item["id"], "isrc": f"QZDRF26{item['id'] % 100000:05d}"},
        )
    store = open_store(tmp_path / "shapes.db")
    source = DeezerSource(
        name="deezer:worldwide",
        playlist_id=WORLDWIDE,
        client=client(settings),
        store=store,
        minimum_rows=3,
        clock=lambda: at(DAY),
    )

    chart = source.fetch(DAY)

    assert [(row.title, row.artists, row.explicit) for row in chart.rows] == [
        ("Glow Up (feat. Lumi)", ("Drift",), True),
        ("Corazón Valiente (Versión Acústica)", ("Lucía Mar",), False),
        ("Trouble", ("Dex Hart",), False),  # 3: an edited (clean) version
    ]
    assert [row.isrc for row in chart.rows] == ["QZDRF2687651", "QZDRF2687652", "QZDRF2687653"]
    store.close()


def test_an_apple_feed_in_the_real_shape_asks_deezer_for_the_main_artist_and_takes_the_twin_of_its_rating(
    settings, emulator, tmp_path
):
    emulator.inject("GET", r"/apple/.*", status=200, body=response("apple_most_played"))
    emulator.inject("GET", r"/itunes/lookup", status=200, body=response("itunes_lookup"))
    emulator.inject("GET", r"/deezer/search", status=200, body=response("deezer_search_twins"))
    emulator.inject("GET", r"/deezer/track/3210987651", status=200, body=response("deezer_track"))
    emulator.inject("GET", r"/deezer/search", status=200, body={"data": [], "total": 0}, times=2)
    store = open_store(tmp_path / "apple.db")
    source = AppleSource(
        name="apple:us",
        storefront="us",
        base_url=settings.endpoints["apple_rss"],
        itunes_url=settings.endpoints["itunes_api"],
        deezer=client(settings),
        session=requests.Session(),
        store=store,
        minimum_rows=3,
        sleep=no_sleep,
        clock=lambda: at(DAY),
    )

    chart = source.fetch(DAY)

    searches = [
        urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["q"][0]
        for _, path in emulator.request_log
        if path.startswith("/deezer/search")
    ]
    assert searches[0] == 'artist:"Drift" track:"Glow Up"'
    assert [(row.artists, row.explicit, row.duration_ms) for row in chart.rows] == [
        (("Drift & Kova",), True, 187_213),
        (("Lucía Mar",), False, 205_480),
        (("Dex Hart",), False, 201_006),
    ]
    # The explicit twin (3210987651), not the clean one listed first nor the sped-up cut.
    assert chart.rows[0].isrc == "QZDRF2600117"
    assert [row.isrc for row in chart.rows[1:]] == [None, None]
    fact = store.get_source_track("apple", "1790011002")
    assert fact is not None and fact.retry_after == datetime.datetime(2026, 11, 11, tzinfo=datetime.UTC)
    store.close()
