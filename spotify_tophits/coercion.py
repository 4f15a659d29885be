"""Typer's conversion of option values, deferred until a value needs it, so pydantic loads only then.

Typer (0.2x) converts every non-bool parameter through a pydantic TypeAdapter built on first use,
so any command with an int or str option, given or not, imports pydantic: about as long as
importing Typer itself, on every `status --check` a monitor runs each minute. The values Click
hands over already in their final type (an absent option's None, `-v`'s count, a plain str) need
no conversion; anything else still gets Typer's own. No Typer import here: `cli.py` passes the
module in (test_startup.py fails if a fast command loads pydantic again).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any


class DeferredCoercion:
    """One parameter's conversion: the value itself when already final, else Typer's (built once)."""

    def __init__(self, descriptor: Any, build: Callable[[Any], Any]) -> None:
        self.descriptor, self.build = descriptor, build
        self.built: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """Return the converted value, as Typer's own conversion would."""
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
    """Wrap typer.core's builder of conversions; a Typer without one is left as it is."""
    build = getattr(typer_core, "build_runtime_param", None)
    if callable(build) and not isinstance(build, functools.partial):
        setattr(typer_core, "build_runtime_param", functools.partial(DeferredCoercion, build=build))  # noqa: B010
