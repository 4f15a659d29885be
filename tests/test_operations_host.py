"""Operations as a real host sees them: the system install's settings, ownership and executable, directory
modes, journald priorities, the failure alert's facts, its fallback channels, and doctor on a system install.

tests/test_systemd_integration.py proves the same on a booted systemd; these pin each rule without one.
"""

from __future__ import annotations

import datetime
import grp
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CHART_DAY, TophitsRunner, at, write_config
from test_operations import Recorder, recorder  # noqa: F401 - the fixture, shared

from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.errors import UsageError
from spotify_tophits.ops import fallback, host, units
from spotify_tophits.ops.notify import failed_unit_message, matching_run
from spotify_tophits.ops.scheduler import parse_timestamp
from spotify_tophits.sandbox.server import CLIENT_SECRET
from spotify_tophits.store import open_store

ROOT = Path(__file__).parents[1]
TOPHITS = str(Path(sys.executable).parent / "tophits")
runner = TophitsRunner()


def unit_lines(name: str, flavour: str) -> list[str]:
    return [line for line in units.render(name, flavour, "/opt/tophits/bin/tophits").splitlines() if "=" in line]


# -- 1. the system install reads /etc/tophits ------------------------------------------------------------------
def test_system_install_takes_the_time_zone_from_the_system_config_not_the_installers(
    environment, monkeypatch, tmp_path
):
    write_config(environment, 'timezone = "America/New_York"\n')
    system_config = tmp_path / "etc-tophits"
    system_config.mkdir()
    (system_config / "config.toml").write_text('timezone = "Europe/Berlin"\n')
    monkeypatch.setattr(host, "SYSTEM_CONFIG_DIRECTORY", system_config)

    system = runner.invoke(app, ["systemd", "install", "--system", "--dry-run", "--force"])
    user = runner.invoke(app, ["systemd", "install", "--user", "--dry-run"])

    assert system.exit_code == 0, system.output
    assert "OnCalendar=*-*-* 06:00:00 Europe/Berlin" in system.output
    assert "America/New_York" not in system.output
    assert "OnCalendar=*-*-* 06:00:00 America/New_York" in user.output


def test_system_environment_drops_the_callers_paths_for_systemds():
    environ = {"TOPHITS_CONFIG": "/root/x.toml", "TOPHITS_STATE_DIR": "/root/s", "PATH": "/usr/bin"}
    assert host.system_environment(environ) == {
        "PATH": "/usr/bin",
        "CONFIGURATION_DIRECTORY": "/etc/tophits",
        "STATE_DIRECTORY": "/var/lib/tophits",
    }


# -- 2. config files 0640 root:tophits -----------------------------------------------------------------------------
def test_system_install_makes_the_config_files_root_owned_and_readable_by_the_service_group(tmp_path):
    (tmp_path / ".env").write_text("SPOTIPY_CLIENT_ID=x\n")
    (tmp_path / "config.toml").write_text("")
    (tmp_path / "spotify-client-secret").write_text("s")

    plan = units.plan_install(
        "system", "UTC", "/opt/tophits/bin/tophits", tmp_path / "units", config_directory=tmp_path
    )

    assert plan.commands[0][0] == "useradd"
    assert plan.commands[1:5] == (
        ("chown", "root:tophits", f"{tmp_path}/.env"),
        ("chmod", "0640", f"{tmp_path}/.env"),
        ("chown", "root:tophits", f"{tmp_path}/config.toml"),
        ("chmod", "0640", f"{tmp_path}/config.toml"),
    )
    assert plan.commands[5:] == (("systemctl", "daemon-reload"), ("systemctl", "enable", "--now", *units.TIMERS))


# -- 8. an ExecStart= the system units cannot see ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tophits", "hidden_by"),
    [
        ("/root/.venv/bin/tophits", "/root"),
        ("/home/kai/.local/bin/tophits", "/home"),
        ("/tmp/venv/bin/tophits", "/tmp"),
    ],
)
def test_system_install_refuses_a_tophits_its_sandbox_hides_unless_forced(tophits, hidden_by):
    with pytest.raises(UsageError) as refused:
        units.plan_install("system", "UTC", tophits, Path("/nonexistent"))

    assert str(refused.value.message).startswith(f"{tophits} is under {hidden_by}, which the system units cannot see")
    assert "203/EXEC" in refused.value.message
    assert "pipx into /opt" in refused.value.message and "--force" in refused.value.message
    assert units.plan_install("system", "UTC", tophits, Path("/nonexistent"), force=True).files
    assert units.plan_install("user", "UTC", tophits, Path("/nonexistent")).files


