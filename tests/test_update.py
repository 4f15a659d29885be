"""End-to-end `update` against the emulator: contents, rollover, request budgets, safety and faults."""

from __future__ import annotations

import datetime
import math
import re

import pytest
from conftest import WORLDWIDE, Simulation, TophitsRunner, at, no_sleep, write_config

from spotify_tophits.actions.update import run_update
from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.errors import ConfigError, ExitCode, RateLimitedError, SourceError, TemporaryError
from spotify_tophits.matching import primary_artist
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World
from spotify_tophits.services import Services
from spotify_tophits.store import open_store

DAY = datetime.date(2026, 11, 10)


def managed(settings, key: str, period: str | None = None):  # type: ignore[no-untyped-def]
    store = open_store(settings.paths.state_db)
    try:
        return store.get_playlist(key, period or key)
    finally:
        store.close()


def writes_to(emulator: Emulator, playlist_id: str) -> list[str]:
    return [
        method
        for method, path in emulator.request_log
        if method in ("PUT", "POST") and path.split("?")[0] == f"/v1/playlists/{playlist_id}/items"
    ]


def expected_daily(world: World, day: datetime.date, size: int = 50, cap: int = 3) -> list[str]:
    """An independent oracle for the daily list: the chart's Spotify tracks in order, capped per artist."""
    chosen: list[str] = []
    per_artist: dict[str, int] = {}
    for song in world.chart(day):
        artist = primary_artist(song.artists)
        if song.spotify_id is None or per_artist.get(artist, 0) >= cap:
            continue
        per_artist[artist] = per_artist.get(artist, 0) + 1
        chosen.append(song.spotify_id)
    return chosen[:size]


def test_update_first_run_creates_playlists_holding_the_ranked_lists(
    simulation: Simulation, authorised, emulator, world
):
    result = simulation.run(DAY)

    assert result.exit_code == 0
    assert [outcome.status for outcome in result.playlists] == ["created"] * 4
    daily = managed(authorised, "daily")
    assert emulator.playlists[daily.spotify_id].items == expected_daily(world, DAY)
    assert emulator.playlists[daily.spotify_id].name == "Daily Hits"
    monthly = managed(authorised, "monthly", "2026-11")
    assert emulator.playlists[monthly.spotify_id].name == "Monthly Hits — November 2026"
    assert emulator.playlists[monthly.spotify_id].public is False
    for playlist in emulator.user_playlists():
        assert len(playlist.items) == len(set(playlist.items))
    # A freshly created playlist is known to be empty: it is written without being read first.
    assert emulator.count("GET /playlists/{id}/items") == 0
    assert emulator.count("POST /me/playlists") == 4


def test_update_repeat_run_on_the_same_day_makes_no_writes_reads_or_searches(simulation: Simulation, emulator):
    simulation.run(DAY)
    emulator.reset_counts()

    result = simulation.run(DAY)

    assert result.exit_code == 0
    assert {outcome.status for outcome in result.playlists} == {"unchanged"}
    assert emulator.count("PUT") == emulator.count("POST") == emulator.count("DELETE") == 0
    assert emulator.count("GET /playlists/{id}/items") == 0
    assert emulator.count("GET /search") == 0
    assert emulator.count("GET /deezer") == 0
    # The snapshot check is a single listing of the user's playlists.
    assert emulator.requests == {"GET /me/playlists": 1}


@pytest.mark.slow
def test_update_writes_a_changed_playlist_with_one_put_and_one_post_per_further_hundred(
    simulation: Simulation, authorised, emulator
):
    simulation.run_days(DAY - datetime.timedelta(days=40), 40)
    emulator.reset_counts()

    simulation.run(DAY)

    for key, period in (("daily", "daily"), ("monthly", "2026-11"), ("yearly", "2026")):
        record = managed(authorised, key, period)
        size = len(emulator.playlists[record.spotify_id].items)
        assert writes_to(emulator, record.spotify_id) == ["PUT"] + ["POST"] * (math.ceil(size / 100) - 1), key
    yearly = managed(authorised, "yearly", "2026")
    assert len(emulator.playlists[yearly.spotify_id].items) == 250
    assert not any(re.search(r"/playlists/[^/]+/tracks", path) for _, path in emulator.request_log)


