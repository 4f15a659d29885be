"""The command line, through Typer's CliRunner and as a real `tophits` process against the emulator."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import typer
from conftest import CHART_DAY, WORLD_START, WORLDWIDE, TophitsRunner, at, lock_held_by_another_process, no_sleep

from spotify_tophits import __version__
from spotify_tophits.arguments import hoist_global_options
from spotify_tophits.cli import app
from spotify_tophits.sandbox.server import CLIENT_SECRET, Emulator
from spotify_tophits.services import Clock
from spotify_tophits.store import SCHEMA_VERSION, open_store

TOPHITS = str(Path(sys.executable).parent / "tophits")
runner = TophitsRunner()


def tophits(*arguments: str, environment: dict[str, str] | None = None, **options) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [TOPHITS, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(environment or {})},
        stdin=subprocess.DEVNULL,
        **options,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_help_lists_every_command_as_a_real_process():
    result = tophits("--help")

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert result.returncode == 0
    assert set(commands) == {
        "auth", "update", "demo", "status", "show", "doctor", "backup", "restore", "notify", "systemd", "profiles"
    }  # fmt: skip
    for name, command in commands.items():
        # Each command starts a row of the Commands panel, followed by the start of its help.
        assert re.search(rf"^\W*{name} +{' '.join(command.help.split()[:3])}", result.stdout, re.MULTILINE), name


def test_version_from_the_console_script_and_python_dash_m():
    expected = f"tophits {__version__} (state schema {SCHEMA_VERSION})\n"
    assert tophits("--version").stdout == expected
    module = subprocess.run(
        [sys.executable, "-m", "spotify_tophits", "--version"], capture_output=True, text=True, timeout=60
    )
    assert module.stdout == expected


def test_help_does_not_import_spotipy():
    code = "import sys; from spotify_tophits.cli import app; print('spotipy' in sys.modules, 'requests' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False False"


def test_update_without_credentials_exits_3_with_one_line(isolated_environment):
    result = runner.invoke(app, ["update"])

    assert result.exit_code == 3
    assert result.output.count("\n") == 1
    assert result.output.startswith("tophits: SPOTIPY_CLIENT_ID is not set; set it in ")


def test_localhost_redirect_uri_exits_3(environment):
    result = runner.invoke(app, ["update"], env={"SPOTIPY_REDIRECT_URI": "http://localhost:8888/callback"})

    assert result.exit_code == 3
    assert "Spotify rejects 'localhost' redirect URIs" in result.output


def test_update_without_a_token_in_a_scheduled_run_exits_4_without_prompting(environment, emulator: Emulator, world):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(WORLD_START))

    started = time.monotonic()
    result = tophits("update", environment=environment)

    assert time.monotonic() - started < 20
    assert result.returncode == 4
    assert result.stderr.strip().endswith("run `tophits auth`")
    assert "Traceback" not in result.stderr


def test_update_prints_a_plain_summary_when_piped(authorised, environment, emulator: Emulator, world):

    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))

    result = runner.invoke(app, ["update"])

    assert result.exit_code == 0, result.output
    assert "source deezer:worldwide: 100 rows" in result.output
    assert "Daily Hits: 50/50 tracks, +50 -0 (0 unchanged), created, 1 writes" in result.output
    again = runner.invoke(app, ["update", "daily"])
    assert again.exit_code == 0
    assert "source deezer:worldwide: today's chart already stored" in again.output
    assert "Daily Hits: 50/50 tracks, +0 -0 (50 unchanged), unchanged" in again.output
    assert "0 new chart rows" in again.output


def test_update_with_an_unknown_playlist_is_a_usage_error(authorised):
    result = runner.invoke(app, ["update", "hourly"])
    assert result.exit_code == 2
    assert "unknown playlist hourly" in result.output


def test_update_while_another_run_holds_the_lock_exits_5_naming_the_pid(authorised, environment):
    with lock_held_by_another_process(authorised.paths.lock_file) as pid:
        result = tophits("update", environment=environment)

    assert result.returncode == 5
    assert f"pid {pid}" in result.stderr


def test_an_unexpected_error_exits_1_without_traceback_and_never_shows_locals(authorised, monkeypatch):
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        secret = CLIENT_SECRET  # a local that a pretty traceback with locals would print
        raise ValueError(f"boom {len(secret)}")

    monkeypatch.setattr("spotify_tophits.actions.update.run_update", broken)

    quiet = runner.invoke(app, ["update"])
    loud = runner.invoke(app, ["-v", "update"])

    assert quiet.exit_code == loud.exit_code == 1
    assert "internal error: ValueError: boom" in quiet.output
    assert "Traceback" not in quiet.output
    assert "Traceback" in loud.output
    assert CLIENT_SECRET not in loud.output


def start_auth(environment: dict[str, str], port: int) -> subprocess.Popen[str]:
    """Start `tophits auth` as a real process with the redirect URI on the given loopback port."""
    return subprocess.Popen(
        [TOPHITS, "auth"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **environment, "SPOTIPY_REDIRECT_URI": f"http://127.0.0.1:{port}/callback"},
    )


def read_prompt(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Read what `tophits auth` prints up to its instructions; return the authorise URL and the text."""
    assert process.stdout is not None
    lines: list[str] = []
    url = ""
    while not any(marker in "".join(lines) for marker in ("below.", "paste that page")):
        line = process.stdout.readline()
        assert line, "tophits auth ended before printing its instructions"
        lines.append(line)
        if "/authorize?" in line:
            url = line.strip()
    return url, "".join(lines)


