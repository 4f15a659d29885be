"""Database errors after opening (issue 13, item 7): exit 5 or 6 with the fix in one line, the run record closed
as failed, and `status --check` answering 3 UNKNOWN instead of a traceback."""

from __future__ import annotations

import contextlib
import datetime
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import CHART_DAY, WORLDWIDE, TophitsRunner

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
