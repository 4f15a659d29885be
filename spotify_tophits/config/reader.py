"""Typed access to a parsed TOML table that names the dotted key of any bad value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spotify_tophits.errors import ConfigError


class TableReader:
    """Read one TOML table; every problem becomes a ConfigError naming the file, key, value and fix."""

    def __init__(self, table: Mapping[str, Any], where: str, prefix: str = "") -> None:
        self.table = table
        self.where = where
        self.prefix = prefix

    def fail(self, key: str, value: object, fix: str) -> ConfigError:
        """Return the error for a bad value at key (the caller raises it)."""
        shown = repr(value)
        # A value may be huge (a 50 MB prefix): the message shows its start.
        shown = shown if len(shown) <= 120 else f"{shown[:100]}… ({len(shown)} characters)"
        return ConfigError(f"{self.where}: {self.prefix}{key} = {shown} {fix}")

    def check_keys(self, allowed: set[str]) -> None:
        """Raise ConfigError for the first key that is not a known setting."""
        for key in self.table:
            if key not in allowed:
                raise self.fail(
                    key, self.table[key], f"is not a known setting; remove it (known: {', '.join(sorted(allowed))})"
                )

    def get(self, key: str, kind: type, default: Any) -> Any:
        """Return the value at key (default when absent), raising ConfigError when it is not of kind."""
        value = self.table.get(key, default)
        # bool is an int subclass in Python, so check it explicitly.
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(key, value, "must be a whole number")
        if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self.fail(key, value, "must be a number")
        if kind in (str, bool) and not isinstance(value, kind):
            raise self.fail(key, value, f"must be {'true or false' if kind is bool else 'a string'}")
        return value

    def table_at(self, key: str) -> TableReader:
        """Return a reader for the sub-table at key (empty when absent)."""
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, value, "must be a table")
        return TableReader(value, self.where, f"{self.prefix}{key}.")
