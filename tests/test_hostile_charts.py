"""Hostile and broken chart input (issue 13, items 9 and 10): one bad source never takes the run down,
and no chart, however long, can spend more than the run's search budget."""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from pathlib import Path

import pytest
from conftest import CHART_DAY, WORLDWIDE, TophitsRunner, at, write_config

from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World

runner = TophitsRunner()


def plain_csv(path: Path, rows: int, field: str = "") -> Path:
    lines = ["rank,artist,title"] + [f"{rank},Nobody {rank},Unheard {rank}{field}" for rank in range(1, rows + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bad_huge_rank(directory: Path) -> tuple[Path, str]:
    path = plain_csv(directory / "chart.csv", 20)
    path.write_text(path.read_text() + "99999999999999999999999,Someone,Something\n", encoding="utf-8")
    return path, "line 22: rank 99999999999999999999999 is not between 1 and 100000"


def bad_day_in_name(directory: Path) -> tuple[Path, str]:
    return plain_csv(directory / "chart-2026-02-30.csv", 20), "file name 'chart-2026-02-30.csv' names no real day"


def bad_huge_field(directory: Path) -> tuple[Path, str]:
    path = plain_csv(directory / "chart.csv", 20)
    path.write_text(path.read_text() + "21,Someone," + "x" * (129 * 1024) + "\n", encoding="utf-8")
    return path, "line 22: not a readable CSV row (field larger than field limit"


@pytest.mark.parametrize("broken", [bad_huge_rank, bad_day_in_name, bad_huge_field])
def test_a_broken_csv_source_is_skipped_with_a_warning_naming_file_and_line_and_the_other_source_proceeds(
    broken, authorised, environment, emulator: Emulator, world: World, tmp_path: Path
):
    path, message = broken(tmp_path)
    write_config(environment, f'sources = ["deezer:worldwide", "csv:{path}"]\n')
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))

    result = runner.invoke(app, ["update"])

    assert result.exit_code == 0, result.output
    assert f"csv:{path}: {message}" in result.output
    assert "source deezer:worldwide: 100 rows" in result.output
    assert "Daily Hits: 50/50 tracks" in result.output
    assert "Traceback" not in result.output


def test_a_100k_row_csv_is_capped_and_costs_exactly_the_search_budget_per_run_oldest_rows_first(
    authorised, environment, emulator: Emulator, tmp_path: Path
):
    path = plain_csv(tmp_path / "huge.csv", 100_000)
    write_config(environment, f'sources = ["csv:{path}"]\nsearch_budget = 80\n')

    first = runner.invoke(app, ["update"])

    assert first.exit_code == 0, first.output
    assert emulator.count("GET /search") == 80
    assert "120 chart rows wait for the next run: the run's search budget (80 searches" in first.output
    settings = load_settings(environment)
    with contextlib.closing(sqlite3.connect(settings.paths.state_db)) as database:
        rows = database.execute("SELECT COUNT(*) FROM chart_rows").fetchone()[0]
        resolved = database.execute("SELECT COUNT(*) FROM resolutions").fetchone()[0]
    assert (rows, resolved) == (200, 80)

    emulator.reset_counts()
    second = runner.invoke(app, ["update"], now=at(CHART_DAY + datetime.timedelta(days=1), 7))

    assert second.exit_code == 0, second.output
    assert emulator.count("GET /search") == 80
    with contextlib.closing(sqlite3.connect(settings.paths.state_db)) as database:
        keys = {row[0] for row in database.execute("SELECT key FROM resolutions")}
    # The first day's rows 81-160 went before anything of the second day's chart.
    assert keys == {f"text:nobody {rank}|unheard {rank}" for rank in range(1, 161)}


def test_a_chart_cap_per_source_is_configurable_up_to_1000_rows(environment, tmp_path: Path):
    write_config(environment, f'sources = ["csv:{tmp_path}/a.csv"]\n[chart_rows]\n"csv:{tmp_path}/a.csv" = 1001\n')

    result = runner.invoke(app, ["status"])

    assert result.exit_code == 3
    assert f"chart_rows.csv:{tmp_path}/a.csv = 1001 is out of range; use a whole number from 1 to 1000" in result.output
