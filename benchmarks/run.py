"""Every benchmark in one run, printed as one table of figures against their goals.

    python benchmarks/run.py          # everything
    python benchmarks/run.py --cli    # only the CLI start-up figures (about a minute)

Run by hand (never in the test suite): requests against DESIGN §4's minimum, wall time with
80 ms of latency per request, CLI latency against `import typer`, backup and restore of five
years of history, peak memory, and how ranking scales with history. Takes a few minutes on two
cores; figures vary with the machine, the ratios much less.
"""

from __future__ import annotations

import compileall
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import cli_latency
import request_budget
import scale

import spotify_tophits
from spotify_tophits.actions.auth import authorise
from spotify_tophits.actions.demo import DEMO_CONFIG, follow_authorise_redirect
from spotify_tophits.actions.update import run_update
from spotify_tophits.config import load_settings
from spotify_tophits.ranking import Window, rank_tracks
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World
from spotify_tophits.services import Services
from spotify_tophits.store import open_store

LAST_DAY = datetime.date(2026, 11, 28)
TOPHITS = str(Path(sys.executable).parent / "tophits")
results: list[tuple[str, str, str, bool | None]] = []


def record(figure: str, value: str, goal: str = "", ok: bool | None = None) -> None:
    results.append((figure, value, goal, ok))
    mark = "" if ok is None else (" OK" if ok else " MISSED")
    print(f"  {figure}: {value}{' (goal ' + goal + ')' if goal else ''}{mark}", flush=True)


# A forked child starts with its parent's peak RSS and Linux keeps that figure across exec, so
# measuring from this (large) process would report the benchmark itself. A small launcher forks
# the command instead and reports the child's own peak.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured(command: list[str], environment: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a command; return wall seconds, its peak RSS in MiB, and the result."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], env=environment, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    *stderr, peak = result.stderr.rstrip("\n").split("\n")
    result.stderr = "\n".join(stderr)
    return elapsed, int(peak) / 1024, result


def environment_for(directory: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    (directory / "config").mkdir(parents=True, exist_ok=True)
    (directory / "config" / "config.toml").write_text(DEMO_CONFIG)
    return {
        **os.environ,
        "TOPHITS_CONFIG_DIR": str(directory / "config"),
        "TOPHITS_STATE_DIR": str(directory / "state"),
        **(extra or {}),
    }


def requests_section() -> None:
    print("requests (60 simulated days, 2 sources, 4 playlists)", flush=True)
    rows = request_budget.simulate(60)
    daily, repeat = rows[:-1], rows[-1]
    total = sum(r["tophits"] for r in daily)
    minimum = sum(r["minimum"] for r in daily)
    naive = sum(r["naive"] for r in daily)
    record(
        "requests / minimum",
        f"{total / minimum:.3f} ({total:.0f} vs {minimum:.0f})",
        "<= 1.10",
        total / minimum <= 1.10,
    )
    record("requests / naive", f"{total / naive:.3f} ({total:.0f} vs {naive:.0f})")
    record("requests per day after day 1", f"{statistics.mean(r['tophits'] for r in daily[1:]):.1f}")
    record(
        "repeat run: writes, searches, item reads",
        f"{repeat['writes']:.0f}, {repeat['searches']:.0f}, {repeat['item reads']:.0f}",
        "0 writes",
        repeat["writes"] == 0,
    )


def latency_section(directory: Path) -> None:
    print("wall time with 80 ms per request (emulator latency)", flush=True)
    world = World(start=LAST_DAY - datetime.timedelta(days=30))
    with Emulator(world) as emulator:
        environment = environment_for(directory, emulator.environment())
        settings = load_settings(environment)
        authorise(
            settings,
            follow_authorise_redirect,
            datetime.datetime.combine(LAST_DAY, datetime.time(5), tzinfo=datetime.UTC),
            time.sleep,
        )
        services = Services(settings)
        emulator.latency = 0.08
        for label, day, hour in (
            ("first-ever update (cold caches)", LAST_DAY - datetime.timedelta(days=1), 6),
            ("daily update", LAST_DAY, 6),
            ("repeat run", LAST_DAY, 7),
        ):
            emulator.publish_day(day)
            emulator.reset_counts()
            started = time.perf_counter()
            result = run_update(services, datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC))
            elapsed = time.perf_counter() - started
            spotify = (
                emulator.count("")
                - emulator.count("GET /deezer")
                - emulator.count("GET /apple")
                - emulator.count("GET /itunes")
            )
            record(
                f"{label}",
                f"{elapsed:.1f} s, {emulator.count('')} requests"
                f" ({spotify} Spotify, {sum(o.writes for o in result.playlists)} writes)",
            )


