"""Unattended days (issue 19): downtime, lost answers, token blips, absurd Retry-After, a service that
disappears. Each runs the real update pipeline against the emulator through the real spotipy stack."""

from __future__ import annotations

import datetime
import json

import pytest
from conftest import WORLDWIDE, Simulation, TophitsRunner, at, fixed_clock

from spotify_tophits.actions.update import run_update
from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.errors import ExitCode, RateLimitedError, TemporaryError
from spotify_tophits.playlists import PlaylistSync
from spotify_tophits.retry import RetryBudgetSpent
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import CatalogTrack, stable_id
from spotify_tophits.services import Services
from spotify_tophits.store import open_store

DAY = datetime.date(2026, 11, 10)


def records(settings):  # type: ignore[no-untyped-def]
    store = open_store(settings.paths.state_db)
    try:
        return {(record.key, record.period): record for record in store.managed_playlists()}
    finally:
        store.close()


def names(emulator: Emulator) -> list[str]:
    return sorted(playlist.name for playlist in emulator.user_playlists())


# -- 1: the machine was off for a while -------------------------------------------------------------------------
def test_a_weekly_window_without_chart_days_keeps_the_playlist_and_exits_0(
    simulation: Simulation, authorised, emulator
):
    # Runs on Mon 2 – Sun 8 Nov, then the machine is off from 9 Nov to Wed 18 Nov: last week had no chart day.
    simulation.run_days(datetime.date(2026, 11, 2), 7)
    weekly = records(authorised)[("weekly", "weekly")]
    before = list(emulator.playlists[weekly.spotify_id].items)
    assert len(before) > 50
    emulator.reset_counts()

    result = simulation.run(datetime.date(2026, 11, 18))

    assert result.exit_code == 0
    outcome = next(o for o in result.playlists if o.key == "weekly")
    assert outcome.status == "kept"
    assert outcome.message == (
        "no chart days for 2026-11-09 – 2026-11-15: tophits was not running; the playlist is left as it is"
    )
    assert emulator.playlists[weekly.spotify_id].items == before
    assert any("no chart days for 2026-11-09" in warning for warning in result.warnings)
    status = TophitsRunner(at(datetime.date(2026, 11, 18), 7)).invoke(app, ["status", "--check"])
    assert status.exit_code == 1  # WARNING, not CRITICAL
    assert "no chart days for 2026-11-09 – 2026-11-15: tophits was not running" in status.output

    # The next window with chart days (the week of 16 Nov, held from the 18th on) updates normally.
    for day in (19, 20, 21, 22):
        simulation.run(datetime.date(2026, 11, day))
    following = simulation.run(datetime.date(2026, 11, 23))
    assert next(o for o in following.playlists if o.key == "weekly").status == "written"
    assert following.exit_code == 0


def test_a_weekly_kept_after_weeks_of_downtime_is_a_warning_in_status_not_a_stale_critical(
    simulation: Simulation, authorised, emulator
):
    # Runs on Mon 2 – Sun 8 Nov, then the machine is off until Wed 25 Nov: the weekly list was last
    # written on the 8th (17 days, over twice its cadence) and last week (16–22 Nov) has no chart day.
    simulation.run_days(datetime.date(2026, 11, 2), 7)

    result = simulation.run(datetime.date(2026, 11, 25))

    assert result.exit_code == 0
    assert next(o for o in result.playlists if o.key == "weekly").status == "kept"
    status = TophitsRunner(at(datetime.date(2026, 11, 25), 7)).invoke(app, ["status", "--check"])
    assert status.exit_code == 1  # WARNING: the machine was off, nothing is broken now
    assert "no chart days for 2026-11-16 – 2026-11-22" in status.output
    assert "last changed" not in status.output


def test_a_gap_over_the_year_end_finalises_december_and_the_year_and_starts_new_ones(
    simulation: Simulation, authorised, emulator
):
    simulation.run_days(datetime.date(2026, 12, 14), 5)
    # Off from 19 December to 11 January.
    result = simulation.run(datetime.date(2027, 1, 12))

    assert result.exit_code == 0
    statuses = {(o.key, o.period): o.status for o in result.playlists}
    assert statuses[("monthly", "2026-12")] == "finalised"
    assert statuses[("yearly", "2026")] == "finalised"
    assert statuses[("monthly", "2027-01")] == "created"
    assert statuses[("yearly", "2027")] == "created"
    # The previous Mon–Sun (4–10 January) had no chart day: the weekly list stays.
    assert statuses[("weekly", "weekly")] == "kept"
    held = records(authorised)
    assert held[("monthly", "2026-12")].status == held[("yearly", "2026")].status == "final"
    assert names(emulator).count("Monthly Hits — December 2026") == 1
    assert names(emulator).count("Yearly Hits — 2026") == 1