def test_an_interpreter_under_root_behind_a_venv_in_opt_is_found(tmp_path):
    interpreter = tmp_path / "python3"
    script = tmp_path / "tophits"
    script.write_text(f"#!{interpreter}\nimport sys\n")

    assert host.launch_paths(str(script)) == [str(script), str(interpreter)]
    assert host.hidden_from_system_units(["/opt/tophits/bin/tophits", "/root/.pyenv/bin/python3"]) == [
        ("/root/.pyenv/bin/python3", "/root")
    ]
    env_script = tmp_path / "via-env"
    env_script.write_text("#!/usr/bin/env /root/.pyenv/shims/python3\n")
    assert host.launch_paths(str(env_script)) == [str(env_script), "/root/.pyenv/shims/python3"]


def test_system_install_command_refuses_with_the_fix_and_exit_2(environment, monkeypatch):
    monkeypatch.setattr(units, "tophits_executable", lambda: "/root/.pyenv/versions/3.12/bin/tophits")

    result = runner.invoke(app, ["systemd", "install", "--system", "--dry-run"])

    assert result.exit_code == 2
    assert result.stderr.startswith("tophits: /root/.pyenv/versions/3.12/bin/tophits is under /root")
    assert len(result.stderr.splitlines()) == 1


# -- 4, 7, 9. the unit files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(units.definitions()))
def test_every_system_unit_keeps_the_state_directory_0700_and_the_config_directory_0755(name):
    lines = unit_lines(name, "system")
    if any(line.startswith("StateDirectory=") for line in lines):
        assert "StateDirectoryMode=0700" in lines
    if any(line.startswith("ConfigurationDirectory=") for line in lines):
        assert "ConfigurationDirectoryMode=0755" in lines
    if name.endswith(".service"):
        assert "StateDirectory=tophits" in lines


def test_every_systemd_run_line_in_the_readme_keeps_the_directory_modes():
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"systemd-run(?:[^\n]*\\\n)*[^\n]*", text)
    assert commands, "the README shows how to run tophits as the service user"
    for command in commands:
        if "StateDirectory=tophits" in command:
            assert "StateDirectoryMode=0700" in command, command
        if "ConfigurationDirectory=tophits" in command:
            assert "ConfigurationDirectoryMode=0755" in command, command


def test_the_notify_unit_reads_the_journal_and_asks_its_own_manager():
    system, user = unit_lines("tophits-notify@.service", "system"), unit_lines("tophits-notify@.service", "user")
    assert "SupplementaryGroups=systemd-journal" in system
    assert "ExecStart=/opt/tophits/bin/tophits notify --failed-unit %i --manager system" in system
    assert "ExecStart=/opt/tophits/bin/tophits notify --failed-unit %i --manager user" in user
    assert not any(line.startswith("SupplementaryGroups=") for line in user)


USER_HARDENING = {
    "NoNewPrivileges=yes",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "MemoryDenyWriteExecute=yes",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
}
# Need a mount, UTS or user namespace: an unprivileged user manager fails at start where those are restricted.
NEEDS_NAMESPACES = (
    "ProtectSystem=",
    "ProtectHome=",
    "PrivateTmp=",
    "PrivateUsers=",
    "PrivateDevices=",
    "ProtectKernel",
)


@pytest.mark.parametrize("name", [name for name in units.definitions() if name.endswith(".service")])
def test_user_units_get_the_unprivileged_hardening_and_nothing_that_needs_namespaces(name, tmp_path):
    lines = unit_lines(name, "user")
    assert set(lines) >= USER_HARDENING
    assert not [line for line in lines if line.startswith(NEEDS_NAMESPACES)]
    path = tmp_path / name
    path.write_text(units.render(name, "user", TOPHITS))
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(path)], capture_output=True, text=True, timeout=60
    )
    exposure = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout).group(1))
    assert exposure <= 6.5


# -- 3. journald priorities ------------------------------------------------------------------------------------
def test_under_journald_the_reason_for_a_failure_is_an_error_line(environment):
    write_config(environment, 'sources = ["deezer:worldwide"]\n')
    journald = {**os.environ, **environment, "JOURNAL_STREAM": "8:1234"}

    failed = subprocess.run([TOPHITS, "update"], capture_output=True, text=True, timeout=60, env=journald)
    plain = subprocess.run(
        [TOPHITS, "update"], capture_output=True, text=True, timeout=60, env={**journald} | {"JOURNAL_STREAM": ""}
    )

    assert failed.returncode == 4
    assert failed.stderr.startswith("<3>tophits: ")
    assert plain.stderr.startswith("tophits: ")


