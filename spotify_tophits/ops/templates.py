"""Template units for profiles: `tophits-update@anna.timer` runs `tophits update` for the profile anna.

Each templated unit is the plain unit's definition with three changes: the profile in the
environment (`TOPHITS_PROFILE=%i`), the profile's own state and configuration directories listed
before the shared ones (so systemd's `$STATE_DIRECTORY` names the profile's directory first), and
the profile in the description. The hardening is the plain unit's, line for line. Instances share
the system user, never their directories.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

TIMERS = ("tophits-update.timer", "tophits-backup.timer", "tophits-doctor.timer")
TEMPLATED = ("tophits-update", "tophits-backup", "tophits-doctor")
OWN_DIRECTORIES = {
    "StateDirectory=tophits": "/var/lib/tophits/profiles/%i",
    "ConfigurationDirectory=tophits": "/etc/tophits/profiles/%i",
}


class UnitLine(Protocol):
    """A unit file line (ops.units.Line): its text and the reason for it."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def text(self) -> str: ...

    @property
    def why(self) -> str: ...


LineT = TypeVar("LineT", bound=UnitLine)


def for_profile(line: LineT) -> list[LineT]:
    """Return the template's lines for one line of the plain unit."""
    if line.text in OWN_DIRECTORIES:
        own = f"{line.text}/profiles/%i"
        return [dataclasses.replace(line, text=own, why=f"{OWN_DIRECTORIES[line.text]}: this profile's files"), line]
    if line.text.startswith("ExecStart="):
        why = "the profile this instance runs for: tophits-update@anna.service runs profile anna"
        return [dataclasses.replace(line, text="Environment=TOPHITS_PROFILE=%i", why=why), line]
    return [dataclasses.replace(line, text=line.text.replace("Description=tophits:", "Description=tophits (%i):"))]


def with_templates(units: Mapping[str, Sequence[LineT]]) -> dict[str, list[LineT]]:
    """Return the units and, for each unit in TEMPLATED, its template twin (`name@.service`, `name@.timer`)."""
    result = {name: list(lines) for name, lines in units.items()}
    for name, lines in units.items():
        base, suffix = name.split(".")
        if base in TEMPLATED:
            result[f"{base}@.{suffix}"] = [twin for line in lines for twin in for_profile(line)]
    return result


def instance_timers(profile: str | None) -> tuple[str, ...]:
    """Return the timers to enable: the plain ones, or the profile's instances of the templates."""
    return tuple(timer.replace(".", f"@{profile}.") for timer in TIMERS) if profile else TIMERS


def timezone_dropins(profile: str, directory: Path, calendars: Callable[[str], list[str]]) -> list[tuple[Path, str]]:
    """Return a drop-in per instance timer with the profile's own OnCalendar= (its time zone), since the one
    template file serves every profile. `calendars(timer)` gives the plain timer's OnCalendar= lines."""
    files = []
    for timer in TIMERS:
        instance = timer.replace(".", f"@{profile}.")
        lines = [f"# {instance}: profile {profile}'s time zone, written by `tophits systemd install`.", "[Timer]"]
        lines += ["OnCalendar=", *calendars(timer)]
        files.append((directory / f"{instance}.d" / "timezone.conf", "\n".join(lines) + "\n"))
    return files
