"""`status` and `doctor` scenarios built on the emulator, asserting the exact marks and exit codes."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import Simulation, Sleeps, TophitsRunner, at, no_sleep, write_config

from spotify_tophits.actions.backup import run_backup
from spotify_tophits.actions.doctor import run_doctor
from spotify_tophits.actions.status import check_line, collect_status
from spotify_tophits.actions.update import run_update
from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.errors import SourceError
from spotify_tophits.ops.scheduler import TimerState
from spotify_tophits.services import Services
from spotify_tophits.store import open_store

DAY = datetime.date(2026, 11, 10)
runner = TophitsRunner(at(DAY, 8))
SCHEMA = json.loads((Path(__file__).parents[1] / "spotify_tophits" / "schemas" / "status.schema.json").read_text())
ENABLED_TIMER = TimerState("tophits-update.timer", "system", "enabled", "active", "Wed 2026-11-11 06:07:00 UTC", None)
SMALL = "\n".join(
    [
        'sources = ["deezer:worldwide"]',
        "[playlists.monthly]\nsize = 60",
        "[playlists.yearly]\nsize = 60",
        "[playlists.weekly]\nsize = 60\n",
    ]
)


@pytest.fixture
def healthy(simulation: Simulation, authorised, environment):  # type: ignore[no-untyped-def]
    """Four days of updates, sizes the history can fill, and a fresh backup."""
    write_config(environment, SMALL)
    simulation.services = Services(load_settings(environment), simulation.services.retry_policy, sleep=no_sleep)
    simulation.run_days(DAY - datetime.timedelta(days=3), 4)
    run_backup(simulation.services, at(DAY, 7))
    return simulation


def marks(report, category: str | None = None) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(c.category, c.level, c.message) for c in report.checks if category is None or c.category == category]


def doctor(now=None, sleep=no_sleep, **options):  # type: ignore[no-untyped-def]
    return run_doctor(now or at(DAY, 8), sleep=sleep, read_timer=lambda: ENABLED_TIMER, **options)


# -- status ----------------------------------------------------------------------------------------------
def test_status_json_validates_against_its_schema_and_reports_the_playlists(healthy, authorised, environment):
    report = collect_status(healthy.services.settings, at(DAY, 8), read_timer=lambda: ENABLED_TIMER)

    document = json.loads(json.dumps(report.to_json()))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["level"] == "ok"
    assert [(p["key"], p["tracks"], p["size"]) for p in document["playlists"]] == [
        ("daily", 50, 50),
        ("monthly", 60, 60),
        ("weekly", 60, 60),
        ("yearly", 60, 60),
    ]
    assert document["runs"][0]["result"] == "ok" and len(document["runs"]) == 4
    assert document["schedule"] == {
        "scheduled": True,
        "next_run": "Wed 2026-11-11 06:07:00 UTC",
        "last_run": None,
        "unit": "tophits-update.timer (system)",
        "enabled": "enabled",
    }
    assert document["performance"]["runs"] == 4
    assert set(document["performance"]["latency_ms"]) == {"p50", "p95", "p99"}
    assert document["backups"]["count"] == 1


def test_status_check_codes_follow_the_monitoring_plugin_convention(healthy, environment, emulator):
    settings = healthy.services.settings
    assert check_line(collect_status(settings, at(DAY, 8))) == (
        0,
        "TOPHITS OK - 4 playlists, last run ok at 2026-11-10T06:00:00+00:00",
    )
    # Warning: the newest backup (07:00) is older than a 1-hour policy.
    write_config(environment, SMALL + "[backup]\nmax_age_hours = 1\n")
    code, line = check_line(collect_status(load_settings(environment), at(DAY, 9)))
    assert (code, line) == (1, "TOPHITS WARNING - the newest backup is 2 h old (policy: 1 h)")
    # Critical: the playlists have not changed for more than twice their cadence.
    code, line = check_line(collect_status(settings, at(DAY, 8) + datetime.timedelta(days=3)))
    assert code == 2 and "Daily Hits last changed 3 d 2 h ago" in line
    # Critical: three failed updates in a row.
    emulator.inject("GET", r"/deezer/.*", status=503, times=100)
    next_day = DAY + datetime.timedelta(days=1)
    for hour in (9, 10, 11):
        with pytest.raises(SourceError):
            run_update(healthy.services, at(next_day, hour))
    code, line = check_line(collect_status(settings, at(next_day, 12)))
    assert code == 2
    assert "the last 3 updates failed" in line


def test_status_check_without_state_is_unknown(environment):
    result = runner.invoke(app, ["status", "--check"])
    assert result.exit_code == 3
    assert result.output.startswith("TOPHITS UNKNOWN - no state DB at ")


def test_status_plain_output_and_live_drift(healthy, authorised, emulator):
    record = open_store(authorised.paths.state_db).get_playlist("daily", "daily")
    emulator.edit_playlist(record.spotify_id, emulator.playlists[record.spotify_id].items[:5])

    plain = runner.invoke(app, ["status"])
    live = runner.invoke(app, ["status", "--live"])

    assert plain.exit_code == 0
    assert "Daily Hits: 50/50 tracks" in plain.output
    assert "Recent runs:" in plain.output
    assert "Daily Hits: 50/50 tracks, live 5, edited by hand" in live.output
    assert "! Daily Hits was changed outside tophits — fix: tophits update" in live.output


def test_status_does_not_import_spotipy_and_does_not_write_the_state_db(healthy, authorised):
    before = authorised.paths.state_db.stat().st_mtime_ns
    code = (
        "import sys\nfrom spotify_tophits.cli import app\n"
        "try:\n    app(['status', '--json'])\nexcept SystemExit:\n    pass\n"
        "print('spotipy' in sys.modules, 'requests' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().splitlines()[-1] == "False False"
    assert json.loads(result.stdout)["version"]
    assert authorised.paths.state_db.stat().st_mtime_ns == before


# -- doctor ------------------------------------------------------------------------------------------------
def test_doctor_on_a_fresh_install_names_the_missing_credentials(isolated_environment):
    report = doctor(offline=True)

    assert ("credentials", "error", "SPOTIPY_CLIENT_ID is not set") in marks(report)
    fixes = [c.fix for c in report.checks if c.category == "credentials"]
    assert fixes[0].startswith("add SPOTIPY_CLIENT_ID=... to ")
    assert report.exit_code(strict=False) == 1
    result = runner.invoke(app, ["doctor", "--offline"])
    assert result.exit_code == 1
    assert "✗ credentials: SPOTIPY_CLIENT_ID is not set" in result.output
    assert result.output.rstrip().endswith("categories.")


def test_doctor_healthy_after_updates_passes_every_check(healthy, authorised):
    report = doctor()

    problems = [c for c in report.checks if c.level != "ok"]
    assert problems == []
    categories = [c.category for c in report.checks]
    assert categories == sorted(
        categories,
        key=[
            "runtime",
            "paths",
            "config",
            "credentials",
            "auth",
            "api",
            "playlists",
            "sources",
            "state",
            "history",
            "backups",
            "scheduler",
        ].index,
    )
    assert ("auth", "ok", "token refreshed for Sandbox Listener; refresh token valid until 2027-04-01") in marks(report)
    assert report.exit_code(strict=True) == 0


def test_doctor_reports_a_revoked_token_with_the_fix(healthy, emulator):
    emulator.revoke_refresh_tokens()
    report = doctor()
    auth = [c for c in report.checks if c.category == "auth"]
    assert [(c.level, c.fix) for c in auth] == [("error", "tophits auth")]
    assert "invalid_grant" in auth[0].message
    assert report.exit_code(strict=False) == 1


def test_doctor_flags_a_world_readable_env_file_and_fix_tightens_it(healthy, authorised):
    authorised.paths.env_file.write_text("SPOTIPY_CLIENT_ID=x\n")
    authorised.paths.env_file.chmod(0o644)

    report = doctor(offline=True)
    assert ("paths", "error", f"{authorised.paths.env_file} is mode 0644: others can read your secrets") in marks(
        report
    )
    assert [c.fix for c in report.checks if c.level == "error"] == [f"chmod 600 {authorised.paths.env_file}"]

    fixed = doctor(offline=True, fix=True)
    assert f"chmod 0600 {authorised.paths.env_file}" in fixed.fixed
    assert authorised.paths.env_file.stat().st_mode & 0o777 == 0o600


def test_doctor_with_a_localhost_redirect_uri(environment, monkeypatch):
    monkeypatch.setenv("SPOTIPY_REDIRECT_URI", "http://localhost:8888/callback")
    report = doctor(offline=True)
    config = [c for c in report.checks if c.category == "config"]
    assert config[0].level == "error"
    assert "rejects 'localhost'" in config[0].message
    assert report.exit_code(strict=False) == 1


def test_doctor_reports_an_unfollowed_and_a_hand_edited_playlist(healthy, authorised, emulator):
    store = open_store(authorised.paths.state_db)
    daily = store.get_playlist("daily", "daily")
    weekly = store.get_playlist("weekly", "weekly")
    store.close()
    emulator.unfollow(weekly.spotify_id)
    emulator.edit_playlist(daily.spotify_id, [])
    emulator.reset_counts()

    report = doctor()

    playlists = {c.message: (c.level, c.fix) for c in report.checks if c.category == "playlists"}
    assert playlists["Weekly Hits is no longer in your library (unfollowed or deleted)"] == (
        "warning",
        "tophits update (recreates it)",
    )
    assert playlists["Daily Hits was changed outside tophits (snapshot differs)"] == (
        "warning",
        "tophits update (restores the ranked list)",
    )
    assert report.exit_code(strict=False) == 0
    assert report.exit_code(strict=True) == 1
    assert emulator.count("PUT") == emulator.count("POST /playlists") == 0


def test_doctor_reports_a_corrupted_state_db(healthy, authorised):
    data = bytearray(authorised.paths.state_db.read_bytes())
    data[100:4000] = b"\x00" * 3900
    authorised.paths.state_db.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{authorised.paths.state_db}{suffix}").unlink(missing_ok=True)

    report = doctor(offline=True)

    state = [c for c in report.checks if c.category == "state"]
    assert state[0].level == "error"
    assert "tophits restore" in state[0].fix


def test_doctor_stale_lock_file_from_a_killed_run(healthy, authorised):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    authorised.paths.lock_file.write_text(f"{dead.pid}\n")

    report = doctor(offline=True)
    assert (
        "state",
        "warning",
        f"lock file names pid {dead.pid}, which is not running (a run was killed; the lock is free)",
    ) in marks(report)

    fixed = doctor(offline=True, fix=True)
    assert f"removed the stale lock file of killed pid {dead.pid}" in fixed.fixed
    assert not authorised.paths.lock_file.exists()


def test_doctor_reports_a_rate_limit_without_waiting(healthy, emulator, sleeps: Sleeps):
    import time

    emulator.inject_rate_limit(r"/v1/me", 50000, quota=True, times=5)
    started = time.monotonic()

    report = doctor(sleep=sleeps)

    assert time.monotonic() - started < 10
    assert sleeps.calls == []
    api = [c for c in report.checks if c.category == "api"]
    assert api[0].level == "error"
    assert "retry after 13 h 53 min" in api[0].message
    assert api[0].fix == "tophits doctor again later"


def test_doctor_warns_when_history_is_too_short_for_the_yearly_playlist(simulation: Simulation, authorised):
    simulation.run(DAY)
    run_backup(simulation.services, at(DAY, 7))

    report = doctor(offline=True)

    history = {c.message: c.level for c in report.checks if c.category == "history"}
    assert history["daily: history fills all 50 tracks"] == "ok"
    yearly = next(message for message in history if message.startswith("yearly:"))
    assert history[yearly] == "warning" and "of 250 tracks" in yearly


def test_doctor_json_lists_the_checks_and_fixes_and_holds_no_secret(healthy, authorised):
    result = runner.invoke(app, ["doctor", "--json", "--offline"])
    token = json.loads(authorised.paths.token_file.read_text())
    document = json.loads(result.output)
    assert {"checks", "fixed"} == set(document)
    for secret in (token["access_token"], token["refresh_token"], "tophits-sandbox-secret"):
        assert secret not in result.output


def test_doctor_warns_about_a_failed_last_run_and_a_timer_in_another_time_zone(healthy, environment):
    timer = TimerState(
        "tophits-update.timer",
        "user",
        "enabled",
        "active",
        "Wed 2026-11-11 06:07:00 UTC",
        None,
        calendar="{ OnCalendar=*-*-* 06:00:00 Europe/Berlin ; next_elapse=Wed 2026-11-11 05:00:00 UTC }",
        last_result="exit-code",
    )

    report = run_doctor(at(DAY, 8), sleep=no_sleep, offline=True, read_timer=lambda: timer)

    scheduler = {c.message: c.fix for c in report.checks if c.category == "scheduler" and c.level == "warning"}
    assert scheduler["the last scheduled run ended with exit-code"] == "journalctl --user -u tophits-update.service -e"
    assert scheduler["tophits-update.timer fires in another time zone than config.toml's UTC"] == (
        "tophits systemd install --user (re-renders the timers)"
    )


@pytest.mark.parametrize(
    ("calendar", "zone"),
    [
        ("{ OnCalendar=*-*-* 06:00:00 Europe/Berlin ; next_elapse=Wed 2026-11-11 05:00:00 UTC }", "Europe/Berlin"),
        ("{ OnCalendar=*-*-* 06:00:00 UTC ; next_elapse=Wed 2026-11-11 06:00:00 UTC }", "UTC"),
        ("{ OnCalendar=*-*-* 06:00:00 ; next_elapse=Wed 2026-11-11 06:00:00 UTC }", None),
    ],
)
def test_timer_zone_reads_the_zone_of_the_calendar_spec(calendar, zone):
    from spotify_tophits.ops.scheduler import timer_zone

    assert timer_zone(calendar) == zone


def test_status_on_a_fresh_install_exits_0_with_the_next_steps_and_check_is_one_unknown_line(settings):
    plain = runner.invoke(app, ["status"])
    as_json = runner.invoke(app, ["status", "--json"])
    check = runner.invoke(app, ["status", "--check"])

    assert plain.exit_code == 0, plain.output
    assert "Nothing has run yet (no state DB at " in plain.output
    for step in ("tophits auth ", "tophits update ", "tophits systemd install "):
        assert f"\n  {step}" in plain.output
    assert as_json.exit_code == 0
    document = json.loads(as_json.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert (document["playlists"], document["runs"], document["alerts"], document["level"]) == ([], [], [], "ok")
    assert check.exit_code == 3
    assert check.output.startswith("TOPHITS UNKNOWN - no state DB at ") and check.output.count("\n") == 1
    assert not settings.paths.state_db.exists()