def test_a_real_shrink_from_data_we_have_is_still_refused(simulation: Simulation, authorised, emulator, world):
    simulation.run(DAY)
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY + datetime.timedelta(days=1))[:20])

    refused = run_update(simulation.services, at(DAY + datetime.timedelta(days=1)))

    assert refused.exit_code == 6
    assert [o.status for o in refused.playlists if o.key == "daily"] == ["refused"]


# -- 2 and 3: the answer to a create is lost ----------------------------------------------------------------------
def test_a_lost_create_answer_is_adopted_in_the_same_run_without_a_second_playlist(
    simulation: Simulation, authorised, emulator
):
    # Spotify makes the first playlist, then the connection drops before tophits reads its id.
    emulator.inject_drop("POST", r"/v1/me/playlists", after_applying=True)

    result = simulation.run(DAY)

    assert result.exit_code == 0
    assert emulator.count("POST /me/playlists") == 4
    assert names(emulator) == sorted(
        ["Daily Hits", "Weekly Hits", "Monthly Hits — November 2026", "Yearly Hits — 2026"]
    )
    daily = records(authorised)[("daily", "daily")]
    assert emulator.playlists[daily.spotify_id].items == list(daily.contents)


def test_a_lost_create_answer_is_adopted_by_the_next_run(simulation: Simulation, authorised, emulator):
    # The create was applied and its answer lost, and the listing read after it failed too: exit 5.
    emulator.inject_drop("POST", r"/v1/me/playlists", after_applying=True)
    emulator.inject_drop("GET", r"/v1/me/playlists", skip=1, times=4)
    with pytest.raises(TemporaryError):
        simulation.run(DAY)
    assert names(emulator) == ["Daily Hits"]
    assert records(authorised) == {}

    result = simulation.run(DAY)

    assert result.exit_code == 0
    assert names(emulator) == sorted(
        ["Daily Hits", "Weekly Hits", "Monthly Hits — November 2026", "Yearly Hits — 2026"]
    )
    assert [o.status for o in result.playlists if o.key == "daily"] == ["created"]


def test_a_same_name_playlist_of_the_users_own_is_never_adopted(simulation: Simulation, authorised, emulator):
    mine = emulator.add_playlist("2222222222222222222222", "Daily Hits", emulator.user_id, ["x" * 22])
    mine.description = "my own list"

    simulation.run(DAY)

    assert mine.items == ["x" * 22]
    assert names(emulator).count("Daily Hits") == 2


# -- 4: a 429 on a write -----------------------------------------------------------------------------------------
def test_a_short_429_on_a_post_is_waited_out_and_the_post_sent_again(
    simulation: Simulation, authorised, emulator, sleeps
):
    simulation.run_days(DAY - datetime.timedelta(days=3), 3)
    monthly_id = records(authorised)[("monthly", "2026-11")].spotify_id
    emulator.inject_rate_limit(rf"/v1/playlists/{monthly_id}/items", 5)
    sleeps.calls.clear()

    result = simulation.run(DAY)

    assert result.exit_code == 0
    assert sleeps.calls == [5.0]
    items = emulator.playlists[monthly_id].items
    assert items == list(records(authorised)[("monthly", "2026-11")].contents)
    assert len(items) == len(set(items)) > 100


# -- 5: the token service has a blip ----------------------------------------------------------------------------
def expire_stored_token(settings) -> None:  # type: ignore[no-untyped-def]
    token = json.loads(settings.paths.token_file.read_text())
    token["expires_at"] = 0
    settings.paths.token_file.write_text(json.dumps(token))


@pytest.mark.parametrize("fault", ["503", "429", "drop"])
@pytest.mark.parametrize("where", ["stored token expired", "token rejected by the API"])
def test_a_token_service_blip_exits_5_saying_the_timer_will_retry(authorised, emulator, world, fault, where):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))
    if where == "stored token expired":
        expire_stored_token(authorised)
    else:
        emulator.expire_access_tokens()
    if fault == "drop":
        emulator.inject_drop("POST", r"/accounts/api/token", times=10)
    else:
        emulator.inject("POST", r"/accounts/api/token", status=int(fault), times=10)

    result = TophitsRunner(at(DAY, 7)).invoke(app, ["update"])

    assert result.exit_code == ExitCode.TEMPORARY, result.output
    reason = "ConnectionError" if fault == "drop" else fault
    assert f"Spotify's accounts service did not answer ({reason}); the timer will retry" in result.output
    assert "tophits auth" not in result.output