def test_update_never_searches_a_matched_row_again_and_retries_misses_with_back_off(
    simulation: Simulation, emulator, world
):
    first = simulation.run(DAY)
    misses = len(first.unmatched)
    assert misses == sum(1 for song in world.chart(DAY) if song.spotify_id is None) > 0
    # The same chart published again on the following days: every row is known already.
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))
    searches = []
    for offset in (1, 2, 3):
        emulator.reset_counts()
        result = run_update(simulation.services, at(DAY + datetime.timedelta(days=offset)))
        assert result.rows_new == 100
        assert emulator.count("GET /deezer/track") == 0
        assert emulator.count("GET /deezer/playlist") == 1
        searches.append(emulator.count("GET /search"))
    # Misses cost an ISRC and a text search again after 1 day, then wait 2 days.
    assert searches == [2 * misses, 0, 2 * misses]


@pytest.mark.slow
def test_update_over_45_days_rolls_over_month_and_year_and_keeps_final_playlists(
    simulation: Simulation, authorised, emulator
):
    first = datetime.date(2026, 12, 1)
    results = simulation.run_days(first, 45)

    assert all(result.exit_code == 0 for result in results)
    store = open_store(authorised.paths.state_db)
    records = {(record.key, record.period): record for record in store.managed_playlists()}
    store.close()
    assert set(records) == {
        ("daily", "daily"),
        ("weekly", "weekly"),
        ("monthly", "2026-12"),
        ("monthly", "2027-01"),
        ("yearly", "2026"),
        ("yearly", "2027"),
    }
    assert records[("monthly", "2026-12")].status == "final"
    assert records[("yearly", "2026")].status == "final"
    assert records[("monthly", "2027-01")].status == "active"
    december = emulator.playlists[records[("monthly", "2026-12")].spotify_id]
    assert december.name == "Monthly Hits — December 2026"
    assert december.description.startswith("Final: the top 200 of December 2026")
    assert len(december.items) == 200
    assert emulator.playlists[records[("yearly", "2027")].spotify_id].name == "Yearly Hits — 2027"
    # The finalised playlist stays in the library and is never written again after its rollover.
    rollover = next(result for result in results if result.today == datetime.date(2027, 1, 1))
    assert [o.status for o in rollover.playlists if o.period == "2026-12"] == ["finalised"]
    later = [o for result in results if result.today > datetime.date(2027, 1, 1) for o in result.playlists]
    assert all(o.period not in ("2026-12", "2026") for o in later)
    for playlist in emulator.user_playlists():
        assert len(playlist.items) == len(set(playlist.items))


def test_update_catches_up_after_days_of_downtime_across_a_month_end(simulation: Simulation, authorised, emulator):
    simulation.run_days(datetime.date(2026, 11, 20), 5)
    # The machine was off from Nov 25 to Dec 2.
    result = simulation.run(datetime.date(2026, 12, 3))

    statuses = {(o.key, o.period): o.status for o in result.playlists}
    assert statuses[("monthly", "2026-11")] == "finalised"
    assert statuses[("monthly", "2026-12")] == "created"


def test_update_with_every_source_failing_exits_5_and_touches_no_playlist(simulation: Simulation, emulator):
    simulation.run(DAY)
    emulator.reset_counts()
    emulator.inject("GET", r"/deezer/playlist/\d+/tracks", status=503, times=10)

    with pytest.raises(SourceError) as raised:
        run_update(simulation.services, at(DAY + datetime.timedelta(days=1)))

    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert "every chart source failed" in raised.value.message
    assert emulator.count("PUT") == emulator.count("POST") == 0


