"""Upgrades and the maintenance calendar: safe migrations, the doctor timer's notifications, backup verification."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from conftest import CHART_DAY, WORLDWIDE, Simulation, TophitsRunner, at, chart_row_values, no_sleep, write_config
from test_operations import Recorder

from spotify_tophits import archive, store
from spotify_tophits.actions.auth import authorise
from spotify_tophits.actions.backup import run_backup
from spotify_tophits.actions.demo import follow_authorise_redirect
from spotify_tophits.actions.doctor import Check, run_doctor
from spotify_tophits.actions.restore import run_restore
from spotify_tophits.actions.status import collect_status
from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.errors import DataSafetyError, ExitCode
from spotify_tophits.ops.notify import notify_findings
from spotify_tophits.services import Services, open_state
from spotify_tophits.store import schema

DAY = datetime.date(2026, 11, 10)
NOW = at(DAY, 12)
runner = TophitsRunner(NOW)


def old_schema_db(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build a state DB as the first release wrote it (only the first migration), with some history."""
    with monkeypatch.context() as patch:
        patch.setattr(schema, "SCHEMA_VERSION", 1)
        old = store.open_store(path)
        # Written with the first release's columns: today's save_observation knows newer ones.
        with old.transaction() as connection:
            connection.execute(
                "INSERT INTO observations (id, source, chart_id, chart_date, fetched_at, row_count)"
                " VALUES (1, 'deezer:worldwide', '1', ?, ?, 20)",
                (DAY.isoformat(), NOW.isoformat()),
            )
            connection.executemany(
                "INSERT INTO chart_rows (observation_id, rank, title, artists, isrc, source_track_id, spotify_id,"
                " duration_ms, resolution_key, song_key, artist_key) VALUES (1, :rank, :title, :artists, :isrc,"
                " :source_track_id, :spotify_id, :duration_ms, :resolution_key, :song_key, :artist_key)",
                [row | {"artists": json.dumps(row["artists"])} for row in chart_row_values(20)],
            )
        assert old.connection.execute("PRAGMA user_version").fetchone()[0] == 1
        old.close()


def test_an_old_schema_is_copied_then_migrated_and_the_copy_restores(settings, monkeypatch):
    old_schema_db(settings.paths.state_db, monkeypatch)

    upgraded = open_state(settings)
    version = upgraded.connection.execute("PRAGMA user_version").fetchone()[0]
    observations = upgraded.connection.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    tables = {row[0] for row in upgraded.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    upgraded.close()

    assert version == store.SCHEMA_VERSION == len(schema.MIGRATIONS)
    assert observations == 1
    assert "source_health" in tables
    copies = [item for item in archive.list_archives(settings.backup.directory) if item.label == "pre-migration"]
    assert len(copies) == 1 and copies[0].kind == "state"
    verified = archive.verify_archive(copies[0].path)
    assert verified.manifest.schema_version == 1
    assert verified.manifest.row_counts["chart_rows"] == 20
    # Going back: restoring the pre-migration copy brings the history back (migrated forward again).
    result = run_restore(Services(settings, sleep=no_sleep), copies[0].path, confirm=lambda plan: True, now=NOW)
    assert result.plan.parts == ("state",)
    restored = open_state(settings)
    assert restored.connection.execute("SELECT COUNT(*) FROM chart_rows").fetchone()[0] == 20
    restored.close()


def test_a_migration_failing_halfway_leaves_the_state_db_byte_identical(settings, monkeypatch):
    old_schema_db(settings.paths.state_db, monkeypatch)
    before = settings.paths.state_db.read_bytes()
    broken = [
        *schema.MIGRATIONS,
        ("9999_broken", "CREATE TABLE half_done (a INTEGER); INSERT INTO no_such_table VALUES (1)"),
    ]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(broken))

    with pytest.raises(DataSafetyError) as raised:
        open_state(settings)

    assert raised.value.exit_code == ExitCode.DATA_SAFETY
    copy = next(item.path for item in archive.list_archives(settings.backup.directory) if item.label == "pre-migration")
    assert f"the state DB is unchanged; the pre-migration copy is {copy}" in raised.value.message
    assert settings.paths.state_db.read_bytes() == before
    assert not [p.name for p in settings.paths.state_dir.iterdir() if "migrating" in p.name]


