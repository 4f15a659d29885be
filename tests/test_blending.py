"""More sources (Apple, Spotify's weekly chart, your own top tracks), blending, weights, overrides, source health."""

from __future__ import annotations

import datetime

import pytest
import requests
from conftest import CHART_DAY, WORLDWIDE, Simulation, TophitsRunner, at, no_sleep, write_config

from spotify_tophits.actions.status import collect_status
from spotify_tophits.actions.update import run_update
from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.errors import ConfigError, ExitCode, SourceError
from spotify_tophits.sandbox.charts import APPLE_ID_BASE
from spotify_tophits.services import Services
from spotify_tophits.sources.apple import AppleSource
from spotify_tophits.sources.deezer_client import DeezerClient
from spotify_tophits.sources.spotify_charts import SpotifyChartsSource
from spotify_tophits.store import open_store

DAY = datetime.date(2026, 11, 10)
runner = TophitsRunner(at(DAY, 7))


def apple(settings, store):  # type: ignore[no-untyped-def]
    session = requests.Session()
    return AppleSource(
        name="apple:us",
        storefront="us",
        base_url=settings.endpoints["apple_rss"],
        itunes_url=settings.endpoints["itunes_api"],
        deezer=DeezerClient(settings.endpoints["deezer_api"], session, requests_per_5s=10_000, sleep=no_sleep),
        session=session,
        store=store,
        minimum_rows=10,
        sleep=no_sleep,
        clock=lambda: at(DAY),
    )


@pytest.fixture
def blended(simulation: Simulation, environment, emulator, world):  # type: ignore[no-untyped-def]
    write_config(environment, 'sources = ["deezer:worldwide", "apple:us"]\n')
    simulation.services = Services(load_settings(environment), simulation.services.retry_policy, sleep=no_sleep)
    return simulation


def test_apple_rows_get_durations_in_one_lookup_and_isrcs_from_the_deezer_oracle(settings, emulator, world, tmp_path):
    songs = world.chart(DAY, audience="apple")
    emulator.set_apple_chart("us", songs, at(DAY, 0))
    store = open_store(tmp_path / "apple.db")

    chart = apple(settings, store).fetch(DAY)

    assert (chart.source, chart.chart_id, len(chart.rows)) == ("apple:us", "most-played-us", 100)
    first = chart.rows[0]
    assert (first.title.split(" (feat.")[0], first.artists, first.source_track_id) == (
        songs[0].title,
        songs[0].artists[:1],
        str(APPLE_ID_BASE + songs[0].number),
    )
    assert first.duration_ms == songs[0].duration_ms
    assert first.isrc == songs[0].isrc
    assert emulator.count("GET /itunes/lookup") == 1
    assert emulator.count("GET /deezer/search") == 100
    emulator.reset_counts()
    apple(settings, store).fetch(DAY)
    assert emulator.count("GET /itunes") == emulator.count("GET /deezer") == 0
    store.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sat, 28 Nov 2026 03:01:23 +0000", datetime.date(2026, 11, 28)),
        ("2026-11-28T03:01:23Z", datetime.date(2026, 11, 28)),
        ("yesterday-ish", None),
    ],
)
def test_apple_feed_dates_in_both_forms(text, expected):
    from spotify_tophits.sources.apple import feed_date

    assert feed_date(text) == expected


def test_a_stale_or_reshaped_apple_feed_is_a_source_error(settings, emulator, world, tmp_path):
    store = open_store(tmp_path / "apple.db")
    emulator.set_apple_chart("us", world.chart(DAY), at(DAY - datetime.timedelta(days=9), 0))
    with pytest.raises(SourceError) as stale:
        apple(settings, store).fetch(DAY)
    assert "stale, skipped" in stale.value.message
    emulator.inject("GET", r"/apple/.*", status=200, body={"feed": {"entries": []}})
    with pytest.raises(SourceError) as reshaped:
        apple(settings, store).fetch(DAY)
    assert "no feed.results list" in reshaped.value.message
    store.close()


