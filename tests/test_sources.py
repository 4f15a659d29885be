"""Chart sources: Deezer through the emulator, CSV files in both formats, and their failures."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
import requests
from conftest import WORLDWIDE, at, no_sleep

from spotify_tophits.errors import ExitCode, SourceError
from spotify_tophits.sources.base import Pacer
from spotify_tophits.sources.csvfile import CsvSource, parse_csv
from spotify_tophits.sources.deezer import DeezerSource
from spotify_tophits.sources.deezer_client import DeezerClient
from spotify_tophits.store import open_store

DAY = datetime.date(2026, 11, 10)


def deezer_source(settings, store, *, sleep=no_sleep, clock=None, requests_per_5s=10_000, monotonic=time.monotonic):  # type: ignore[no-untyped-def]
    client = DeezerClient(
        settings.endpoints["deezer_api"],
        requests.Session(),
        requests_per_5s=requests_per_5s,
        sleep=sleep,
        monotonic=monotonic,
    )
    return DeezerSource(
        name="deezer:worldwide",
        playlist_id=WORLDWIDE,
        client=client,
        store=store,
        minimum_rows=10,
        clock=clock or (lambda: at(DAY)),
    )


@pytest.fixture
def deezer(settings, emulator, tmp_path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "deezer.db")
    yield deezer_source(settings, store)
    store.close()


def test_deezer_chart_rows_carry_rank_title_artist_duration_and_isrc(deezer, emulator, world):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))

    chart = deezer.fetch(DAY)

    songs = world.chart(DAY)
    assert (chart.source, chart.chart_id, chart.chart_date, len(chart.rows)) == (
        "deezer:worldwide",
        str(WORLDWIDE),
        DAY,
        100,
    )
    first = chart.rows[0]
    assert (first.rank, first.title, first.artists[0], first.isrc) == (
        1,
        songs[0].title,
        songs[0].artists[0],
        songs[0].isrc,
    )
    assert first.duration_ms == songs[0].duration_ms // 1000 * 1000
    assert emulator.count("GET /deezer/track") == 100
    assert emulator.count("GET /deezer/playlist") == 1


def test_deezer_looks_each_track_up_once(deezer, emulator, world):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))
    deezer.fetch(DAY)
    emulator.reset_counts()

    deezer.fetch(DAY)

    assert emulator.count("GET /deezer/track") == 0


def test_deezer_error_with_http_200_is_a_source_error(deezer, emulator):
    emulator.inject(
        "GET",
        r"/deezer/playlist/.*",
        status=200,
        body={"error": {"type": "DataException", "message": "no data", "code": 800}},
    )

    with pytest.raises(SourceError) as raised:
        deezer.fetch(DAY)

    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert "no data" in raised.value.message


def test_deezer_short_chart_is_refused(deezer, emulator, world):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY)[:5])

    with pytest.raises(SourceError) as raised:
        deezer.fetch(DAY)

    assert "fewer than the minimum 10" in raised.value.message


def test_deezer_malformed_row_is_refused(deezer, emulator):
    emulator.inject("GET", r"/deezer/playlist/.*", status=200, body={"data": [{"id": 1, "title": "x"}], "total": 1})

    with pytest.raises(SourceError) as raised:
        deezer.fetch(DAY)

    assert "row 1 is missing id/title/artist" in raised.value.message


def test_pacer_keeps_at_most_n_requests_in_the_window():
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    pacer = Pacer(3, 5.0, sleep=sleep, clock=lambda: clock[0])
    for _ in range(7):
        pacer.wait()
        clock[0] += 0.5
    assert sleeps == [3.5, 3.5]


SPOTIFY_CSV = "\ufeffrank,uri,artist_names,track_name,source,peak_rank,previous_rank,days_on_chart,streams\n" + "".join(
    f'{rank},spotify:track:{str(rank).zfill(22)},"Artist {rank}, Guest",Song {rank},Label,1,2,3,1000\n'
    for rank in range(1, 13)
)


def test_csv_in_spotify_charts_format_with_a_bom(tmp_path: Path):
    path = tmp_path / "regional-global-daily-2026-11-27.csv"
    path.write_text(SPOTIFY_CSV, encoding="utf-8")

    chart = CsvSource(name="csv", location=str(path), session=requests.Session(), minimum_rows=10).fetch(DAY)

    assert chart.chart_date == datetime.date(2026, 11, 27)
    assert chart.rows[0].spotify_id == "0" * 21 + "1"
    assert chart.rows[0].artists == ("Artist 1", "Guest")
    assert len(chart.rows) == 12


def test_csv_in_plain_format_with_isrc():
    text = "rank,artist,title,isrc\n" + "".join(f"{r},A{r},T{r},QZ{r:010d}\n" for r in range(1, 11))
    rows = parse_csv("csv", text, 10)
    assert (rows[9].rank, rows[9].title, rows[9].isrc, rows[9].spotify_id) == (10, "T10", "QZ0000000010", None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rank,who,what\n1,a,b\n", "header must have rank,uri,artist_names,track_name or rank,artist,title"),
        ("rank,artist,title\n1,a,b\nx,c,d\n", "line 3: rank 'x' is not a whole number"),
        ("rank,artist,title\n1,a,\n", "line 2: title and artist must not be empty"),
        ("rank,uri,artist_names,track_name\n1,not-a-uri,a,b\n", "line 2: 'not-a-uri' is not a Spotify track URI"),
        ("rank,artist,title\n1,a,b\n1,c,d\n", "ranks are repeated"),
    ],
)
def test_malformed_csv_names_the_line(text, message):
    with pytest.raises(SourceError) as raised:
        parse_csv("csv:x", text, 1)
    assert message in raised.value.message


def test_csv_that_is_not_utf8_is_refused(tmp_path: Path):
    path = tmp_path / "chart.csv"
    path.write_bytes("rank,artist,title\n1,Bj\xf6rk,x\n".encode("latin-1"))

    with pytest.raises(SourceError) as raised:
        CsvSource(name="csv", location=str(path), session=requests.Session(), minimum_rows=1).fetch(DAY)

    assert "save the file as UTF-8" in raised.value.message


def test_a_source_retries_a_5xx_twice_waiting_through_the_given_sleep(settings, emulator, tmp_path):
    emulator.inject("GET", r"/deezer/playlist/.*", status=503, times=100)
    waits: list[float] = []
    store = open_store(tmp_path / "retries.db")

    with pytest.raises(SourceError) as raised:
        deezer_source(settings, store, sleep=waits.append).fetch(DAY)

    assert "unreachable (HTTP 503)" in raised.value.message
    assert waits == [0.2, 0.4]
    assert emulator.count("GET /deezer/playlist") == 3
    store.close()


def test_deezer_quota_error_waits_one_window_and_retries(settings, emulator, world, tmp_path):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))
    emulator.inject(
        "GET", r"/deezer/playlist/.*", status=200, body={"error": {"message": "Quota limit exceeded", "code": 4}}
    )
    waits: list[float] = []
    store = open_store(tmp_path / "quota.db")
    source = deezer_source(settings, store, sleep=waits.append)

    chart = source.fetch(DAY)

    assert len(chart.rows) == 100
    assert waits == [5]
    assert emulator.count("GET /deezer/playlist") == 2
    store.close()
