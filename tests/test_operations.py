"""Operations: systemd units, `systemd install`, notifications, pings, metrics and journald logging."""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from conftest import CHART_DAY, WORLDWIDE, TophitsRunner, at, write_config
from prometheus_client.parser import text_string_to_metric_families

from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.ops import units
from spotify_tophits.ops.notify import Message, failed_unit_message, send
from spotify_tophits.sandbox.server import CLIENT_SECRET
from spotify_tophits.store import open_store

ROOT = Path(__file__).parents[1]
TOPHITS = str(Path(sys.executable).parent / "tophits")
runner = TophitsRunner()


def rendered(tmp_path: Path, flavour: str) -> list[Path]:
    directory = tmp_path / flavour
    directory.mkdir()
    paths = []
    for name in units.definitions("Europe/Berlin"):
        path = directory / name
        path.write_text(units.render(name, flavour, TOPHITS, "Europe/Berlin"))
        paths.append(path)
    return paths


# -- units -------------------------------------------------------------------------------------------------
def test_shipped_units_are_rendered_from_the_one_definition():
    for flavour in ("system", "user"):
        for name in units.definitions():
            shipped = (ROOT / "systemd" / flavour / name).read_text()
            assert shipped == units.render(name, flavour, "/usr/local/bin/tophits"), f"{flavour}/{name} drifted"


@pytest.mark.parametrize("flavour", ["system", "user"])
def test_systemd_analyze_verify_accepts_every_unit(tmp_path, flavour):
    paths = rendered(tmp_path, flavour)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, paths)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_every_on_calendar_parses():
    calendars = [
        line.split("=", 1)[1]
        for name in units.definitions("Europe/Berlin")
        for line in units.render(name, "system", TOPHITS, "Europe/Berlin").splitlines()
        if line.startswith("OnCalendar=")
    ]
    # The plain timers, then their profile templates' twins.
    assert (
        calendars
        == [
            "*-*-* 06:00:00 Europe/Berlin",
            "*-*-* 03:30:00 Europe/Berlin",
            "*-*-* 07:30:00 Europe/Berlin",
        ]
        * 2
    )
    for calendar in calendars:
        result = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "Next elapse:" in result.stdout


@pytest.mark.parametrize(
    "name", ["tophits-update.service", "tophits-backup.service", "tophits-notify@.service", "tophits-doctor.service"]
)
def test_system_services_are_hardened_to_an_exposure_of_two_or_less(tmp_path, name):
    rendered(tmp_path, "system")
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(tmp_path / "system" / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    exposure = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout).group(1))
    assert exposure <= 2.0


def test_every_exec_start_names_a_real_subcommand_and_options():
    command = typer.main.get_command(app)
    for flavour in ("system", "user"):
        for name in units.definitions():
            for line in units.render(name, flavour, TOPHITS).splitlines():
                if not line.startswith("ExecStart="):
                    continue
                arguments = shlex.split(line.split("=", 1)[1].replace("%i", "tophits-update.service"))[1:]
                with command.make_context("tophits", [], resilient_parsing=True) as context:
                    sub_command = command.get_command(context, arguments[0])  # type: ignore[attr-defined]
                    assert sub_command is not None, f"{name}: no subcommand {arguments[0]}"
                    # Parsing the rest raises for any option the subcommand does not have.
                    sub_command.make_context(arguments[0], arguments[1:], parent=context)


def test_every_non_obvious_directive_is_commented():
    text = (ROOT / "systemd" / "system" / "tophits-update.service").read_text()
    lines = text.splitlines()
    for needle in (
        "Type=oneshot",
        "TimeoutStartSec=",
        "UMask=0077",
        "LoadCredential=",
        "ProtectSystem=strict",
        "Nice=10",
    ):
        index = next(i for i, line in enumerate(lines) if line.startswith(needle))
        assert lines[index - 1].startswith("#"), needle
    assert "Restart=" not in [line.split("=")[0] + "=" for line in lines if not line.startswith("#")]