def test_a_wrong_client_secret_still_means_re_authorise(authorised, emulator, world, monkeypatch):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))
    expire_stored_token(authorised)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "not-the-secret")

    result = TophitsRunner(at(DAY, 7)).invoke(app, ["update"])

    assert result.exit_code == ExitCode.AUTH, result.output
    assert "invalid_client" in result.output


# -- 6: an absurd Retry-After -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("retry_after", "words"),
    [
        ("1000000000000", "2 d (its Retry-After was beyond 2 d: capped)"),
        ("inf", "2 d (its Retry-After was beyond 2 d: capped)"),
        ("Wed, 11 Nov 2026 07:00:00 GMT", "1 d"),
        ("-5", "0 s"),
    ],
)
def test_an_absurd_retry_after_exits_5_with_a_sane_not_before(
    simulation: Simulation, authorised, emulator, retry_after, words
):
    simulation.publish(DAY)
    emulator.inject("*", r"/v1/search", status=429, headers={"Retry-After": retry_after}, times=10)

    with pytest.raises(RateLimitedError) as raised:
        run_update(simulation.services, at(DAY, 7))

    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert f"retry after {words}" in raised.value.message
    store = open_store(authorised.paths.state_db)
    not_before = datetime.datetime.fromisoformat(store.get_meta("not_before") or "")
    store.close()
    assert at(DAY, 7) <= not_before <= at(DAY, 7) + datetime.timedelta(hours=48)


# -- 11: a service that disappears mid-run ---------------------------------------------------------------------
def test_spotify_disappearing_mid_run_stops_the_run_at_once(simulation: Simulation, authorised, emulator, sleeps):
    simulation.publish(DAY)
    # Search works for the first few rows, then every Spotify request is dropped from then on.
    emulator.inject_drop("*", r"/v1/.*", skip=6, times=10**6)

    with pytest.raises(TemporaryError) as raised:
        run_update(simulation.services, at(DAY))

    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert raised.value.message == "network error talking to Spotify (GET /search): ConnectionError"
    assert sleeps.calls == [0.5, 1.0, 2.0]
    assert emulator.count("GET /search") == 6 + 4


def test_a_flaky_spotify_shares_one_retry_budget_across_requests_then_exits_5(
    simulation: Simulation, authorised, emulator, sleeps
):
    simulation.publish(DAY)
    # Every search fails three times and gets through on the fourth: each costs 3.5 s of back-off.
    emulator.inject("GET", r"/v1/search", status=503, times=10**6, pass_every=4)

    with pytest.raises(RetryBudgetSpent) as raised:
        run_update(simulation.services, at(DAY))

    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert raised.value.message == (
        "Spotify stopped answering (503); gave up after 1 min of retries in this run (budget 1 min);"
        " the timer will retry"
    )
    assert sum(sleeps.calls) == 60.0
    assert emulator.count("GET /search") == 4 * 17 + 2


def test_a_chart_source_disappearing_mid_run_stops_the_run_within_the_same_budget(
    environment, authorised, emulator, world, sleeps
):
    simulation = Simulation(emulator, world, Services(load_settings(environment), sleep=sleeps))
    simulation.publish(DAY)
    # Deezer lists the chart, then refuses every track look-up.
    emulator.inject_drop("GET", r"/deezer/track/\d+", times=10**6)

    with pytest.raises(RetryBudgetSpent) as raised:
        run_update(simulation.services, at(DAY))

    assert raised.value.message.startswith("Deezer stopped answering (its requests kept failing)")
    assert sum(sleeps.calls) <= 60
    assert emulator.count("GET /deezer/track/{id}") < 300


def test_the_cli_reports_spotify_gone_as_exit_5(authorised, emulator, world, environment):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(DAY))
    emulator.inject_drop("*", r"/v1/.*", times=10**6)

    result = TophitsRunner(at(DAY, 7)).invoke(app, ["update"], obj=fixed_clock(at(DAY, 7)))

    assert result.exit_code == ExitCode.TEMPORARY, result.output
    assert "network error talking to Spotify" in result.output


# -- 8: every command that calls Spotify honours not_before --------------------------------------------------------
def spotify_api_requests(emulator: Emulator) -> list[str]:
    return [f"{method} {path}" for method, path in emulator.request_log if path.startswith("/v1/")]