def finish(process: subprocess.Popen[str], answer: str = "") -> tuple[str, str]:
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    if answer:
        process.stdin.write(answer)
    process.stdin.close()
    process.wait(timeout=60)
    return process.stdout.read(), process.stderr.read()


def test_auth_reads_a_pasted_redirect_url_when_the_port_is_busy(environment, emulator: Emulator):
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        process = start_auth(environment, port)
        url, prompt = read_prompt(process)
        location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
        output, errors = finish(process, location + "\n")

    assert process.returncode == 0, errors
    assert "paste the full address" in prompt
    assert "Authorised as Sandbox Listener (sandbox-user)." in output
    token_file = Path(environment["TOPHITS_STATE_DIR"]) / "token.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = json.loads(token_file.read_text())
    assert token["access_token"] not in output + errors
    assert token["refresh_token"] not in output + errors
    assert CLIENT_SECRET not in output + errors


def test_auth_catches_the_redirect_itself_when_the_port_is_free(environment, emulator: Emulator):
    port = free_port()
    process = start_auth(environment, port)
    url, prompt = read_prompt(process)
    # The "browser" follows Spotify's redirect to the listener tophits opened on the port.
    page = requests.get(url, timeout=10)
    output, errors = finish(process)

    assert page.text.startswith("tophits: authorisation received")
    assert process.returncode == 0, errors
    assert "Waiting for the browser" in prompt
    assert "Authorised as Sandbox Listener" in output


def test_auth_status_shows_the_user_and_token_age_but_no_secret(authorised):
    result = runner.invoke(app, ["auth", "--status"])

    assert result.exit_code == 0
    assert "Authorised as Sandbox Listener (sandbox-user)" in result.output
    assert "authorised: 2026-10-01 06:00 UTC (40 d 1 h ago)" in result.output
    assert "refresh token expires: 2027-04-01" in result.output
    token = json.loads(authorised.paths.token_file.read_text())
    assert token["access_token"] not in result.output and token["refresh_token"] not in result.output


def test_auth_status_without_a_token_exits_4(environment):
    result = runner.invoke(app, ["auth", "--status"])
    assert result.exit_code == 4
    assert "Run `tophits auth`" in result.output


