"""The docs are part of the product: every command is in the README with help text, the exit codes match."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from spotify_tophits.cli import app
from spotify_tophits.errors import ExitCode

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def commands() -> list[tuple[str, str | None]]:
    root = typer.main.get_command(app)
    found = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        found.append((name, command.help))
        for sub_name, sub_command in getattr(command, "commands", {}).items():
            found.append((f"{name} {sub_name}", sub_command.help))
    return found


def test_every_command_is_in_the_readme_and_has_help_text():
    for name, help_text in commands():
        assert f"tophits {name}" in README, name
        assert help_text and len(help_text) > 20, name


def test_the_readme_exit_code_table_matches_the_code():
    table = dict(re.findall(r"^\| (\d) \| (.+?) \|$", README, re.MULTILINE))
    assert sorted(int(code) for code in table) == [code.value for code in ExitCode]


def test_the_readme_starts_with_the_two_newcomer_commands():
    first_lines = "\n".join(README.splitlines()[:8])
    assert "tophits demo" in first_lines
    assert "bash .ci/run" in first_lines