def test_under_journald_doctor_marks_errors_and_warnings_with_their_priorities(isolated_environment):
    write_config(isolated_environment, 'sources = ["deezer:worldwide"]\n')
    journald = {**os.environ, **isolated_environment, "JOURNAL_STREAM": "8:1234"}

    result = subprocess.run([TOPHITS, "doctor", "--offline"], capture_output=True, text=True, timeout=60, env=journald)

    assert "<3>✗ credentials: SPOTIPY_CLIENT_ID is not set" in result.stdout.splitlines()
    assert any(line.startswith("<4>! ") for line in result.stdout.splitlines())
    assert not any(line.startswith(("<3>✓", "<4>✓")) for line in result.stdout.splitlines())


# -- 5. the alert names this failure's error, or none --------------------------------------------------------------
def test_systemctl_timestamps_parse_in_utc_and_absent_ones_are_none():
    assert parse_timestamp("Wed 2026-12-02 06:04:31 UTC") == datetime.datetime(
        2026, 12, 2, 6, 4, 31, tzinfo=datetime.UTC
    )
    assert parse_timestamp("Wed 2026-12-02 06:04:31.704410 UTC") == datetime.datetime(
        2026, 12, 2, 6, 4, 31, 704410, tzinfo=datetime.UTC
    )
    assert parse_timestamp("") is None
    assert parse_timestamp("n/a") is None
    assert parse_timestamp("Wed 2026-12-02 06:04:31 CET") is None


def record_run(settings, started, exit_code, error):
    store = open_store(settings.paths.state_db)
    run = store.start_run("update", started)
    store.finish_run(run, now=started, result="failed", exit_code=exit_code, summary={"error": error})
    store.close()


def test_an_alert_never_quotes_an_earlier_runs_error(authorised, environment):
    record_run(authorised, at(CHART_DAY), 5, "every chart source failed (ConnectionError)")
    tail = "tophits: not authorised: no token at /var/lib/tophits/token.json; run `tophits auth`\n"

    next_day = at(CHART_DAY + datetime.timedelta(days=1))
    message = failed_unit_message(authorised, "tophits-update.service", 4, "exit-code", tail, next_day)

    assert message.body == (
        "tophits-update.service failed (exit 4: Spotify authorisation needed).\n"
        "No run record for this failure (it failed before recording one).\n"
        "Last log lines:\n"
        "tophits: not authorised: no token at /var/lib/tophits/token.json; run `tophits auth`\n"
        "Fix: tophits auth"
    )


def test_a_run_record_is_quoted_only_when_command_exit_code_and_start_match(authorised):
    started = at(CHART_DAY)
    run = {"command": "update", "exit_code": 5, "started_at": started.isoformat(), "summary": {"error": "x"}}
    assert matching_run([run], "tophits-update.service", 5, started) == run
    assert matching_run([run], "tophits-update.service", 4, started) is None
    later = started + datetime.timedelta(hours=1)
    assert matching_run([run], "tophits-update.service", 5, later) is None
    assert matching_run([run], "tophits-backup.service", 5, started) is None
    assert matching_run([run], "tophits-update.service", 5, None) is None
    # Records keep whole seconds: a run of an invocation that started 0.6 s into the second matches.
    assert matching_run([run], "tophits-update.service", 5, started + datetime.timedelta(seconds=0.6)) == run
    # Within one second only the invocation id tells two runs apart.
    this = {**run, "summary": {"error": "x", "invocation": "b2"}}
    assert matching_run([this], "tophits-update.service", 5, started, "b2") == this
    assert matching_run([this], "tophits-update.service", 5, started, "c3") is None


