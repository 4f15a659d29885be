"""The docs are part of the product: every command is in the README with help text, the exit codes match."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.testing import CliRunner

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


# A value for each placeholder a synopsis uses; anything else gets "x".
PLACEHOLDERS = {"PLAYLIST": "daily", "PLAYLIST...": "daily", "N": "1", "P": "2026-11", "KEY": "daily"}


def documented_invocations() -> list[tuple[str, list[str]]]:
    """Every `tophits ...` line in the README's code blocks, as the arguments a user would type: the
    comment dropped, each [optional part] included, the first of `a | b` and of `full|state|config`."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", README, re.DOTALL):
        for line in block.splitlines():
            match = re.match(r"^(?:\$ |sudo )?(?:\S*/)?tophits((?: [^#]*)?)", line.strip())
            if not match:
                continue
            synopsis = re.sub(r"\[([^\]|]*?)\s*\|[^\]]*\]", r"\1", match.group(1))  # [--json | --csv] → --json
            arguments = []
            for word in synopsis.replace("[", " ").replace("]", " ").split():
                word = word.split("|")[0]
                arguments.append(PLACEHOLDERS.get(word, "x") if word.isupper() else word)
            found.append((line.strip(), arguments))
    return found


def test_every_command_line_in_the_readme_is_accepted_by_the_cli():
    invocations = documented_invocations()
    assert any(arguments[:2] == ["update", "daily"] and "-v" in arguments for _, arguments in invocations)

    for line, arguments in invocations:
        # --help after the arguments: Click rejects an unknown option or a bad value before printing help.
        result = CliRunner().invoke(app, [*arguments, "--help"])
        assert result.exit_code == 0, f"README: {line!r} is rejected: {result.output}"


def test_every_toml_example_in_the_readme_is_a_config_tophits_accepts(tmp_path: Path):
    import tomllib

    from spotify_tophits.config import load_settings
    from spotify_tophits.config.settings import TOP_LEVEL_KEYS

    blocks = re.findall(r"```toml\n(.*?)```", README, re.DOTALL)
    # Every setting is shown inside an example (a stray fence once left [weights] and [export] in prose).
    shown = {key for block in blocks for key in tomllib.loads(block)}
    assert sorted(TOP_LEVEL_KEYS - shown) == []
    for index, block in enumerate(blocks):
        document = tomllib.loads(block)  # each example is valid TOML on its own (a stray fence would break this)
        if {"pin", "ban"} & set(document):
            continue  # an overrides.toml example, not config.toml
        directory = tmp_path / str(index)
        directory.mkdir()
        (directory / "config.toml").write_text(block, encoding="utf-8")
        load_settings({"TOPHITS_CONFIG_DIR": str(directory), "TOPHITS_STATE_DIR": str(directory / "state")})