def test_systemd_install_dry_run_for_both_flavours(environment, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = runner.invoke(app, ["systemd", "install", "--user", "--dry-run"])
    # --force: this checkout's Python may live under /root (a pyenv), which the system units cannot see.
    system = runner.invoke(app, ["systemd", "install", "--system", "--dry-run", "--force"])

    assert user.exit_code == 0 and system.exit_code == 0
    assert f"# --- {tmp_path}/xdg/systemd/user/tophits-update.service" in user.output
    assert f"ExecStart={TOPHITS} update" in user.output
    assert (
        "systemctl --user daemon-reload\n"
        "systemctl --user enable --now tophits-update.timer tophits-backup.timer tophits-doctor.timer" in user.output
    )
    assert "User=tophits" not in user.output
    assert "# --- /etc/systemd/system/tophits-update.service" in system.output
    assert (
        "useradd --system --user-group --home-dir /var/lib/tophits --shell /usr/sbin/nologin tophits" in system.output
    )
    assert "ProtectSystem=strict" in system.output
    assert not (tmp_path / "xdg").exists()


def test_install_writes_rendered_files_where_asked(tmp_path):
    plan = units.plan_install("user", "UTC", TOPHITS, tmp_path / "units")
    done = units.apply_install(units.InstallPlan(plan.flavour, plan.files, ()))
    assert sorted(p.name for p in (tmp_path / "units").iterdir()) == sorted(units.definitions())
    assert done[0] == f"wrote {tmp_path}/units/tophits-update.service"
    uninstall = units.plan_uninstall("user", tmp_path / "units")
    assert uninstall.commands[0] == ("systemctl", "--user", "disable", "--now", *units.TIMERS)


# -- notifications and pings ----------------------------------------------------------------------------------
class Recorder:
    """A loopback HTTP server that records every request (path and body) and answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorder.requests.append(("POST", self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # shutdown() waits for the serving loop to look up: poll often, or every test pays half a second.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self, path: str) -> list[dict]:  # type: ignore[type-arg]
        return [json.loads(body) for _, p, body in self.requests if p == path]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.server.shutdown()


def channels_config(recorder: Recorder, extra: str = "") -> str:
    return (
        f'[[notify.channels]]\nwebhook = "{recorder.url}/critical-only"\nseverities = ["critical"]\n'
        f'[[notify.channels]]\nwebhook = "{recorder.url}/warnings"\nseverities = ["warning", "info"]\n' + extra
    )


def test_notifications_are_routed_by_severity(environment, recorder):
    write_config(environment, channels_config(recorder))
    settings = load_settings(environment)

    critical = send(settings, Message("critical", "t", "auth needs renewal"), at(CHART_DAY))
    warning = send(settings, Message("warning", "t", "token expiring"), at(CHART_DAY))

    assert critical.sent == ["webhook channel 1"] and warning.sent == ["webhook channel 2"]
    assert [b["message"] for b in recorder.bodies("/critical-only")] == ["auth needs renewal"]
    assert [b["message"] for b in recorder.bodies("/warnings")] == ["token expiring"]
    body = recorder.bodies("/critical-only")[0]
    assert set(body) == {"source", "host", "time", "severity", "title", "message", "findings"}


def test_notify_test_sends_to_every_channel(environment, recorder):
    write_config(environment, channels_config(recorder))

    result = runner.invoke(app, ["notify", "--test"])

    assert result.exit_code == 0, result.output
    assert [b["severity"] for b in recorder.bodies("/critical-only")] == ["critical"]
    assert [b["severity"] for b in recorder.bodies("/warnings")] == ["warning", "info"]


def test_failed_unit_message_says_what_failed_and_the_fix(authorised, environment):
    write_config(environment, 'sources = ["deezer:worldwide"]\n')
    store = open_store(authorised.paths.state_db)
    run = store.start_run("update", at(CHART_DAY))
    store.finish_run(
        run,
        now=at(CHART_DAY, 7),
        result="failed",
        exit_code=4,
        summary={"error": "Spotify refused the refresh token (invalid_grant)"},
    )
    store.close()

    unit_started = at(CHART_DAY)
    message = failed_unit_message(
        load_settings(environment), "tophits-update.service", 4, "exit-code", "", unit_started
    )

    assert message.severity == "critical"
    assert message.body == (
        "tophits-update.service failed (exit 4: Spotify authorisation needed).\n"
        "Last error: Spotify refused the refresh token (invalid_grant)\n"
        "Fix: tophits auth"
    )
    temporary = failed_unit_message(load_settings(environment), "tophits-update.service", 5, "exit-code", "")
    assert temporary.severity == "warning"


def test_update_pings_start_and_success_and_a_dead_channel_does_not_fail_it(
    authorised, environment, emulator, world, recorder
):
    write_config(
        environment,
        f'[notify]\nping_update = "{recorder.url}/ping/abc"\n'
        '[[notify.channels]]\nwebhook = "http://127.0.0.1:9/dead"\nseverities = ["info"]\n',
    )
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))

    result = runner.invoke(app, ["update"])

    assert result.exit_code == 0, result.output
    assert [(method, path) for method, path, _ in recorder.requests] == [
        ("POST", "/ping/abc/start"),
        ("POST", "/ping/abc"),
    ]


def test_a_failing_update_pings_fail_with_a_short_log_and_no_secret(authorised, environment, emulator, recorder):
    write_config(environment, f'[notify]\nping_update = "{recorder.url}/ping/abc"\n')
    emulator.inject("GET", r"/deezer/.*", status=503, times=100)

    result = runner.invoke(app, ["update"])

    assert result.exit_code == 5
    assert [path for _, path, _ in recorder.requests] == ["/ping/abc/start", "/ping/abc/fail"]
    log = recorder.requests[1][2].decode()
    assert log.startswith("exit 5: every chart source failed")
    assert CLIENT_SECRET not in log


# -- metrics ---------------------------------------------------------------------------------------
def test_metrics_textfile_parses_and_is_replaced_atomically(authorised, environment, emulator, world, tmp_path):
    textfile = tmp_path / "collector" / "tophits.prom"
    textfile.parent.mkdir()
    write_config(environment, f'[metrics]\ntextfile = "{textfile}"\n')
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))

    assert runner.invoke(app, ["update"]).exit_code == 0
    first_inode = textfile.stat().st_ino
    assert runner.invoke(app, ["update"]).exit_code == 0

    assert textfile.stat().st_ino != first_inode
    assert [p.name for p in textfile.parent.iterdir()] == ["tophits.prom"]
    assert textfile.stat().st_mode & 0o777 == 0o644
    families = {family.name: family for family in text_string_to_metric_families(textfile.read_text())}
    assert {
        "tophits_info",
        "tophits_last_run_timestamp_seconds",
        "tophits_last_success_timestamp_seconds",
        "tophits_run_duration_seconds",
        "tophits_run_failures_consecutive",
        "tophits_api_requests",
        "tophits_playlist_tracks",
        "tophits_refresh_token_expiry_timestamp_seconds",
    } <= set(families)
    tracks = {sample.labels["playlist"]: sample.value for sample in families["tophits_playlist_tracks"].samples}
    assert tracks["daily"] == 50
    assert families["tophits_run_failures_consecutive"].samples[0].value == 0


# -- logging ---------------------------------------------------------------------------------------
def test_under_journald_log_lines_carry_syslog_priorities(environment):
    write_config(environment, '[[notify.channels]]\nwebhook = "http://127.0.0.1:9/dead"\nseverities = ["critical"]\n')
    result = subprocess.run(
        [TOPHITS, "notify", "--test"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **environment, "JOURNAL_STREAM": "8:1234"},
    )
    assert result.returncode == 5
    assert "<4>notification not delivered (webhook channel 1: ConnectionError" in result.stderr