# -- 6. a broken config.toml still alerts -----------------------------------------------------------------------
def test_a_broken_config_alerts_through_the_last_channels_that_worked(authorised, environment, recorder):  # noqa: F811
    config = write_config(
        environment,
        f'sources = ["deezer:worldwide"]\n[[notify.channels]]\nwebhook = "{recorder.url}/alerts"\n'
        'severities = ["critical", "warning"]\n',
    )
    assert runner.invoke(app, ["update"]).exit_code != 0  # the emulator has no chart: any outcome keeps the channels
    kept = Path(environment["TOPHITS_STATE_DIR"]) / fallback.FILE_NAME
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert CLIENT_SECRET not in kept.read_text()
    config.write_text("sources = [\n")  # broken TOML

    result = runner.invoke(app, ["notify", "--failed-unit", "tophits-update.service", "--manager", "system"])

    assert result.exit_code == 0, result.output
    assert "alerting through the last notification channels that worked" in result.stderr
    assert "not valid TOML" in result.stderr
    assert [body["title"] for body in recorder.bodies("/alerts")] == ["tophits: tophits-update.service failed"]


def test_a_broken_config_with_no_channels_kept_still_exits_3(environment):
    write_config(environment, "sources = [\n")

    result = runner.invoke(app, ["notify", "--failed-unit", "tophits-update.service"])

    assert result.exit_code == 3
    assert "not valid TOML" in result.stderr


def test_remembering_writes_only_when_the_channels_change(settings, environment):
    Path(environment["TOPHITS_STATE_DIR"]).mkdir(parents=True)
    write_config(environment, '[[notify.channels]]\nwebhook = "http://127.0.0.1:9/a"\n')
    first = load_settings(environment)

    assert fallback.remember(first) is True
    assert fallback.remember(first) is False
    recalled = fallback.recall(first.paths.state_dir)
    assert recalled is not None and [c.url for c in recalled.channels] == ["http://127.0.0.1:9/a"]


# -- 2. doctor on a system install -----------------------------------------------------------------------------
def system_install(environment, monkeypatch, tmp_path, env_mode):
    """A config directory as systemd hands it to a system unit, with .env at `env_mode`."""
    config_dir = tmp_path / "etc-tophits"
    config_dir.mkdir(mode=0o755)
    env_file = config_dir / ".env"
    env_file.write_text("SPOTIPY_CLIENT_ID=id\nSPOTIPY_CLIENT_SECRET=secret\n")
    env_file.chmod(env_mode)
    monkeypatch.delenv("TOPHITS_CONFIG_DIR")
    monkeypatch.setenv("CONFIGURATION_DIRECTORY", str(config_dir))
    return env_file


def test_doctor_accepts_a_0640_env_in_systemds_read_only_config_directory(environment, monkeypatch, tmp_path):
    env_file = system_install(environment, monkeypatch, tmp_path, 0o640)

    result = runner.invoke(app, ["doctor", "--offline", "--fix"])

    group = grp.getgrgid(os.getgid()).gr_name
    assert f"✓ paths: .env is 0640 root:{group}: the service reads, others cannot" in result.output
    assert (
        f"config directory {env_file.parent} (from CONFIGURATION_DIRECTORY, read-only to the service)" in result.output
    )
    assert "not writable" not in result.output
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640  # --fix left it alone


def test_doctor_flags_a_world_readable_env_in_the_system_config_with_the_0640_fix(environment, monkeypatch, tmp_path):
    env_file = system_install(environment, monkeypatch, tmp_path, 0o644)

    result = runner.invoke(app, ["doctor", "--offline"])

    group = grp.getgrgid(os.getgid()).gr_name
    assert f"✗ paths: {env_file} is mode 0644: others can read your secrets" in result.output
    assert f"fix: chown root:{group} {env_file} && chmod 0640 {env_file}" in result.output
    assert "chmod 600" not in result.output


def test_notify_manager_must_be_system_or_user(environment):
    write_config(environment, '[[notify.channels]]\nwebhook = "http://127.0.0.1:9/a"\n')
    result = runner.invoke(app, ["notify", "--failed-unit", "tophits-update.service", "--manager", "both"])
    assert result.exit_code == 2
    assert "--manager 'both': give system or user" in result.stderr


def test_kept_channels_hold_the_notify_table_only(settings, environment):
    Path(environment["TOPHITS_STATE_DIR"]).mkdir(parents=True)
    write_config(
        environment,
        'prefix = "x"\n[notify]\nping_update = "http://127.0.0.1:9/p"\n'
        '[[notify.channels]]\nwebhook = "http://127.0.0.1:9/a"\n',
    )
    fallback.remember(load_settings(environment))
    kept = json.loads((Path(environment["TOPHITS_STATE_DIR"]) / fallback.FILE_NAME).read_text())
    assert set(kept) == {"ping_update", "channels"}