# The fast commands and their goals as multiples of `python -c 'import typer'` (issue #17).
CLI_GOALS = (
    ("tophits --help", ["--help"], 2.0),
    ("tophits status (1 year)", ["status"], 3.0),
    ("tophits status --json (1 year)", ["status", "--json"], 2.5),
    ("tophits status --check (1 year)", ["status", "--check"], 2.5),
    ("tophits show (1 year)", ["show"], 3.0),
    ("tophits show --json (1 year)", ["show", "--json"], 3.0),
    ("tophits show yearly --json (1 year)", ["show", "yearly", "--json"], 3.0),
    ("tophits doctor --offline (1 year)", ["doctor", "--offline"], 5.0),
)


def cli_section(directory: Path, one_year: Path, runs: int = 15) -> None:
    print(f"CLI latency (median of {runs} runs, taking turns) with a 1-year state DB", flush=True)
    environment = environment_for(directory)
    (directory / "state").mkdir(parents=True, exist_ok=True)
    shutil.copy(one_year, directory / "state" / "state.db")
    # An install (pip, pipx) compiles the package's bytecode, as it did Typer's; a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would compile every module from source on every run instead.
    compileall.compile_dir(Path(spotify_tophits.__file__).parent, quiet=1)
    for name, arguments, _ in CLI_GOALS:
        # A command that fails would be timed failing fast: each must do its real work first.
        result = subprocess.run([TOPHITS, *arguments], env=environment, capture_output=True, text=True, check=False)
        expected = (0, 1, 2) if "--check" in arguments or arguments[0] == "doctor" else (0,)
        assert result.returncode in expected, f"{name}: exit {result.returncode}: {result.stderr}"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        **{name: [TOPHITS, *arguments] for name, arguments, _ in CLI_GOALS},
    }
    load_before = os.getloadavg()[0]
    medians = cli_latency.interleaved_medians(commands, runs, environment)
    record("load average (1 min) before / after", f"{load_before:.2f} / {os.getloadavg()[0]:.2f}")
    typer_time = medians["python -c 'import typer'"]
    record("python -c pass", f"{medians['python -c pass'] * 1000:.0f} ms")
    record("python -c 'import typer'", f"{typer_time * 1000:.0f} ms")
    for name, _, goal in CLI_GOALS:
        ratio = medians[name] / typer_time
        record(name, f"{medians[name] * 1000:.0f} ms = {ratio:.2f} x import typer", f"<= {goal:.1f} x", ratio <= goal)
    probe = (
        "import sys\nfrom spotify_tophits.cli import app\ntry:\n    app(['status'])\nexcept SystemExit:\n    pass\n"
        "print('spotipy' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=False)
    imported = result.stderr.strip().splitlines()[-1] == "True"
    record("status imports spotipy", str(imported), "False", not imported)
    # show reads only local state: no slower than status on the same DB (figures above).
    for name in ("tophits show (1 year)", "tophits show --json (1 year)"):
        ratio = medians[name] / medians["tophits status (1 year)"]
        record(f"{name} / status", f"{ratio:.2f}", "<= 1.05 (no slower than status, within noise)", ratio <= 1.05)


def five_year_section(directory: Path, five_years: Path) -> None:
    print("5 years of history: backup, restore, memory", flush=True)
    environment = environment_for(directory)
    (directory / "state").mkdir(parents=True, exist_ok=True)
    shutil.copy(five_years, directory / "state" / "state.db")
    size = (directory / "state" / "state.db").stat().st_size
    record("5-year state DB", f"{size / 2**20:.0f} MiB")
    seconds, rss, result = measured(
        [TOPHITS, "backup", "--kind", "state", "--dest", str(directory / "backups")], environment
    )
    assert result.returncode == 0, result.stderr
    archive = next((directory / "backups").iterdir())
    record(
        "backup (5 years)",
        f"{seconds:.2f} s, archive {archive.stat().st_size / 2**20:.1f} MiB, peak {rss:.0f} MiB",
        "<= 5 s",
        seconds <= 5,
    )
    seconds, rss, result = measured([TOPHITS, "restore", str(archive), "--yes"], environment)
    assert result.returncode == 0, result.stderr
    record("restore (5 years, with its safety copy)", f"{seconds:.2f} s, peak {rss:.0f} MiB", "<= 5 s", seconds <= 5)
    seconds, rss, result = measured([TOPHITS, "status"], environment)
    assert result.returncode == 0, result.stderr
    record("status peak memory (5 years)", f"{rss:.0f} MiB ({seconds * 1000:.0f} ms)", "<= 80 MiB", rss <= 80)
    world = scale.world_for(5, LAST_DAY)
    with Emulator(world) as emulator:
        environment = {**environment, **emulator.environment()}
        settings = load_settings(environment)
        authorise(
            settings,
            follow_authorise_redirect,
            datetime.datetime.combine(LAST_DAY, datetime.time(5), tzinfo=datetime.UTC),
            time.sleep,
        )
        tomorrow = LAST_DAY + datetime.timedelta(days=1)
        emulator.publish_day(tomorrow)
        seconds, rss, result = measured([TOPHITS, "update"], environment)
    record(
        "update peak memory (5 years)",
        f"{rss:.0f} MiB ({seconds:.1f} s, exit {result.returncode})",
        "<= 150 MiB",
        rss <= 150 and result.returncode == 0,
    )


def ranking_section(one_year: Path, five_years: Path) -> None:
    print("ranking cost against history size (whole history as one window)", flush=True)
    per_row = []
    for label, path in (("1 year", one_year), ("5 years", five_years)):
        store = open_store(path)
        first, last = store.earliest_chart_date(), store.latest_chart_date(LAST_DAY)
        assert first is not None and last is not None
        rows = store.ranked_rows(first, last)
        store.close()
        window = Window("yearly", "all", first, last, first)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            rank_tracks(rows, window, 250, 3)
            timings.append(time.perf_counter() - started)
        seconds = min(timings)
        per_row.append(seconds / len(rows))
        record(f"rank {label}", f"{len(rows)} rows in {seconds * 1000:.0f} ms = {seconds / len(rows) * 1e6:.2f} µs/row")
    growth = per_row[1] / per_row[0]
    record("cost per row, 5 years / 1 year", f"{growth:.2f}", "about 1 (linear)", growth < 1.5)


def main() -> None:
    started = time.perf_counter()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {platform.platform()}"
    )
    with tempfile.TemporaryDirectory(prefix="tophits-bench-") as work:
        root = Path(work)
        if sys.argv[1:] == ["--cli"]:
            # Only the start-up figures, for a quiet moment on a shared machine.
            print("building the 1-year scale fixture", flush=True)
            scale.generate(root / "state-1y.db", 1, LAST_DAY)
            cli_section(root / "cli", root / "state-1y.db")
            summary(started)
            return
        print("building scale fixtures (1 and 5 years)", flush=True)
        one_year, five_years = root / "state-1y.db", root / "state-5y.db"
        scale.generate(one_year, 1, LAST_DAY)
        scale.generate(five_years, 5, LAST_DAY)
        requests_section()
        latency_section(root / "latency")
        cli_section(root / "cli", one_year)
        five_year_section(root / "five", five_years)
        ranking_section(one_year, five_years)
    summary(started)


def summary(started: float) -> None:
    print()
    print(f"{'figure':<44} {'value':<62} {'goal':<16} result")
    for figure, value, goal, ok in results:
        print(f"{figure:<44} {value:<62} {goal:<16} {'' if ok is None else 'ok' if ok else 'MISSED'}")
    print(
        f"\n{sum(1 for *_, ok in results if ok)} goals met, {sum(1 for *_, ok in results if ok is False)} missed;"
        f" {time.perf_counter() - started:.0f} s in all"
    )


if __name__ == "__main__":
    main()
