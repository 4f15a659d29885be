"""Global options where people type them: `tophits update -v` as well as `tophits -v update`.

Click takes a group's options only before the command. The root group of the CLI is made with
`root_group`, which moves a global option found after the command (`-v`, `-vv`, `--quiet`,
`--profile NAME`, ...) in front of it, unless that command has an option of the same name
(`doctor --quiet` stays doctor's). No Click import: the CLI passes its group class in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# A run of one repeated short flag, such as -vv (counted once per letter).
REPEATED_SHORT = re.compile(r"^-([A-Za-z])\1*$")


def option_names(parameters: Iterable[Any]) -> tuple[set[str], set[str]]:
    """Return the option names among Click parameters, and those of the options that take a value."""
    names: set[str] = set()
    valued: set[str] = set()
    for parameter in parameters:
        if getattr(parameter, "param_type_name", "") != "option":
            continue
        spellings = [*parameter.opts, *parameter.secondary_opts]
        names.update(spellings)
        if not (parameter.is_flag or parameter.count):
            valued.update(spellings)
    return names, valued


def _spelling(argument: str) -> str:
    """Return the option an argument names: `--profile=x` names --profile, `-vv` names -v."""
    if argument.startswith("--"):
        return argument.split("=", 1)[0]
    return argument[:2] if REPEATED_SHORT.match(argument) else argument


def hoist_global_options(arguments: list[str], parameters: Iterable[Any], commands: Mapping[str, Any]) -> list[str]:
    """Return the arguments with the global options that follow the command moved in front of it."""
    names, valued = option_names(parameters)
    index = 0
    while index < len(arguments) and arguments[index].startswith("-"):
        argument = arguments[index]
        index += 2 if _spelling(argument) in valued and "=" not in argument else 1
    command = commands.get(arguments[index]) if index < len(arguments) else None
    if command is None:
        return arguments
    # The command's own options win, and those of its subcommands (`backup list --dest`).
    own = option_names(command.params)[0]
    for subcommand in getattr(command, "commands", {}).values():
        own |= option_names(subcommand.params)[0]
    front, rest = arguments[:index], [arguments[index]]
    position = index + 1
    while position < len(arguments):
        argument = arguments[position]
        if argument == "--":
            rest += arguments[position:]
            break
        spelling = _spelling(argument)
        if spelling in names and spelling not in own:
            take = 2 if spelling in valued and "=" not in argument else 1
            front += arguments[position : position + take]
            position += take
            continue
        rest.append(argument)
        position += 1
    return front + rest


def root_group(base: type[Any]) -> type[Any]:
    """Return the CLI's root group class: `base` (Typer's group) taking global options after the command too."""

    class RootGroup(base):  # type: ignore[misc]
        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            return super().parse_args(ctx, hoist_global_options(args, self.params, self.commands))  # type: ignore[no-any-return]

    return RootGroup
