"""`tophits profiles` and `status --all-profiles`: every account on this host, one line or one block each.

Local and fast like `status`: token files, state DBs (read-only) and systemd, never Spotify. The
default installation (no profile) is listed too when it has a token or a state DB.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from spotify_tophits.actions.status import StatusReport, check_line, collect_status
from spotify_tophits.config import Settings, load_settings
from spotify_tophits.config.paths import PROFILE_VARIABLE, PROFILES, find_profiles, resolve_paths
from spotify_tophits.errors import TophitsError
from spotify_tophits.ops.scheduler import TimerState
from spotify_tophits.spotify import TokenFile
from spotify_tophits.store import PlaylistState

# Worst last: a profile whose state cannot be read is worse than a warning, not as bad as critical.
HEALTH_ORDER = ("ok", "warning", "unknown", "critical")
CHECK_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
TimerReader = Callable[[str | None], TimerState | None]


@dataclasses.dataclass(frozen=True)
class ProfileStatus:
    """One installation's dashboard, or why it could not be read (health "unknown")."""

    name: str | None  # None: the default installation, without a profile
    account: str | None
    report: StatusReport | None
    problem: str | None

    @property
    def label(self) -> str:
        return self.name or "default"

    @property
    def health(self) -> str:
        """ok, warning, critical, or unknown when the state could not be read."""
        return str(self.report.level) if self.report is not None else "unknown"

    def summary(self) -> dict[str, Any]:
        """Return the line `tophits profiles` shows: name, account, playlists, last run, health."""
        report = self.report
        last = report.runs[0] if report and report.runs else None
        return {
            "profile": self.name,
            "account": self.account,
            "playlists": sum(1 for p in report.playlists if p.status == PlaylistState.ACTIVE) if report else 0,
            "last_run": last.started_at if last else None,
            "last_result": str(last.result) if last else None,
            "health": self.health,
            "problem": self.problem,
        }


def installations(environ: Mapping[str, str]) -> list[str | None]:
    """Return the profiles on this host, the default installation (None) first when it has a token or state."""
    plain = {key: value for key, value in environ.items() if key != PROFILE_VARIABLE}
    default = resolve_paths(plain)
    found: list[str | None] = []
    # Inside a template unit the chain names a profile's own directory: that is no default installation.
    if default.state_dir.parent.name != PROFILES and (default.token_file.exists() or default.state_db.exists()):
        found.append(None)
    return found + list(find_profiles(plain))


def settings_of(environ: Mapping[str, str], name: str | None) -> Settings:
    """Return the settings of one profile (None: the default installation)."""
    plain = {key: value for key, value in environ.items() if key != PROFILE_VARIABLE}
    return load_settings(plain | ({PROFILE_VARIABLE: name} if name else {}))


def profile_status(
    environ: Mapping[str, str], name: str | None, now: datetime.datetime, read_timer: TimerReader | None = None
) -> ProfileStatus:
    """Return one profile's dashboard; a profile that cannot be read is reported, never raised."""
    account = None
    try:
        settings = settings_of(environ, name)
        token = TokenFile(settings.paths.token_file).read() or {}
        account = token.get("display_name") or token.get("user_id")
        timer = (lambda: read_timer(name)) if read_timer is not None else None
        return ProfileStatus(name, account, collect_status(settings, now, read_timer=timer), None)
    except TophitsError as error:
        return ProfileStatus(name, account, None, error.message)


def all_profiles(
    environ: Mapping[str, str], now: datetime.datetime, read_timer: TimerReader | None = None
) -> list[ProfileStatus]:
    """Return every installation's dashboard, the default first, then the profiles by name."""
    return [profile_status(environ, name, now, read_timer) for name in installations(environ)]


def all_profiles_check(statuses: list[ProfileStatus]) -> tuple[int, str]:
    """Return the monitoring-plugin code and line for the worst profile, naming it (and any tied with it)."""
    if not statuses:
        return 3, "TOPHITS UNKNOWN - no profiles found; create one with tophits --profile NAME auth"
    worst = max((status.health for status in statuses), key=HEALTH_ORDER.index)
    counted = f"{len(statuses)} profile{'' if len(statuses) == 1 else 's'}"
    overview = ", ".join(f"{status.label} {status.health.upper()}" for status in statuses)
    if worst == "ok":
        return 0, f"TOPHITS OK - {counted}: {overview}"
    details = []
    for status in statuses:
        if status.health != worst:
            continue
        if status.report is None:
            details.append(f"{status.label}: {status.problem}")
        else:
            details.append(f"{status.label}: {check_line(status.report)[1].split(' - ', 1)[1]}")
    return CHECK_CODES[worst], f"TOPHITS {worst.upper()} - {'; '.join(details)} ({counted}: {overview})"
