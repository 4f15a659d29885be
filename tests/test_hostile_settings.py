"""Settings that parse but make no sense (issue 13, item 11): exit 3 naming the key, the value and the range."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from conftest import TophitsRunner

from spotify_tophits.cli import app
from spotify_tophits.config import render_playlist_name
from spotify_tophits.config.names import template_problem

runner = TophitsRunner()


def write(environment: dict[str, str], text: str) -> Path:
    path = Path(environment["TOPHITS_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


NONSENSE = {
    "weight nan": (
        'sources = ["deezer:worldwide"]\n[weights]\n"deezer:worldwide" = nan\n',
        "weights.deezer:worldwide = nan is out of range; use a number above 0 and at most 1000",
    ),
    "weight inf": (
        'sources = ["deezer:worldwide"]\n[weights]\n"deezer:worldwide" = inf\n',
        "weights.deezer:worldwide = inf is out of range",
    ),
    "weight negative": (
        'sources = ["deezer:worldwide"]\n[weights]\n"deezer:worldwide" = -2.0\n',
        "weights.deezer:worldwide = -2.0 is out of range",
    ),
    "max_retry_wait inf": (
        "max_retry_wait = inf\n",
        "max_retry_wait = inf is out of range; use a number of seconds from 0 to 3600",
    ),
    "max_retry_wait nan": ("max_retry_wait = nan\n", "max_retry_wait = nan is out of range"),
    "max_age_hours huge": (
        "[backup]\nmax_age_hours = 99999999999999999\n",
        "backup.max_age_hours = 99999999999999999 is out of range; use a whole number of hours from 1 to 8784",
    ),
    "nested arrays": ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply to read"),
    "long prefix": (f'prefix = "{"p" * 51}"\n', "prefix = 'ppppp"),
    "attribute access": (
        '[playlists.daily]\nname = "{prefix.__class__.__mro__}"\n',
        "playlists.daily.name = '{prefix.__class__.__mro__}' is not a valid template:"
        " {prefix.__class__.__mro__} is not allowed",
    ),
    "index access": (
        '[playlists.daily]\nname = "{prefix[0]}"\n',
        "is not a valid template: {prefix[0]} is not allowed",
    ),
    "conversion": ('[playlists.daily]\nname = "{prefix!r}"\n', "{prefix} is formatted in a way that is not allowed"),
    "name too long": (
        '[playlists.monthly]\nname = "{prefix}' + "x" * 90 + ' {month:%B %Y}"\n',
        "makes names of up to 105 characters with this prefix; Spotify allows 100",
    ),
    "search budget": (
        "search_budget = 1000000\n",
        "search_budget = 1000000 is out of range; use a whole number from 0 to 10000",
    ),
}


@pytest.mark.parametrize("case", sorted(NONSENSE))
def test_a_setting_that_parses_but_makes_no_sense_exits_3_naming_key_value_and_range(case, isolated_environment):
    text, message = NONSENSE[case]
    write(isolated_environment, text)

    result = runner.invoke(app, ["status"])

    assert result.exit_code == 3, result.output
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1


def test_a_50_mb_prefix_is_refused_without_reading_it_and_the_message_stays_short(isolated_environment):
    path = write(isolated_environment, 'prefix = "' + "p" * (50 * 1024 * 1024) + '"\n')

    result = runner.invoke(app, ["status"])

    assert result.exit_code == 3
    assert f"{path}: over 1024 KiB, which no tophits config needs" in result.output
    assert len(result.output) < 400


def test_a_prefix_just_over_the_limit_is_named_with_its_length_and_only_its_start_shown(isolated_environment):
    write(isolated_environment, f'prefix = "{"p" * 500}"\n')

    result = runner.invoke(app, ["status"])

    assert result.exit_code == 3
    assert "(502 characters) is 500 characters; use at most 50" in result.output
    assert len(result.output) < 400


def test_name_templates_render_only_the_documented_fields():
    day = datetime.date(2026, 9, 1)

    assert (
        render_playlist_name("{prefix}Monthly Hits — {month:%B %Y}", "Kai's ", day)
        == "Kai's Monthly Hits — September 2026"
    )
    assert render_playlist_name("{prefix}Yearly Hits — {year}", "", day) == "Yearly Hits — 2026"
    assert template_problem("{prefix}Daily Hits") is None
    assert template_problem("{year:>10}") is not None
    assert template_problem("{month:{prefix}}") is not None
    assert template_problem("{0}") is not None
    assert template_problem("{") is not None


# -- item 13: bad option values ---------------------------------------------------------------------------------
@pytest.mark.parametrize("destination", ["/dev/null", "/proc/1"])
def test_backup_to_a_destination_that_is_no_writable_directory_exits_2_with_one_line(destination, isolated_environment):
    result = runner.invoke(app, ["backup", "--dest", destination])

    assert result.exit_code == 2, result.output
    assert f"--dest {destination} is not" in result.output
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output


def test_demo_into_a_file_exits_2_naming_the_directory(isolated_environment, tmp_path: Path):
    a_file = tmp_path / "passwd"
    a_file.write_text("root:x:0:0\n")

    result = runner.invoke(app, ["demo", "--dir", str(a_file)])

    assert result.exit_code == 2, result.output
    assert f"--dir {a_file} cannot hold the demo" in result.output
    assert a_file.read_text() == "root:x:0:0\n"


@pytest.mark.parametrize("timeout", ["-5", "nan", "inf", "0"])
def test_auth_with_a_timeout_that_is_not_1_to_3600_seconds_exits_2_at_once(timeout, environment):
    result = runner.invoke(app, ["auth", "--timeout", timeout])

    assert result.exit_code == 2, result.output
    assert f"--timeout {float(timeout)} is out of range; give seconds from 1 to 3600" in result.output