def test_update_with_one_of_two_sources_failing_updates_from_the_other(
    simulation: Simulation, environment, emulator, sleeps, tmp_path
):
    write_config(environment, f'sources = ["deezer:worldwide", "csv:{tmp_path}/missing.csv"]\n')
    services = Services(load_settings(environment), sleep=no_sleep)
    simulation.publish(DAY)

    result = run_update(services, at(DAY))

    assert result.exit_code == 0
    assert [(report.name, report.status) for report in result.sources] == [
        (f"csv:{tmp_path}/missing.csv", "failed"),
        ("deezer:worldwide", "fetched"),
    ]
    assert any("missing.csv" in warning for warning in result.warnings)
    assert {outcome.status for outcome in result.playlists} == {"created"}


def test_update_refuses_to_shrink_a_playlist_below_half_unless_forced(
    simulation: Simulation, authorised, emulator, world
):
    simulation.run(DAY)
    before = list(emulator.playlists[managed(authorised, "daily").spotify_id].items)
    next_day = DAY + datetime.timedelta(days=1)
    emulator.set_deezer_chart(WORLDWIDE, world.chart(next_day)[:20])

    refused = run_update(simulation.services, at(next_day))

    daily = next(o for o in refused.playlists if o.key == "daily")
    assert refused.exit_code == 6
    assert daily.status == "refused"
    assert "--force" in daily.message
    assert emulator.playlists[managed(authorised, "daily").spotify_id].items == before

    forced = run_update(simulation.services, at(next_day), force=True)
    assert forced.exit_code == 0
    assert len(emulator.playlists[managed(authorised, "daily").spotify_id].items) < 25


def test_update_write_losing_a_post_answer_re_reads_and_converges_in_the_same_run(
    simulation: Simulation, authorised, emulator
):
    simulation.run_days(DAY - datetime.timedelta(days=3), 3)
    monthly_id = managed(authorised, "monthly", "2026-11").spotify_id
    # The second write (a POST) of the monthly list is applied by Spotify, but its answer is lost.
    emulator.inject_drop("POST", rf"/v1/playlists/{monthly_id}/items", after_applying=True)
    emulator.reset_counts()

    result = simulation.run(DAY)

    assert result.exit_code == 0
    record = managed(authorised, "monthly", "2026-11")
    items = emulator.playlists[monthly_id].items
    assert len(record.contents) > 100
    assert items == list(record.contents)
    assert len(items) == len(set(items))
    # Never a blind retry: the PUT and the lost POST, then one re-read shows the POST was applied.
    assert writes_to(emulator, monthly_id) == ["PUT", "POST"]
    assert [path.split("?")[0] for method, path in emulator.request_log if method == "GET"].count(
        f"/v1/playlists/{monthly_id}/items"
    ) == 3  # 101–200 tracks: pages of 50


def test_update_write_and_re_read_both_failing_exits_5_then_the_next_run_converges_without_duplicates(
    simulation: Simulation, authorised, emulator
):
    simulation.run_days(DAY - datetime.timedelta(days=3), 3)
    monthly_id = managed(authorised, "monthly", "2026-11").spotify_id
    emulator.inject_drop("POST", rf"/v1/playlists/{monthly_id}/items", after_applying=True)
    emulator.inject_drop("GET", rf"/v1/playlists/{monthly_id}/items", times=4)

    with pytest.raises(TemporaryError) as raised:
        simulation.run(DAY)
    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert managed(authorised, "monthly", "2026-11").last_error == raised.value.message
    status = TophitsRunner(at(DAY, 7)).invoke(app, ["status"])
    assert f"last attempt failed: {raised.value.message}" in status.output

    result = simulation.run(DAY)

    assert result.exit_code == 0
    record = managed(authorised, "monthly", "2026-11")
    items = emulator.playlists[monthly_id].items
    assert items == list(record.contents)
    assert len(items) == len(set(items)) > 100
    assert record.last_error is None


