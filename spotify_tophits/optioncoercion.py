"""Start-up: Typer's per-option coercion, built only for a value that needs converting.

Kept out of `cli.py` (the only module that imports Typer): it is handed Typer's `core` module and
never imports Typer itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any


class DeferredCoercion:
    """Typer's coercion of one parameter, built only for a value that needs converting.

    Typer (0.2x) converts every non-bool parameter through a pydantic TypeAdapter, built on first
    use, so any command with an int or str option, given or not, imports pydantic (about as long
    as importing Typer itself). The values Click already hands over in their final type (an absent
    option's None, -v's count, a plain str) need no conversion; anything else gets Typer's own.
    """

    def __init__(self, descriptor: Any, build: Callable[[Any], Any]) -> None:
        self.descriptor, self.build = descriptor, build
        self.built: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        info = self.descriptor.parameter_info
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        plain = info.parser is None and info.min is None and info.max is None
        if plain and type(value) is self.descriptor.annotation and type(value) in (int, str):
            return value
        if self.built is None:
            self.built = self.build(self.descriptor)
        return self.built.coerce(value, param, ctx)


def defer_coercion(typer_core: ModuleType) -> None:
    """Make Typer build each parameter's coercion lazily (when its `build_runtime_param` hook exists)."""
    if callable(build := getattr(typer_core, "build_runtime_param", None)):
        setattr(typer_core, "build_runtime_param", functools.partial(DeferredCoercion, build=build))  # noqa: B010