def test_update_killed_with_sigkill_mid_run_leaves_a_state_the_next_run_completes(
    authorised, environment, emulator: Emulator, world
):

    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))
    emulator.inject_delay("PUT", r"/v1/playlists/.*/items", 30)
    process = subprocess.Popen([TOPHITS, "update"], env={**os.environ, **environment}, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while emulator.count("PUT /playlists/{id}/items") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    emulator.faults.clear()

    # The killed process ran on the machine's clock (a real process cannot be given another), so the run
    # that completes its work does too: both see the same day (barring a midnight between them).
    result = runner.invoke(app, ["update"], obj=Clock(sleep=no_sleep))

    assert result.exit_code == 0, result.output
    store = open_store(authorised.paths.state_db)
    runs = [run["result"] for run in store.recent_runs()]
    records = store.managed_playlists()
    store.close()
    assert runs == ["ok", "interrupted"]
    assert len(records) == 4
    for record in records:
        assert emulator.playlists[record.spotify_id].items == list(record.contents)
    # Each playlist was created once, even though the first run died after creating some.
    assert len(emulator.user_playlists()) == 4


def test_demo_runs_the_pipeline_across_a_month_end(isolated_environment):
    result = runner.invoke(app, ["demo", "--days", "3", "--last-day", "2026-11-01"])

    assert result.exit_code == 0, result.output
    assert "Simulated 3 days, 2026-10-30 to 2026-11-01" in result.output
    assert "Monthly Hits — October 2026 (final): " in result.output
    assert "Daily Hits: 50 tracks" in result.output
    # It ends with the top 10 of Daily Hits as `tophits show` prints it, moves from the day before included.
    table = result.output.split("Daily Hits, top 10\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[2].split()[:2] == ["#", "move"]
    assert [row.split()[0] for row in table[3:]] == [str(position) for position in range(1, 11)]
    assert any(re.match(r"^\s*\d+\s+(▲\d+|▼\d+|=|NEW|RE)\s", row) for row in table[3:])


def test_demo_without_a_last_day_ends_on_the_day_of_the_clock_it_is_given(isolated_environment):
    result = runner.invoke(app, ["demo", "--days", "2"], now=at(datetime.date(2027, 1, 1), 9))

    assert result.exit_code == 0, result.output
    assert "Simulated 2 days, 2026-12-31 to 2027-01-01" in result.output


def test_demo_as_a_real_process_keeps_its_state_when_asked(tmp_path: Path):
    result = tophits("demo", "--days", "2", "--last-day", "2026-11-01", "--dir", str(tmp_path / "demo"))

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "state" / "state.db").exists()
    assert stat.S_IMODE((tmp_path / "demo" / "state" / "token.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("arguments", [["-v", "update"], ["update", "-v"]], ids=["before", "after"])
def test_update_verbose_lists_unmatched_rows_with_v_before_or_after_the_command(
    authorised, emulator: Emulator, world, arguments
):
    chart = world.chart(CHART_DAY)
    emulator.set_deezer_chart(WORLDWIDE, chart)
    missing = next(song for song in chart if song.spotify_id is None)

    result = runner.invoke(app, arguments)

    assert result.exit_code == 0, result.output
    assert "unmatched rows (not on Spotify, or no candidate agreed on title and artist):" in result.output
    assert f"deezer:worldwide: {missing.artists[0]} – {missing.title}" in result.output


def test_update_with_a_revoked_refresh_token_exits_4(authorised, emulator: Emulator, world):

    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))
    emulator.revoke_refresh_tokens()

    result = runner.invoke(app, ["update"])

    assert result.exit_code == 4, result.output
    assert "invalid_grant" in result.output and "run `tophits auth`" in result.output


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        (["update", "-v"], ["-v", "update"]),
        (["update", "daily", "-vv", "--dry-run"], ["-vv", "update", "daily", "--dry-run"]),
        (["status", "-q", "--json"], ["-q", "status", "--json"]),
        (["--profile", "work", "status", "--verbose"], ["--profile", "work", "--verbose", "status"]),
        (["show", "--profile", "work", "weekly"], ["--profile", "work", "show", "weekly"]),
        (["show", "--profile=work"], ["--profile=work", "show"]),
        (["backup", "list", "-q"], ["-q", "backup", "list"]),
        # doctor has its own --quiet; what follows `--` is never an option.
        (["doctor", "--quiet"], ["doctor", "--quiet"]),
        (["update", "--", "-v"], ["update", "--", "-v"]),
        (["-v", "update"], ["-v", "update"]),
    ],
)
def test_global_options_after_the_command_are_moved_before_it_unless_the_command_has_its_own(typed, parsed):
    root = typer.main.get_command(app)

    assert hoist_global_options(typed, root.params, root.commands) == parsed  # type: ignore[attr-defined]


def test_status_q_after_the_command_is_accepted_and_doctor_quiet_stays_doctors(settings):
    status = runner.invoke(app, ["status", "-q"])
    doctor = runner.invoke(app, ["doctor", "--offline", "--quiet"])

    assert status.exit_code == 0, status.output
    # doctor's own --quiet prints only the problems: no ✓ line.
    assert "✗" in doctor.output and "✓" not in doctor.output


@pytest.mark.parametrize("arguments", [["--help"], ["--version"]])
def test_a_reader_that_closes_the_pipe_early_is_not_an_internal_error(arguments: list[str]):
    # As `tophits … | head -1` does once it has its line: the pipe is closed before tophits writes.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run([TOPHITS, *arguments], stdout=writer, stderr=subprocess.PIPE, timeout=60, check=False)
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (0, b"")