def test_spotify_weekly_chart_carries_track_ids_and_its_own_date(settings, emulator, world):
    emulator.set_spotify_weekly(datetime.date(2026, 11, 5), world.chart(DAY, audience="spotify"))
    source = SpotifyChartsSource(
        name="spotify-charts:global-weekly",
        base_url=settings.endpoints["spotify_charts"],
        session=requests.Session(),
        minimum_rows=10,
        sleep=no_sleep,
    )

    chart = source.fetch(DAY)

    assert chart.chart_date == datetime.date(2026, 11, 5)
    assert len(chart.rows) == 50
    expected = [song.spotify_id for song in world.chart(DAY, audience="spotify") if song.spotify_id][:50]
    assert [row.spotify_id for row in chart.rows] == expected
    emulator.inject("GET", r"/spotify-charts/.*", status=200, body={"charts": []})
    with pytest.raises(SourceError) as changed:
        source.fetch(DAY)
    assert "no chartEntryViewResponses in the answer (the endpoint changed)" in changed.value.message


def test_me_top_adds_your_own_top_tracks_with_one_request(simulation: Simulation, environment, emulator, world):
    write_config(environment, 'sources = ["deezer:worldwide", "me-top"]\n')
    services = Services(load_settings(environment), sleep=no_sleep)
    mine = [song.spotify_id for song in world.songs[:30] if song.spotify_id]
    emulator.top_tracks = mine
    simulation.publish(DAY)

    result = run_update(services, at(DAY))

    assert [(r.name, r.status, r.rows, r.matched) for r in result.sources] == [
        ("deezer:worldwide", "fetched", 100, result.sources[0].matched),
        ("me-top", "fetched", len(mine), len(mine)),
    ]
    assert emulator.count("GET /me/top/tracks") == 1


def test_rows_of_both_sources_for_one_track_are_stored_against_that_track(blended, emulator, world, authorised):
    songs = [song for song in world.songs if song.spotify_id][:120]
    both, deezer_only = songs[59], songs[40]
    deezer_chart = songs[:100]
    apple_chart = (
        [s for s in songs[100:120]] + [s for s in songs[:100] if s is not deezer_only and s is not both][:79] + [both]
    )
    emulator.set_deezer_chart(WORLDWIDE, deezer_chart)
    emulator.set_apple_chart("us", apple_chart, at(DAY, 0))

    result = run_update(blended.services, at(DAY))

    assert [r.status for r in result.sources] == ["fetched", "fetched"]
    daily = open_store(authorised.paths.state_db).get_playlist("daily", "daily").contents
    store = open_store(authorised.paths.state_db)
    rows = store.ranked_rows(DAY, DAY)
    store.close()
    assert {row.source for row in rows if row.spotify_id == both.spotify_id} == {"deezer:worldwide", "apple:us"}
    assert {row.source for row in rows if row.spotify_id == deezer_only.spotify_id} == {"deezer:worldwide"}
    assert len(daily) == 50


def test_a_track_on_both_charts_outranks_a_better_single_chart_position(blended, emulator, world, authorised):
    songs = [song for song in world.songs if song.spotify_id]
    pool = [songs[i] for i in range(0, 400, 3)][:100]  # varied artists
    x, y = pool[69], pool[49]  # Deezer: x at rank 70 (31 pts), y at rank 50 (51 pts)
    # Apple: x at rank 1 (100 points), y absent.
    apple_chart = [x, *[s for s in pool[::-1] if s is not x and s is not y][:99]]
    emulator.set_deezer_chart(WORLDWIDE, pool)
    emulator.set_apple_chart("us", apple_chart, at(DAY, 0))

    run_update(blended.services, at(DAY))

    weekly = list(open_store(authorised.paths.state_db).get_playlist("weekly", "weekly").contents)
    assert weekly.index(x.spotify_id) < weekly.index(y.spotify_id)


def test_source_weights_change_the_blend(simulation: Simulation, environment, emulator, world, authorised):
    songs = [song for song in world.songs if song.spotify_id]
    pool = [songs[i] for i in range(0, 400, 3)][:100]
    emulator.set_deezer_chart(WORLDWIDE, pool)
    emulator.set_apple_chart("us", pool[::-1], at(DAY, 0))
    write_config(environment, 'sources = ["deezer:worldwide", "apple:us"]\n[weights]\n"apple:us" = 0.25\n')

    run_update(Services(load_settings(environment), sleep=no_sleep), at(DAY))

    weekly = list(open_store(authorised.paths.state_db).get_playlist("weekly", "weekly").contents)
    # With equal weights the two reversed charts would tie everything; Deezer's order wins at 4:1.
    assert weekly[:5] == [song.spotify_id for song in pool[:5]]


