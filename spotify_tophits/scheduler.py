"""What systemd says about tophits' timers: installed, enabled, next and last run. Read-only."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

UPDATE_TIMER = "tophits-update.timer"


@dataclasses.dataclass(frozen=True)
class TimerState:
    """One timer as `systemctl show` reports it."""

    unit: str
    scope: str  # "user" or "system"
    enabled: str  # UnitFileState: enabled, disabled, ...
    active: str
    next_run: str | None
    last_run: str | None
    calendar: str = ""  # the timer's OnCalendar= as systemd reads it
    last_result: str = ""  # Result= of the service the timer starts (success, exit-code, ...)


def systemctl_show(unit: str, scope: str) -> dict[str, str] | None:
    """Return the properties of a unit, or None when systemctl is missing, fails or does not know it."""
    executable = shutil.which("systemctl")
    if executable is None:
        return None
    command = [executable, *(["--user"] if scope == "user" else []), "show", unit]
    command += [
        "-p",
        "LoadState,UnitFileState,ActiveState,NextElapseUSecRealtime,LastTriggerUSec,TimersCalendar,Result",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    properties = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return None if properties.get("LoadState") != "loaded" else properties


def timer_state(unit: str = UPDATE_TIMER) -> TimerState | None:
    """Return the timer's state from the user manager, else the system manager, else None (not installed)."""
    for scope in ("user", "system"):
        properties = systemctl_show(unit, scope)
        if properties is not None:
            return TimerState(
                unit=unit,
                scope=scope,
                enabled=properties.get("UnitFileState", ""),
                active=properties.get("ActiveState", ""),
                next_run=properties.get("NextElapseUSecRealtime") or None,
                last_run=properties.get("LastTriggerUSec") or None,
                calendar=properties.get("TimersCalendar", ""),
                last_result=(systemctl_show(unit.replace(".timer", ".service"), scope) or {}).get("Result", ""),
            )
    return None
