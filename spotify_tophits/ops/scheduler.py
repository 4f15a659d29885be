"""What systemd says about tophits' units: timers, the last result of a service, its journal. Read-only.

Every question goes through one `systemctl show` wrapper; `scope` is "user" (`systemctl --user`)
or "system". Without systemd (a container, macOS) each answer is "unknown", never an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

UPDATE_TIMER = "tophits-update.timer"
# sd_booted(3): systemd is the service manager exactly when this directory exists. Without it every
# systemctl call can only fail, and `status` would start two processes to learn that.
SYSTEMD_BOOTED = Path("/run/systemd/system")
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
    "ExecMainStartTimestamp",
    "InvocationID",
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


def systemctl_show(unit: str, scope: str, precise: bool = False) -> dict[str, str] | None:
    """Return a unit's PROPERTIES, or None when systemctl is missing or fails.

    `precise`: timestamps in UTC to the microsecond (`--timestamp=us+utc`, systemd 247+), or to the
    second under TZ=UTC from an older systemctl that does not know the option.
    """
    executable = shutil.which("systemctl")
    if executable is None or not SYSTEMD_BOOTED.is_dir():
        return None
    command = [executable, *_scope_flag(scope), "show", unit, "-p", ",".join(PROPERTIES)]
    attempts = [[*command, "--timestamp=us+utc"], command] if precise else [command]
    for attempt in attempts:
        try:
            result = subprocess.run(
                attempt,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
                env={**os.environ, "TZ": "UTC"} if precise else None,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode == 0:
            return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return None


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


def journal_tail(unit: str, scope: str, lines: int = 15, invocation: str = "") -> str:
    """Return the last lines a unit logged, of one invocation when given (empty when the journal cannot be read)."""
    match = [f"_SYSTEMD_INVOCATION_ID={invocation}"] if invocation else ["-u", unit]
    command = ["journalctl", *_scope_flag(scope), *match, "-n", str(lines), "-o", "cat", "--no-pager"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False).stdout
    return ""


@dataclasses.dataclass(frozen=True)
class UnitResult:
    """How a unit's last invocation ended, as its manager reports it."""

    result: str = ""  # Result=: success, exit-code, timeout, ...
    status: int | None = None  # ExecMainStatus=: the exit code of the main process
    started: datetime.datetime | None = None  # ExecMainStartTimestamp=, in UTC
    tail: str = ""  # the unit's last journal lines
    invocation: str = ""  # InvocationID=: the id systemd gave this run of the unit ($INVOCATION_ID inside)


def parse_timestamp(text: str) -> datetime.datetime | None:
    """Parse a UTC timestamp from `systemctl show` ("Wed 2026-12-02 06:04:31.704410 UTC", or whole seconds
    from an older systemd); None when absent."""
    words = text.split()
    if len(words) != 4 or words[3] != "UTC":
        return None
    pattern = "%Y-%m-%d %H:%M:%S.%f" if "." in words[2] else "%Y-%m-%d %H:%M:%S"
    try:
        moment = datetime.datetime.strptime(f"{words[1]} {words[2]}", pattern)
    except ValueError:
        return None
    return moment.replace(tzinfo=datetime.UTC)


def unit_result(unit: str, scopes: Sequence[str] = ("system", "user")) -> UnitResult:
    """Return how a failed unit ended, from the first manager in `scopes` that saw it fail.

    The notify unit passes its own manager, so a system failure is never answered from a user
    manager's unit of the same name (or the other way round).
    """
    for scope in scopes:
        shown = systemctl_show(unit, scope, precise=True)
        if shown is None:
            continue
        if shown.get("ExecMainStatus", "0") not in ("", "0") or shown.get("Result", "success") != "success":
            text = shown.get("ExecMainStatus", "")
            return UnitResult(
                result=shown.get("Result", ""),
                status=int(text) if text.isdigit() else None,
                started=parse_timestamp(shown.get("ExecMainStartTimestamp", "")),
                invocation=shown.get("InvocationID", ""),
                # A user manager's invocation ids reach the journal only on newer systemd: the unit's lines there.
                tail=journal_tail(unit, scope, invocation=shown.get("InvocationID", "") if scope == "system" else ""),
            )
    return UnitResult()


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