def test_a_failing_source_leaves_the_blend_to_the_other_and_becomes_broken_after_three_days(
    blended, emulator, world, authorised
):
    for offset in range(4):
        day = DAY + datetime.timedelta(days=offset)
        emulator.set_deezer_chart(WORLDWIDE, world.chart(day))
        emulator.inject("GET", r"/apple/.*", status=503, times=3)
        result = run_update(blended.services, at(day))
        assert result.exit_code == 0
        assert [r.status for r in result.sources] == ["failed", "fetched"]
        assert {o.tracks for o in result.playlists if o.key == "daily"} == {50}

    report = collect_status(blended.services.settings, at(DAY + datetime.timedelta(days=3), 8))
    broken = [alert for alert in report.alerts if alert.code == "source-broken"]
    assert len(broken) == 1
    assert broken[0].message.startswith("source apple:us has failed 4 times in a row")


def test_demo_style_blend_fills_the_playlists_from_both_sources(blended, emulator, world, authorised):
    for offset in range(3):
        day = DAY + datetime.timedelta(days=offset)
        emulator.publish_day(day)
        result = run_update(blended.services, at(day))
        assert [(r.name, r.status) for r in result.sources] == [
            ("deezer:worldwide", "fetched"),
            ("apple:us", "fetched"),
        ]
    store = open_store(authorised.paths.state_db)
    rows = store.ranked_rows(DAY, DAY + datetime.timedelta(days=2))
    store.close()
    assert {row.source for row in rows} == {"deezer:worldwide", "apple:us"}


# -- overrides -------------------------------------------------------------------------------------------------
def test_overrides_pin_a_missing_song_and_ban_a_track_and_an_artist(
    simulation: Simulation, environment, emulator, world, authorised
):
    chart = world.chart(DAY)
    missing = next(song for song in chart if song.spotify_id is None)
    pinned_to = next(song for song in world.songs if song.spotify_id and song not in chart)
    banned_track = chart[0]
    banned_artist = next(song for song in chart[1:] if song.spotify_id and song.artists[0] != banned_track.artists[0])
    (authorised.paths.config_dir / "overrides.toml").write_text(
        f'[[pin]]\nartist = "{missing.artists[0]}"\ntitle = "{missing.title}"\nspotify_id = "{pinned_to.spotify_id}"\n'
        f'[ban]\ntracks = ["{banned_track.spotify_id}"]\nartists = ["{banned_artist.artists[0]}"]\n'
    )
    simulation.publish(DAY)

    outcome = run_update(simulation.services, at(DAY))

    daily = list(open_store(authorised.paths.state_db).get_playlist("daily", "daily").contents)
    assert pinned_to.spotify_id in daily
    assert banned_track.spotify_id not in daily
    banned_ids = {song.spotify_id for song in world.songs if song.artists[0] == banned_artist.artists[0]}
    assert not banned_ids & set(daily)
    assert len(outcome.overrides) == 3


def test_update_verbose_lists_the_overrides(authorised, emulator, world):
    (authorised.paths.config_dir / "overrides.toml").write_text('[ban]\nartists = ["Nobody Famous"]\n')
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))

    result = runner.invoke(app, ["-v", "update"])

    assert result.exit_code == 0, result.output
    assert "overrides applied (overrides.toml):\n  ban artist nobody famous" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[pin]]\nartist = 'A'\ntitle = 'T'\n", "pin #1 needs exactly artist, title and spotify_id"),
        (
            "[[pin]]\nartist = 'A'\ntitle = 'T'\nspotify_id = 'short'\n",
            "pin #1: spotify_id 'short' is not a Spotify track id",
        ),
        ("[ban]\ntracks = ['nope']\n", "ban.tracks: 'nope' is not a Spotify track id"),
        ("[banana]\n", "unknown section 'banana'"),
        ("[ban\n", "not valid TOML"),
    ],
)
def test_a_bad_overrides_file_exits_3_naming_the_entry(authorised, text, message):
    (authorised.paths.config_dir / "overrides.toml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        run_update(Services(authorised, sleep=no_sleep), at(DAY))
    assert raised.value.exit_code == ExitCode.CONFIG
    assert message in raised.value.message