def test_update_recreates_a_playlist_unfollowed_behind_its_back(simulation: Simulation, authorised, emulator):
    simulation.run(DAY)
    old_id = managed(authorised, "weekly").spotify_id
    emulator.unfollow(old_id)

    result = simulation.run(DAY + datetime.timedelta(days=1))

    weekly = next(o for o in result.playlists if o.key == "weekly")
    assert weekly.status == "recreated"
    assert any("recreated" in warning for warning in result.warnings)
    new_id = managed(authorised, "weekly").spotify_id
    assert new_id != old_id
    assert emulator.playlists[new_id].items == list(managed(authorised, "weekly").contents)


def test_update_after_a_hand_edit_reads_the_playlist_and_restores_the_target(
    simulation: Simulation, authorised, emulator
):
    simulation.run(DAY)
    daily_id = managed(authorised, "daily").spotify_id
    emulator.edit_playlist(daily_id, emulator.playlists[daily_id].items[:10])
    emulator.reset_counts()

    simulation.run(DAY)

    assert emulator.playlists[daily_id].items == list(managed(authorised, "daily").contents)
    assert writes_to(emulator, daily_id) == ["PUT"]
    assert emulator.count("GET /playlists/{id}/items") == 1


def test_update_dry_run_writes_nothing_to_spotify_and_leaves_the_state_db_byte_identical(
    simulation: Simulation, authorised, emulator
):
    simulation.run(DAY)
    emulator.reset_counts()
    state = authorised.paths.state_db
    before = state.read_bytes()

    result = simulation.run(DAY + datetime.timedelta(days=1), dry_run=True)

    assert state.read_bytes() == before
    wal = state.with_name(state.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    # It read the new chart and searched its new rows, and says how many searches that took.
    assert result.rows_new == 100 and result.searches == emulator.count("GET /search") > 0
    assert result.dry_run and result.run_id is None
    assert emulator.count("PUT") == emulator.count("POST") == 0
    assert [o.status for o in result.playlists if o.key == "daily"] == ["would be written"]


def test_update_with_a_long_rate_limit_exits_5_and_the_next_run_makes_no_request(simulation: Simulation, emulator):
    simulation.publish(DAY)
    emulator.inject_rate_limit(r"/v1/search", 50000, quota=True)

    with pytest.raises(RateLimitedError) as raised:
        run_update(simulation.services, at(DAY))
    assert "13 h 53 min" in raised.value.message
    assert "quota" in raised.value.message

    emulator.reset_counts()
    with pytest.raises(RateLimitedError) as again:
        run_update(simulation.services, at(DAY, hour=7))
    assert "retry after 12 h 53 min" in again.value.message
    assert emulator.count("") == 0


def test_update_refuses_a_spotify_owned_playlist_id_in_the_config(environment):
    write_config(environment, '[playlists.daily]\nspotify_id = "37i9dQZF1DXcBWIGoYBM5M"\n')

    with pytest.raises(ConfigError) as raised:
        load_settings(environment)

    assert "Spotify-owned editorial playlist" in raised.value.message
    assert raised.value.exit_code == ExitCode.CONFIG


def test_update_refuses_a_configured_playlist_id_that_is_not_ours(simulation: Simulation, environment, emulator):
    emulator.add_playlist("0000000000000000000000", "Someone else's", "another-user", [])
    write_config(environment, '[playlists.daily]\nspotify_id = "0000000000000000000000"\n')
    services = Services(load_settings(environment), sleep=no_sleep)
    simulation.publish(DAY)

    with pytest.raises(ConfigError) as raised:
        run_update(services, at(DAY), only=["daily"])

    assert "is not a playlist in your library that you own" in raised.value.message
    assert emulator.count("PUT") == 0


def test_update_adopts_a_configured_playlist_of_ours(simulation: Simulation, environment, emulator, world):
    mine = emulator.add_playlist("1111111111111111111111", "My chart", emulator.user_id, [])
    write_config(environment, '[playlists.daily]\nspotify_id = "1111111111111111111111"\n')
    services = Services(load_settings(environment), sleep=no_sleep)
    simulation.publish(DAY)

    run_update(services, at(DAY), only=["daily"])

    assert mine.items == expected_daily(world, DAY)
    assert mine.name == "Daily Hits"
    assert emulator.count("POST /me/playlists") == 0