def test_the_cli_reports_a_failed_migration_with_exit_6(authorised, environment, emulator, world, monkeypatch):
    for leftover in authorised.paths.state_dir.glob("state.db*"):
        leftover.unlink()
    old_schema_db(authorised.paths.state_db, monkeypatch)
    broken = [*schema.MIGRATIONS, ("9999_broken", "SELECT * FROM no_such_table")]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(broken))
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))

    result = runner.invoke(app, ["update"])

    assert result.exit_code == 6
    assert "the pre-migration copy is" in result.output


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_doctor_reports_an_older_schema_and_never_migrates_it_offline_or_online(
    authorised, emulator, monkeypatch, offline
):
    for leftover in authorised.paths.state_dir.glob("state.db*"):
        leftover.unlink()
    old_schema_db(authorised.paths.state_db, monkeypatch)
    before = authorised.paths.state_db.read_bytes()

    report = run_doctor(NOW, sleep=no_sleep, offline=offline, read_timer=lambda: None)

    state = [c for c in report.checks if c.category == "state"]
    assert (state[0].level, state[0].message) == (
        "warning",
        f"state DB schema 1 is older than this tophits ({store.SCHEMA_VERSION})",
    )
    assert authorised.paths.state_db.read_bytes() == before
    if not offline:  # the online checks ran (a live token refresh) and still left the DB alone
        assert next(c.message for c in report.checks if c.category == "auth").startswith("token refreshed for ")


# -- the doctor timer -----------------------------------------------------------------------------------------------
@pytest.fixture
def recorder():  # type: ignore[no-untyped-def]
    server = Recorder()
    yield server
    server.server.shutdown()


def test_doctor_notify_sends_each_finding_once_a_day(simulation: Simulation, environment, recorder):
    write_config(environment, f'sources = ["deezer:worldwide"]\n[[notify.channels]]\nwebhook = "{recorder.url}/hook"\n')
    simulation.services = Services(load_settings(environment), sleep=no_sleep)
    simulation.run(DAY)

    first = runner.invoke(app, ["doctor", "--offline", "--quiet", "--notify"])
    second = runner.invoke(app, ["doctor", "--offline", "--quiet", "--notify"])

    messages = recorder.bodies("/hook")
    assert [m["severity"] for m in messages] == ["warning"]
    assert "! backups: no backup archive yet\n    fix: tophits backup" in messages[0]["message"]
    assert first.exit_code == second.exit_code == 0
    assert "! backups: no backup archive yet" in second.output


def test_notify_findings_repeats_a_lasting_problem_the_next_day_only(settings, environment, recorder):
    write_config(environment, f'[[notify.channels]]\nwebhook = "{recorder.url}/hook"\n')
    settings = load_settings(environment)
    checks = [Check("auth", "error", "Spotify refused the refresh token", "tophits auth"), Check("paths", "ok", "fine")]
    memory = settings.paths.state_dir / "notified.json"

    days = (DAY, DAY, DAY + datetime.timedelta(days=1))
    sent = [notify_findings(settings, checks, at(day, 12), memory).sent for day in days]

    assert sent == [["webhook channel 1"], [], ["webhook channel 1"]]
    assert [m["severity"] for m in recorder.bodies("/hook")] == ["critical", "critical"]
    assert json.loads(memory.read_text()) == {"auth|Spotify refused the refresh token": "2026-11-11"}


