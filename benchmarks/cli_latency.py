"""CLI start-up latency: `tophits --help` against `python -c pass` and `python -c 'import typer'`.

Run by hand: `python benchmarks/cli_latency.py [runs]`. Prints medians and ratios; the goal is
`--help` within 2x of importing typer (`benchmarks/run.py --cli` measures every fast command).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

TOPHITS = str(Path(sys.executable).parent / "tophits")


def median_seconds(command: list[str], runs: int) -> float:
    """Return the median wall time of running command `runs` times (after one warm-up run)."""
    subprocess.run(command, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def interleaved_medians(
    commands: dict[str, list[str]], runs: int, environment: dict[str, str] | None = None
) -> dict[str, float]:
    """Return each command's median wall time over `runs` rounds, one run of every command per round.

    Taking turns (after one warm-up run each) puts every command under the same load, so the
    ratios between them hold on a busy machine even when the absolute times drift.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        subprocess.run(command, capture_output=True, check=False, env=environment)
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False, env=environment)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def measure(runs: int = 15) -> dict[str, float]:
    """Return median seconds for the baselines and the tophits commands that must stay fast."""
    return {
        "python -c pass": median_seconds([sys.executable, "-c", "pass"], runs),
        "python -c 'import typer'": median_seconds([sys.executable, "-c", "import typer"], runs),
        "tophits --help": median_seconds([TOPHITS, "--help"], runs),
        "tophits --version": median_seconds([TOPHITS, "--version"], runs),
    }


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    figures = measure(runs)
    typer_time = figures["python -c 'import typer'"]
    print(f"{'command':<28} {'median ms':>10} {'x import typer':>15}")
    for name, seconds in figures.items():
        print(f"{name:<28} {seconds * 1000:>10.1f} {seconds / typer_time:>15.2f}")
    print(f"goal: tophits --help <= 2.00 x import typer -> {figures['tophits --help'] / typer_time:.2f}")


if __name__ == "__main__":
    main()
