"""Database errors after opening (issue 13, item 7): exit 5 or 6 with the fix in one line, the run record closed
as failed, and `status --check` answering 3 UNKNOWN instead of a traceback."""

from __future__ import annotations

import contextlib
import datetime
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CHART_DAY, WORLD_START, WORLDWIDE, Simulation, TophitsRunner

from spotify_tophits.cli import app
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World

TOPHITS = str(Path(sys.executable).parent / "tophits")
runner = TophitsRunner()


def test_update_on_a_full_disk_exits_5_with_the_fix_and_no_run_stays_marked_running(
    authorised, environment, emulator: Emulator, world: World
):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))
    state_db = authorised.paths.state_db
    first = runner.invoke(app, ["update", "daily"])
    assert first.exit_code == 0, first.output
    size = 64 * 1024  # the WAL may grow by a few pages, not by a chart's worth

    def full_disk() -> None:
        # No file may grow past 64 KiB: SQLite's WAL fails to grow as on a full disk.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY + datetime.timedelta(days=1)))
    result = subprocess.run(
        [TOPHITS, "update", "--force"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=full_disk,
        env=dict(os.environ),
    )

    assert result.returncode == 5, result.stdout + result.stderr
    assert "free disk space" in result.stderr and "then retry" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    # With the disk full the run record cannot be closed then; the next run, with space, closes it.
    again = runner.invoke(app, ["update", "--force"])
    assert again.exit_code == 0, again.output
    with contextlib.closing(sqlite3.connect(state_db)) as database:
        results = [row[0] for row in database.execute("SELECT result FROM runs ORDER BY id")]
    assert "running" not in results


def test_status_check_on_a_damaged_state_db_answers_3_unknown_without_a_traceback(
    authorised, environment, emulator, world
):
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))
    assert runner.invoke(app, ["update", "daily"]).exit_code == 0
    state_db = authorised.paths.state_db
    with contextlib.closing(sqlite3.connect(state_db)) as database:
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(state_db.read_bytes())
    for page in range(1, len(data) // 4096):
        data[page * 4096 : page * 4096 + 100] = b"\xfe" * 100
    state_db.write_bytes(bytes(data))

    result = runner.invoke(app, ["status", "--check"])

    assert result.exit_code == 3, result.output
    assert result.output.startswith("TOPHITS UNKNOWN - ")
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output


def _can_mount_read_only() -> str | None:
    """Why a read-only bind mount cannot be made here, or None when it can."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        return "needs root with unshare and mount to make a read-only bind mount"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return None if probe.returncode == 0 else "unshare -m is not allowed here"


@pytest.mark.skipif(_can_mount_read_only() is not None, reason=str(_can_mount_read_only()))
def test_status_show_and_doctor_offline_read_a_state_directory_on_a_read_only_mount_and_say_so(
    simulation: Simulation, authorised
):
    # A read-only mount stops root too (chmod would not): the real case of a full or remounted disk.
    simulation.run_days(WORLD_START, 3)
    state = authorised.paths.state_dir
    script = f"mount --bind {state} {state} && mount -o remount,ro,bind {state} && " + " ; ".join(
        f"{sys.executable} -m spotify_tophits {command} > {{out}}/{index}.out 2>&1; echo $? > {{out}}/{index}.rc"
        for index, command in enumerate(("status", "status --check", "show", "doctor --offline"))
    )
    out = state.parent / "outputs"
    out.mkdir()
    subprocess.run(["unshare", "-m", "sh", "-c", script.format(out=out)], check=True, timeout=120)
    result = {index: (int((out / f"{index}.rc").read_text()), (out / f"{index}.out").read_text()) for index in range(4)}

    status, check, show, doctor = result.values()
    assert status[0] == 0 and "Daily Hits: 50/50 tracks" in status[1]
    assert f"state directory {state} is on a read-only file system" in status[1]
    # At least a warning for the read-only directory (the real clock may add a stale token's critical).
    assert check[0] in (1, 2) and check[1].startswith(("TOPHITS WARNING", "TOPHITS CRITICAL"))
    assert show[0] == 0 and "Daily Hits" in show[1]
    assert doctor[0] == 1  # a failed check, by design: nothing can be written
    assert "✓ state: state DB healthy" in doctor[1]
    assert f"✗ paths: state directory {state} is on a read-only file system" in doctor[1]
    assert f"fix: remount {state} read-write" in doctor[1]
    assert "Traceback" not in "".join(text for _, text in result.values())
