"""One Deezer client for every source: the emulator's 50-per-5-s limit, quota answers, typed errors, what is
cached (facts with their date, real misses with a back-off) and what is not (errors)."""

from __future__ import annotations

import datetime
import re
import urllib.parse

import pytest
import requests
from conftest import CHART_DAY, WORLDWIDE, VirtualTime, at, no_sleep, write_config
from test_sources import deezer_source

from spotify_tophits.actions.update import run_update
from spotify_tophits.config import load_settings
from spotify_tophits.sandbox.charts import APPLE_ID_BASE
from spotify_tophits.services import Services
from spotify_tophits.sources.apple import AppleSource
from spotify_tophits.sources.deezer import DeezerSource
from spotify_tophits.sources.deezer_client import (
    DeezerClient,
    DeezerError,
    DeezerNoDataError,
    DeezerQuotaError,
    parse_deezer_track,
)
from spotify_tophits.sources.registry import build_sources
from spotify_tophits.spotify import RetryPolicy
from spotify_tophits.store import open_store

DAY = datetime.date(2026, 11, 10)
BUSY = {"error": {"type": "Exception", "message": "Service busy", "code": 700}}
NO_DATA = {"error": {"type": "DataException", "message": "no data", "code": 800}}


def deezer_paths(emulator, kind: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The ids (or queries) of the Deezer requests of one kind ("track" or "search"), in order."""
    found = []
    for _method, path in emulator.request_log:
        parsed = urllib.parse.urlsplit(path)
        if kind == "track" and (match := re.fullmatch(r"/deezer/track/(\d+)", parsed.path)):
            found.append(match.group(1))
        if kind == "search" and parsed.path == "/deezer/search":
            found.append(urllib.parse.parse_qs(parsed.query)["q"][0])
    return found


def test_the_emulator_answers_http_200_with_code_4_past_50_requests_in_5_s_on_any_deezer_path(emulator, world):
    time = VirtualTime()
    limit = emulator.limit_deezer(clock=time.monotonic)
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))
    session = requests.Session()
    paths = [f"playlist/{WORLDWIDE}/tracks", "search?q=x", f"track/{world.songs[0].deezer_id}"]

    answers = [session.get(emulator.base_url + "deezer/" + paths[n % 3]) for n in range(51)]
    time.sleep(5.0)
    after_a_window = session.get(emulator.base_url + "deezer/search?q=x")

    assert [answer.status_code for answer in answers] == [200] * 51
    assert all("error" not in answer.json() for answer in answers[:50])
    assert answers[50].json() == {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}
    assert "error" not in after_a_window.json()
    assert limit.refused == 1


def test_the_client_waits_out_a_quota_answer_and_raises_a_typed_error_for_others(settings, emulator, world):
    waits: list[float] = []
    client = DeezerClient(settings.endpoints["deezer_api"], requests.Session(), requests_per_5s=50, sleep=waits.append)
    song = world.songs[0]
    emulator.inject("GET", rf"/deezer/track/{song.deezer_id}", status=200, body={"error": {"code": 4}}, times=2)

    track = client.track("deezer:worldwide", str(song.deezer_id))
    emulator.inject("GET", r"/deezer/track/1", status=200, body={"error": {"code": 4}}, times=4)
    with pytest.raises(DeezerQuotaError):
        client.track("deezer:worldwide", "1")
    emulator.inject("GET", r"/deezer/track/2", status=200, body=BUSY)
    with pytest.raises(DeezerError) as busy:
        client.track("deezer:worldwide", "2")
    with pytest.raises(DeezerNoDataError):
        client.track("deezer:worldwide", "3")

    assert (track.isrc, track.explicit) == (song.isrc, song.explicit)
    assert waits == [5.0] * 5
    assert client.quota_answers == 6
    assert (type(busy.value), busy.value.code) == (DeezerError, 700)


def test_a_deezer_track_in_lower_case_with_detailed_ratings_is_read_in_one_spelling():
    item = {"id": 3135556, "title": "Harder, Better", "artist": {"name": "Daft Punk"}, "duration": 224}
    explicit = parse_deezer_track(item | {"isrc": " gbduw0000059 ", "explicit_content_lyrics": 1})
    edited = parse_deezer_track(item | {"explicit_lyrics": True, "explicit_content_lyrics": 3})
    unknown = parse_deezer_track(item | {"explicit_lyrics": False, "explicit_content_lyrics": 2})
    plain = parse_deezer_track(item | {"explicit_lyrics": False})

    assert (explicit.isrc, explicit.explicit, explicit.duration_ms) == ("GBDUW0000059", True, 224_000)
    assert (edited.explicit, unknown.explicit, plain.explicit, plain.isrc) == (False, None, False, None)


def test_a_deezer_error_is_not_cached_and_a_no_data_answer_is_cached_with_a_growing_back_off(
    settings, emulator, world, tmp_path
):
    songs = world.chart(DAY)
    emulator.set_deezer_chart(WORLDWIDE, songs)
    busy, gone = songs[3].deezer_id, songs[7].deezer_id
    emulator.inject("GET", rf"/deezer/track/{busy}", status=200, body=BUSY)
    emulator.inject("GET", rf"/deezer/track/{gone}", status=200, body=NO_DATA, times=2)
    store = open_store(tmp_path / "facts.db")

    def fetch(moment: datetime.datetime) -> list[str]:
        emulator.reset_counts()
        source = deezer_source(settings, store, clock=lambda: moment)
        chart = source.fetch(DAY)
        assert chart.rows[3].isrc is None or moment > at(DAY)
        return deezer_paths(emulator, "track")

    first = fetch(at(DAY))
    later_that_day = fetch(at(DAY, 18))
    next_day = fetch(at(DAY + datetime.timedelta(days=1)))
    two_days_on = fetch(at(DAY + datetime.timedelta(days=2)))
    three_days_on = fetch(at(DAY + datetime.timedelta(days=3)))

    assert len(first) == 100
    assert later_that_day == [str(busy)]
    assert next_day == [str(gone)]
    assert two_days_on == []  # the second miss waits two days
    assert three_days_on == [str(gone)]
    fact = store.get_source_track("deezer", str(songs[0].deezer_id))
    assert fact is not None and (fact.isrc, fact.learned_at, fact.retry_after) == (songs[0].isrc, at(DAY), None)
    store.close()


def test_a_run_after_a_day_of_deezer_errors_asks_again_for_exactly_the_songs_that_errored(
    simulation, emulator, world, caplog
):
    songs = world.chart(CHART_DAY)
    errored = sorted(str(song.deezer_id) for song in songs[10:15])
    emulator.inject("GET", rf"/deezer/track/({'|'.join(errored)})", status=200, body=BUSY, times=5)

    with caplog.at_level("INFO", logger="spotify_tophits.sources.base"):
        simulation.run(CHART_DAY)
    assert "deezer:worldwide: Deezer failed for 5 tracks; asked again next run" in caplog.messages
    emulator.reset_counts()
    simulation.run(CHART_DAY + datetime.timedelta(days=1), chart_day=CHART_DAY)

    assert sorted(deezer_paths(emulator, "track")) == errored


def test_every_source_that_talks_to_deezer_shares_one_client(environment, settings, tmp_path):
    write_config(environment, 'sources = ["deezer:worldwide", "apple:us", "deezer:france"]\n')
    store = open_store(tmp_path / "shared.db")

    first, apple, second = build_sources(
        load_settings(environment), store, requests.Session(), None, clock=lambda: at(DAY), sleep=no_sleep
    )

    assert isinstance(first, DeezerSource) and isinstance(apple, AppleSource) and isinstance(second, DeezerSource)
    assert first.client is apple.deezer is second.client
    store.close()


def apple_source(settings, store, client, moment=None):  # type: ignore[no-untyped-def]
    return AppleSource(
        name="apple:us",
        storefront="us",
        base_url=settings.endpoints["apple_rss"],
        itunes_url=settings.endpoints["itunes_api"],
        deezer=client,
        session=requests.Session(),
        store=store,
        minimum_rows=10,
        sleep=no_sleep,
        clock=lambda: moment or at(DAY),
    )


def test_apple_asks_deezer_for_the_main_artist_only_and_caches_no_error(settings, emulator, world, tmp_path):
    songs = world.chart(DAY, audience="apple")
    emulator.set_apple_chart("us", songs, at(DAY, 0))
    feed = requests.get(emulator.base_url + "apple/api/v2/us/music/most-played/100/songs.json").json()
    # Apple credits duets as "A & B" (a real feed: "Gunna & Future"); Deezer's artist filter knows only A.
    feed["feed"]["results"][0]["artistName"] += " & Future Guest"
    emulator.inject("GET", r"/apple/.*", status=200, body=feed, times=2)
    emulator.inject("GET", r"/deezer/search", status=200, body=BUSY, skip=1, times=2)
    emulator.reset_counts()
    store = open_store(tmp_path / "apple.db")
    client = DeezerClient(settings.endpoints["deezer_api"], requests.Session(), requests_per_5s=50, sleep=no_sleep)

    chart = apple_source(settings, store, client).fetch(DAY)
    queries = deezer_paths(emulator, "search")
    errored_fact = store.get_source_track("apple", str(APPLE_ID_BASE + songs[1].number))
    emulator.reset_counts()
    apple_source(settings, store, client, at(DAY, 18)).fetch(DAY)
    again = deezer_paths(emulator, "search")

    assert queries[0] == f'artist:"{songs[0].artists[0]}" track:"{songs[0].title}"'
    assert chart.rows[0].isrc == songs[0].isrc and chart.rows[0].artists == (f"{songs[0].artists[0]} & Future Guest",)
    assert [row.isrc for row in chart.rows[1:3]] == [None, None]
    assert again == queries[1:3]
    assert [row.explicit for row in chart.rows] == [song.explicit for song in songs]
    assert errored_fact is None
    store.close()


def test_a_first_day_default_blend_run_gets_no_deezer_quota_answer_under_the_real_limit(
    authorised, environment, emulator
):
    write_config(environment, 'timezone = "UTC"\nsources = ["deezer:worldwide", "apple:us"]\n[deezer]\n')
    time = VirtualTime()
    limit = emulator.limit_deezer(50, 5.0, clock=time.monotonic)
    emulator.publish_day(CHART_DAY)
    services = Services(
        load_settings(environment),
        retry_policy=RetryPolicy(time.sleep, max_retry_wait=30),
        sleep=time.sleep,
        monotonic=time.monotonic,
    )

    result = run_update(services, at(CHART_DAY))

    deezer_requests = emulator.count("GET /deezer")
    assert limit.refused == 0
    assert deezer_requests >= 300  # the chart, 100 track look-ups, and Apple's 100 searches + 100 look-ups
    assert [report.status for report in result.sources] == ["fetched", "fetched"]
    # Pacing made the run wait about one window per 50 requests, and no more.
    assert (deezer_requests // 50 - 1) * 5 <= sum(time.slept) <= (deezer_requests // 50 + 1) * 5.25
    store = services.open_state()
    missing = store.connection.execute("SELECT COUNT(*) FROM chart_rows WHERE isrc IS NULL").fetchone()[0]
    store.close()
    assert missing == 0
