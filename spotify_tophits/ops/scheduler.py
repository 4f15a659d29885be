"""What systemd says about tophits' units: timers, the last result of a service, its journal. Read-only.

Every question goes through one `systemctl show` wrapper; `scope` is "user" (`systemctl --user`)
or "system". Without systemd (a container, macOS) each answer is "unknown", never an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
from collections.abc import Sequence

UPDATE_TIMER = "tophits-update.timer"
SCOPES = ("user", "system")
TIMEOUT_SECONDS = 5
# Every property any question here needs: one `systemctl show` per unit answers them all.
PROPERTIES = (
    "LoadState",
    "UnitFileState",
    "ActiveState",
    "NextElapseUSecRealtime",
    "LastTriggerUSec",
    "TimersCalendar",
    "Result",
    "ExecMainStatus",
)


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


def _scope_flag(scope: str) -> tuple[str, ...]:
    return ("--user",) if scope == "user" else ()


def systemctl_show(unit: str, scope: str) -> dict[str, str] | None:
    """Return a unit's PROPERTIES, or None when systemctl is missing or fails."""
    executable = shutil.which("systemctl")
    if executable is None:
        return None
    command = [executable, *_scope_flag(scope), "show", unit, "-p", ",".join(PROPERTIES)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def update_timer(profile: str | None) -> str:
    """Return the update timer of a profile: the template instance `tophits-update@NAME.timer`, or the plain one."""
    return f"tophits-update@{profile}.timer" if profile else UPDATE_TIMER


def timer_state(unit: str = UPDATE_TIMER, scopes: Sequence[str] = SCOPES) -> TimerState | None:
    """Return the timer's state from the first manager (in `scopes` order) that has it loaded, else None."""
    for scope in scopes:
        shown = systemctl_show(unit, scope)
        if shown is None or shown.get("LoadState") != "loaded":
            continue
        service = systemctl_show(unit.replace(".timer", ".service"), scope) or {}
        return TimerState(
            unit=unit,
            scope=scope,
            enabled=shown.get("UnitFileState", ""),
            active=shown.get("ActiveState", ""),
            next_run=shown.get("NextElapseUSecRealtime") or None,
            last_run=shown.get("LastTriggerUSec") or None,
            calendar=shown.get("TimersCalendar", ""),
            last_result=service.get("Result", "") if service.get("LoadState") == "loaded" else "",
        )
    return None


def journal_tail(unit: str, scope: str, lines: int = 15) -> str:
    """Return the last lines a unit logged (empty when the journal cannot be read)."""
    command = ["journalctl", *_scope_flag(scope), "-u", unit, "-n", str(lines), "-o", "cat", "--no-pager"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False).stdout
    return ""


def unit_result(unit: str, scopes: Sequence[str] = ("system", "user")) -> tuple[str, int | None, str]:
    """Return (Result, ExecMainStatus, journal tail) of a failed unit from the first manager that saw it fail."""
    for scope in scopes:
        shown = systemctl_show(unit, scope)
        if shown is None:
            continue
        if shown.get("ExecMainStatus", "0") not in ("", "0") or shown.get("Result", "success") != "success":
            text = shown.get("ExecMainStatus", "")
            return shown.get("Result", ""), int(text) if text.isdigit() else None, journal_tail(unit, scope)
    return "", None, ""


def linger(user: str) -> bool | None:
    """Return whether the user manager of `user` lingers (runs without a login); None when unknown."""
    executable = shutil.which("loginctl")
    if not executable or not user:
        return None
    try:
        result = subprocess.run(
            [executable, "show-user", user, "-p", "Linger", "--value"],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"yes": True, "no": False}.get(result.stdout.strip())


def timer_zone(calendar: str) -> str | None:
    """Return the time zone an OnCalendar= spec names (None: the machine's local time).

    `calendar` is systemd's TimersCalendar, e.g. "{ OnCalendar=*-*-* 06:00:00 Europe/Berlin ; next_elapse=... }".
    """
    spec = calendar.split("OnCalendar=", 1)[-1].split(";", 1)[0].strip()
    last = spec.split()[-1] if spec.split() else ""
    return last if "/" in last or last in ("UTC", "GMT") else None