def test_doctor_quiet_prints_nothing_when_all_is_well(simulation: Simulation, environment, monkeypatch):
    only_daily = "".join(f"[playlists.{key}]\nenabled = false\n" for key in ("weekly", "monthly", "yearly"))
    write_config(environment, 'sources = ["deezer:worldwide"]\n' + only_daily)
    simulation.services = Services(load_settings(environment), sleep=no_sleep)
    # Authorised on the day of the run, so the refresh token is far from its 6-month end.
    authorise(simulation.services.settings, follow_authorise_redirect, at(DAY), no_sleep)
    simulation.run(DAY, chart_day=CHART_DAY)
    run_backup(simulation.services, at(DAY, 7))
    monkeypatch.setattr(
        "spotify_tophits.ops.scheduler.systemctl_show",
        lambda unit, scope: {"LoadState": "loaded", "UnitFileState": "enabled", "NextElapseUSecRealtime": "tomorrow"},
    )
    result = runner.invoke(app, ["doctor", "--offline", "--quiet"], now=at(DAY, 8))
    assert result.exit_code == 0
    assert result.output == ""


# -- weekly (here: daily) backup verification -----------------------------------------------------------------------
def test_backup_verification_catches_a_corrupted_newest_archive_and_status_shows_it(simulation: Simulation, authorised):
    simulation.run(DAY)
    good = run_backup(simulation.services, NOW).path
    run_doctor(NOW, sleep=no_sleep, offline=True, read_timer=lambda: None)
    assert collect_status(authorised, NOW).backups.last_verified_ok is True

    newest = run_backup(simulation.services, NOW + datetime.timedelta(hours=1)).path
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    newest.write_bytes(bytes(data))
    later = NOW + datetime.timedelta(hours=2)
    report = run_doctor(later, sleep=no_sleep, offline=True, read_timer=lambda: None)

    backups = [c for c in report.checks if c.category == "backups"]
    assert backups[0].level == "error" and backups[0].message.startswith("the newest backup does not verify")
    status = collect_status(authorised, later)
    assert status.backups.last_verified == later.isoformat()
    assert status.backups.last_verified_ok is False
    assert [a.code for a in status.alerts if a.severity == "critical"] == ["backup-unverifiable"]
    assert good.exists()


def test_resolutions_from_before_ratings_were_kept_migrate_as_unknown_and_clean_only_ranks_them_unmatched(
    settings, monkeypatch
):
    before = [name for name, _ in schema.MIGRATIONS].index("0006_resolution_ratings")
    with monkeypatch.context() as patch:
        patch.setattr(schema, "SCHEMA_VERSION", before)
        old = store.open_store(settings.paths.state_db)
        with old.transaction() as connection:
            connection.execute(
                "INSERT INTO observations (id, source, chart_id, chart_date, fetched_at, row_count)"
                " VALUES (1, 'deezer:worldwide', '1', ?, ?, 1)",
                (DAY.isoformat(), NOW.isoformat()),
            )
            connection.execute(
                "INSERT INTO chart_rows (observation_id, rank, title, artists, isrc, resolution_key, song_key,"
                " artist_key) VALUES (1, 1, 'Song', '[\"Artist\"]', 'QZ0000000001', 'isrc:QZ0000000001', 's', 'a')"
            )
            connection.execute(
                "INSERT INTO resolutions (key, spotify_id, method, confidence, resolved_at)"
                " VALUES ('isrc:QZ0000000001', 'track1', 'isrc', 1.0, ?)",
                (NOW.isoformat(),),
            )
        old.close()

    upgraded = open_state(settings)
    resolution = upgraded.get_resolution("isrc:QZ0000000001")
    as_charted = upgraded.ranked_rows(DAY, DAY)
    clean_only = upgraded.ranked_rows(DAY, DAY, clean_only=True)
    left_out = upgraded.unrated_matches(DAY, DAY)
    upgraded.close()

    assert resolution is not None and resolution.spotify_id == "track1" and resolution.explicit is None
    assert [row.spotify_id for row in as_charted] == ["track1"]
    assert [row.spotify_id for row in clean_only] == [None]
    assert left_out == {"isrc:QZ0000000001"}
