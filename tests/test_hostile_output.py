"""Terminal escapes from the network (issue 13, item 12): control characters from a chart source, Spotify or an
archive are shown escaped in every output, plain and Rich, logs included."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import pytest
from conftest import TophitsRunner, write_config

from spotify_tophits import render
from spotify_tophits.actions.update import UpdateResult
from spotify_tophits.cli import app
from spotify_tophits.logs import configure_logging, escape_controls
from spotify_tophits.playlists import Outcome, PlaylistOutcome

runner = TophitsRunner()
# Clear the screen, set the window title, ring the bell; a C1 CSI too.
HOSTILE = "Evil\x1b[2J\x1b]0;pwned\x07Song\x9b31m"
SHOWN = "Evil\\x1b[2J\\x1b]0;pwned\\x07Song\\x9b31m"


def test_escape_controls_shows_c0_c1_and_del_escaped_and_keeps_newline_tab_and_letters():
    assert escape_controls(HOSTILE) == SHOWN
    assert escape_controls("a\tb\nc\x7f\x00") == "a\tb\nc\\x7f\\x00"
    assert escape_controls("Beyoncé — Ça 日本") == "Beyoncé — Ça 日本"


def test_a_chart_title_with_escape_sequences_is_printed_escaped_by_update(
    authorised, environment, emulator, tmp_path: Path
):
    chart = tmp_path / "chart.csv"
    rows = [f"{rank},Nobody {rank},Unheard {rank}" for rank in range(1, 12)] + [f'12,Nobody,"{HOSTILE}"']
    chart.write_text("rank,artist,title\n" + "\n".join(rows) + "\n", encoding="utf-8")
    write_config(environment, f'sources = ["csv:{chart}"]\n')

    result = runner.invoke(app, ["-v", "update"])

    assert result.exit_code == 0, result.output
    assert f"csv:{chart}: Nobody – {SHOWN}" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output and "\x9b" not in result.output


def test_rich_tables_show_control_characters_escaped(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    outcome = PlaylistOutcome("daily", "daily", HOSTILE, None, "-", 1, 50, 1, 0, Outcome.CREATED, 1)
    result = UpdateResult(run_id=None, today=datetime.date(2026, 11, 10), playlists=[outcome])

    render.update_result(result, verbose=False, quiet=False)

    out = capsys.readouterr().out
    assert "Evil\\x1b[2J\\x1b]0;pwned\\x07Song\\x9b31m" in out
    assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\x07" not in out and "\x9b" not in out


def test_log_lines_show_control_characters_escaped(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    configure_logging(verbose=1, quiet=False)

    logging.getLogger("spotify_tophits.test").warning("source said %s", HOSTILE)

    err = capsys.readouterr().err
    assert f"source said {SHOWN}" in err
    assert "\x1b" not in err and "\x07" not in err
