"""The fast commands stay fast: each is run as a real process on a terminal, and the heavy modules it
must not import are read from its `sys.modules` (a behaviour, not a timing; the timings live in
benchmarks/run.py)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import WORLD_START, Simulation

# What a command that reads local state only must never load: the Spotify client and HTTP stack,
# the fuzzy matcher, and pydantic (Typer converts option values through it unless cli.py's
# deferred coercion spares it).
NETWORK_AND_MATCHING = ("spotipy", "requests", "rapidfuzz", "pydantic")
HEAVY = (*NETWORK_AND_MATCHING, "rich")
PROBE = """
import sys
from pathlib import Path

report = Path(sys.argv[1])
sys.argv = ["tophits", *sys.argv[2:]]
from spotify_tophits.cli import main

code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code
finally:
    report.write_text(" ".join([str(code), *(name for name in HEAVY if name in sys.modules)]))
"""


def heavy_imports(arguments: list[str], report: Path) -> tuple[int, set[str], str]:
    """Run tophits on a pseudo-terminal (stdout and stderr); return its exit code, the heavy modules
    imported and what it wrote."""
    controller, terminal = pty.openpty()
    written: list[bytes] = []
    # A terminal's buffer is small: read what the command writes so that it never blocks.
    drain = threading.Thread(target=_drain, args=(controller, written), daemon=True)
    drain.start()
    try:
        subprocess.run(
            [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", str(report), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        drain.join(timeout=10)
        os.close(controller)
    code, *modules = report.read_text().split()
    return int(code), set(modules), b"".join(written).decode(errors="replace")


def _drain(descriptor: int, written: list[bytes]) -> None:
    try:
        while chunk := os.read(descriptor, 65536):
            written.append(chunk)
    except OSError:  # EIO once the last writer has closed the terminal
        return


@pytest.fixture
def three_days(simulation: Simulation) -> Simulation:
    """An authorised installation with three days of charts and playlists in its state DB."""
    simulation.run_days(WORLD_START, 3)
    return simulation


def test_fast_commands_on_a_terminal_import_no_heavy_module(three_days: Simulation, tmp_path: Path):
    forbidden = {
        "--help": HEAVY,
        "status": NETWORK_AND_MATCHING,
        "status --json": HEAVY,
        "status --check": HEAVY,
        "doctor --offline": NETWORK_AND_MATCHING,
        "show": NETWORK_AND_MATCHING,
        "show --json": HEAVY,
        "show --csv": HEAVY,
    }

    runs = {command: heavy_imports(command.split(), tmp_path / "report") for command in forbidden}

    assert {command: modules & set(forbidden[command]) for command, (_, modules, _) in runs.items()} == {
        command: set() for command in forbidden
    }
    # Each did its real work. The subprocesses run on the real clock while the state was made on a fixed
    # day, so what --check and doctor find depends on the date: --check answers a level (not 3 UNKNOWN),
    # and doctor exits 0 or, by design, 1 for a failed check (a token gone stale) — never with a bug.
    codes = {command: code for command, (code, _, _) in runs.items()}
    assert codes.pop("status --check") in (0, 1, 2)
    assert codes.pop("doctor --offline") in (0, 1)
    assert "internal error" not in runs["doctor --offline"][2]
    assert "✓" in runs["doctor --offline"][2]
    assert codes == {command: 0 for command in forbidden if command not in ("status --check", "doctor --offline")}
