"""`tophits doctor`: one line per check, ✓ / ! / ✗, each problem with the exact command or edit that fixes it.

Read-only by default. `--fix` does only safe things (create directories, tighten modes, drop a
stale lock file) and says what it did. Doctor never changes Spotify, never migrates the state
DB and never prints a secret. The checks live in `local` (no network) and `online`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator

from spotify_tophits.actions.doctor import local, online
from spotify_tophits.actions.doctor.checks import Check, DoctorReport, Finding, Level
from spotify_tophits.config import load_settings
from spotify_tophits.errors import TophitsError
from spotify_tophits.ops.scheduler import TimerState, timer_state
from spotify_tophits.services import Services

__all__ = ["Check", "DoctorReport", "Level", "run_doctor"]


def _findings(
    now: datetime.datetime,
    sleep: Callable[[float], None],
    offline: bool,
    fix: bool,
    environ: dict[str, str] | None,
    read_timer: Callable[[], TimerState | None],
) -> Iterator[Finding]:
    yield from local.runtime()
    try:
        settings = load_settings(environ)
    except TophitsError as error:
        yield Check("config", Level.ERROR, error.message, "edit the file or variable named above")
        return
    services = Services(settings, clock=lambda: now, sleep=sleep)
    yield from local.paths(settings, fix)
    yield from local.credentials(settings)
    if settings.credentials.client_id and settings.credentials.client_secret:
        auth = list(online.auth(settings, now, offline))
        yield from auth
        if not offline and not any(isinstance(item, Check) and item.level == Level.ERROR for item in auth):
            yield from online.api_and_playlists(services, now)
    if not offline:
        yield from online.sources(services)
    yield from local.state(settings, now, fix)
    yield from local.backups(settings, now)
    yield from local.scheduler(settings, read_timer)


def run_doctor(
    now: datetime.datetime,
    *,
    sleep: Callable[[float], None],
    offline: bool = False,
    fix: bool = False,
    notify: bool = False,
    environ: dict[str, str] | None = None,
    read_timer: Callable[[], TimerState | None] = timer_state,
) -> DoctorReport:
    """Run every check in order and return the report. Only `fix` changes anything, and only locally.

    With `notify`, the ✗ and ! findings also go to the notification channels, each at most once a day.
    `sleep` (the services' sleep) waits between retries of the chart sources' probes.
    """
    report = DoctorReport.of(_findings(now, sleep, offline, fix, environ, read_timer))
    if notify:
        from spotify_tophits.ops.notify import notify_findings

        notify_findings(load_settings(environ), report.checks, now)
    return report