@pytest.fixture
def told_to_wait(simulation: Simulation, authorised, emulator):  # type: ignore[no-untyped-def]
    """A normal run, then Spotify asked for a 20-hour pause (not_before in the state DB)."""
    simulation.run(DAY)
    store = open_store(authorised.paths.state_db)
    store.set_meta("not_before", (at(DAY, 6) + datetime.timedelta(hours=20)).isoformat())
    store.close()
    emulator.reset_counts()
    return TophitsRunner(at(DAY, 7))


def test_status_live_honours_not_before_without_calling_spotify(told_to_wait, emulator):
    result = told_to_wait.invoke(app, ["status", "--live"])

    assert result.exit_code == 0, result.output
    assert "Spotify rate limit: backing off for 19 h (until 2026-11-11 02:00 UTC)" in result.output
    assert spotify_api_requests(emulator) == []


def test_backup_honours_not_before_taking_playlists_from_the_snapshots(told_to_wait, emulator):
    result = told_to_wait.invoke(app, ["backup"])

    assert result.exit_code == 0, result.output
    assert spotify_api_requests(emulator) == []


def test_doctor_reports_the_wait_instead_of_calling_spotify(told_to_wait, emulator):
    result = told_to_wait.invoke(app, ["doctor"])

    assert "not calling Spotify: Spotify asked us to wait: retry after 19 h" in result.output
    assert spotify_api_requests(emulator) == []


def test_restore_of_playlists_honours_not_before(told_to_wait, simulation: Simulation, emulator):
    from spotify_tophits.actions.backup import run_backup

    path = run_backup(simulation.services, at(DAY, 7), offline=True).path
    emulator.reset_counts()

    result = told_to_wait.invoke(app, ["restore", str(path), "--only", "playlists", "--yes"])

    assert result.exit_code == ExitCode.TEMPORARY, result.output
    assert "Spotify asked us to wait: retry after 19 h" in result.output
    assert spotify_api_requests(emulator) == []


# -- 9: misses of late December are retried before December and the year are finalised ----------------------------
def test_on_new_years_day_december_misses_are_retried_before_finalising(
    simulation: Simulation, authorised, emulator, world
):
    december = datetime.date(2026, 12, 31)
    missing = next(song for song in world.chart(december)[:50] if song.spotify_id is None)
    simulation.run(december)
    # On 1 January the song is on Spotify; it is no longer in the day's chart.
    emulator.add_track(
        CatalogTrack(
            stable_id("late", missing.number),
            missing.title,
            missing.artists,
            missing.isrc,
            missing.duration_ms,
            False,
            missing.title,
            "single",
        )
    )
    new_year = datetime.date(2027, 1, 1)
    emulator.set_deezer_chart(WORLDWIDE, [song for song in world.chart(new_year) if song.number != missing.number])

    result = run_update(simulation.services, at(new_year))

    assert result.exit_code == 0
    held = records(authorised)
    for key, period in (("monthly", "2026-12"), ("yearly", "2026")):
        assert held[(key, period)].status == "final"
        assert stable_id("late", missing.number) in emulator.playlists[held[(key, period)].spotify_id].items


# -- 10: the smaller ones ---------------------------------------------------------------------------------------------
def test_a_failed_run_clears_its_pid_from_the_lock_so_doctor_reports_no_killed_run(
    simulation: Simulation, authorised, emulator
):
    simulation.publish(DAY)
    emulator.inject("GET", r"/deezer/.*", status=503, times=100)
    runner = TophitsRunner(at(DAY, 7))

    failed = runner.invoke(app, ["update"])

    assert failed.exit_code == ExitCode.TEMPORARY, failed.output
    assert authorised.paths.lock_file.read_text() == ""
    assert "a run was killed" not in runner.invoke(app, ["doctor", "--offline"]).output


def test_a_symlinked_lock_file_is_refused_and_its_target_left_intact(authorised, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    authorised.paths.lock_file.parent.mkdir(parents=True, exist_ok=True)
    authorised.paths.lock_file.symlink_to(target)

    result = TophitsRunner(at(DAY, 7)).invoke(app, ["update"])

    assert result.exit_code == ExitCode.DATA_SAFETY, result.output
    assert "is a symbolic link" in result.output and "remove the link" in result.output
    assert target.read_text() == "keep me\n"


def test_a_playlist_without_chart_history_is_named_by_its_period_not_the_raw_template(settings, tmp_path):
    store = open_store(tmp_path / "state.db")
    sync = PlaylistSync(
        settings, store, lambda: pytest.fail("no Spotify call"), at(DAY), dry_run=False, force=False, warnings=[]
    )

    outcome = sync.no_history(settings.playlists["monthly"], DAY)

    store.close()
    assert (outcome.name, outcome.status) == ("Monthly Hits — November 2026", "empty")
