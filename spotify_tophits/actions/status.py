"""`tophits status`: the dashboard, from local state only (no network, no spotipy) unless `--live`."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_tophits import __version__, archive, ranking
from spotify_tophits.clock import parse_utc
from spotify_tophits.config import Settings
from spotify_tophits.errors import TophitsError
from spotify_tophits.ops import health
from spotify_tophits.ops.scheduler import TimerState, timer_state, update_timer
from spotify_tophits.retry import spotify_wait
from spotify_tophits.spotify import TokenFile, latency_percentiles, refresh_token_expiry
from spotify_tophits.store import SCHEMA_VERSION, PlaylistState, RunResult, Store, open_reader

if TYPE_CHECKING:
    from spotify_tophits.services import Services

RECENT_RUNS = 10
PERFORMANCE_DAYS = 7


@dataclasses.dataclass(frozen=True)
class PlaylistStatus:
    key: str
    period: str
    name: str
    url: str | None
    tracks: int
    size: int
    status: PlaylistState
    updated_at: str | None
    window: str | None
    last_error: str | None
    live_tracks: int | None = None
    drift: bool | None = None


@dataclasses.dataclass(frozen=True)
class RunStatus:
    id: int
    command: str
    started_at: str
    duration_seconds: float | None
    result: RunResult
    exit_code: int | None
    requests: int
    rate_limited: int
    match_rate: float | None
    error: str | None


@dataclasses.dataclass(frozen=True)
class Performance:
    days: int
    runs: int
    latency_ms: dict[str, float]
    requests_per_run: float | None
    error_rate: float | None
    rate_limit_events: int
    not_before: str | None


@dataclasses.dataclass(frozen=True)
class BackupStatus:
    newest: str | None
    newest_path: str | None
    count: int
    last_verified: str | None
    last_verified_ok: bool | None


@dataclasses.dataclass(frozen=True)
class StatusReport:
    """Everything `status` shows; `--json` prints it as is (schema: schemas/status.schema.json)."""

    generated_at: str
    version: str
    schema_version: int
    timezone: str
    state_db: str
    level: health.Severity
    playlists: list[PlaylistStatus]
    runs: list[RunStatus]
    schedule: dict[str, Any]
    performance: Performance
    backups: BackupStatus
    auth: dict[str, Any]
    alerts: list[health.Finding]
    profile: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _run_status(run: dict[str, Any]) -> RunStatus:
    summary = run.get("summary") or {}
    requests = summary.get("requests") or {}
    duration = None
    if run.get("finished_at"):
        duration = round((parse_utc(run["finished_at"]) - parse_utc(run["started_at"])).total_seconds(), 1)
    return RunStatus(
        id=run["id"],
        command=run["command"],
        started_at=run["started_at"],
        duration_seconds=duration,
        result=run["result"],
        exit_code=run.get("exit_code"),
        requests=int(requests.get("total") or 0),
        rate_limited=int(requests.get("rate_limited") or 0),
        match_rate=summary.get("match_rate"),
        error=summary.get("error"),
    )


def _performance(store: Store, now: datetime.datetime) -> Performance:
    runs = [
        run
        for run in store.recent_runs(since=now - datetime.timedelta(days=PERFORMANCE_DAYS))
        if run["command"] == "update"
    ]
    latencies: list[float] = []
    total_requests = 0
    rate_limited = 0
    for run in runs:
        requests = (run.get("summary") or {}).get("requests") or {}
        latencies.extend(value / 1000 for value in requests.get("latencies_ms") or [])
        total_requests += int(requests.get("total") or 0)
        rate_limited += int(requests.get("rate_limited") or 0)
    finished = health.finished_updates(runs)
    failed = [run for run in finished if not RunResult(run["result"]).succeeded]
    return Performance(
        days=PERFORMANCE_DAYS,
        runs=len(runs),
        latency_ms=latency_percentiles(latencies),
        requests_per_run=round(total_requests / len(runs), 1) if runs else None,
        error_rate=round(len(failed) / len(finished), 3) if finished else None,
        rate_limit_events=rate_limited,
        not_before=store.get_meta("not_before"),
    )


def _backups(settings: Settings, store: Store) -> BackupStatus:
    archives = archive.list_archives(settings.backup.directory)
    newest = archives[0] if archives else None
    verified_at = store.get_meta("backup_verified_at")
    return BackupStatus(
        newest=newest.created_at.isoformat() if newest else None,
        newest_path=str(newest.path) if newest else None,
        count=len(archives),
        last_verified=verified_at,
        last_verified_ok=None if verified_at is None else store.get_meta("backup_verified_ok") == "1",
    )


def _schedule(read_timer: Callable[[], TimerState | None]) -> dict[str, Any]:
    state = read_timer()
    if state is None:
        return {"scheduled": False, "next_run": None, "last_run": None, "unit": None, "enabled": None}
    return {
        "scheduled": state.enabled == "enabled" and bool(state.next_run),
        "next_run": state.next_run,
        "last_run": state.last_run,
        "unit": f"{state.unit} ({state.scope})",
        "enabled": state.enabled,
    }


def _auth(token: dict[str, Any] | None, expires_at: datetime.datetime | None) -> dict[str, Any]:
    return {
        "authorised": token is not None,
        "user": (token or {}).get("display_name") or (token or {}).get("user_id"),
        "authorized_at": (token or {}).get("authorized_at"),
        "refresh_token_expires_at": expires_at.isoformat() if expires_at else None,
    }


def fresh_status(
    settings: Settings, now: datetime.datetime, read_timer: Callable[[], TimerState | None]
) -> StatusReport:
    """Return the dashboard of an installation where `tophits update` has not run yet: nothing is wrong."""
    token = TokenFile(settings.paths.token_file).read()
    archives = archive.list_archives(settings.backup.directory)
    return StatusReport(
        generated_at=now.isoformat(timespec="seconds"),
        version=__version__,
        schema_version=SCHEMA_VERSION,
        timezone=settings.timezone,
        state_db=str(settings.paths.state_db),
        level=health.worst([]),
        playlists=[],
        runs=[],
        schedule=_schedule(read_timer),
        performance=Performance(PERFORMANCE_DAYS, 0, latency_percentiles([]), None, None, 0, None),
        backups=BackupStatus(
            archives[0].created_at.isoformat() if archives else None,
            str(archives[0].path) if archives else None,
            len(archives),
            None,
            None,
        ),
        auth=_auth(token, refresh_token_expiry(token) if token else None),
        alerts=[],
        profile=settings.paths.profile,
    )


def collect_status(
    settings: Settings,
    now: datetime.datetime,
    *,
    read_timer: Callable[[], TimerState | None] | None = None,
) -> StatusReport:
    """Read the state DB (read-only), the token file and systemd (the profile's timer), and return the dashboard."""
    profile = settings.paths.profile
    if read_timer is None:
        read_timer = lambda: timer_state(update_timer(profile))  # noqa: E731 - the profile's own timer
    if not settings.paths.state_db.exists():
        return fresh_status(settings, now, read_timer)
    store = open_reader(settings.paths.state_db)
    try:
        today = now.astimezone(settings.zone).date()
        earliest, latest = store.earliest_chart_date(), store.latest_chart_date(today)
        records = store.managed_playlists()
        enabled = {playlist.key: playlist for playlist in settings.enabled_playlists()}
        playlists = []
        for record in records:
            window = None
            if record.status == PlaylistState.ACTIVE and record.key in enabled:
                current = ranking.current_window(record.key, today, earliest, latest)
                window = current.describe() if current and current.period == record.period else None
            size = enabled[record.key].size if record.key in enabled else settings.playlists[record.key].size
            playlists.append(
                PlaylistStatus(
                    key=record.key,
                    period=record.period,
                    name=record.name,
                    url=f"https://open.spotify.com/playlist/{record.spotify_id}" if record.spotify_id else None,
                    tracks=len(record.contents or ()),
                    size=size,
                    status=record.status,
                    updated_at=record.updated_at,
                    window=window,
                    last_error=record.last_error,
                )
            )
        all_runs = store.recent_runs(50)
        token = TokenFile(settings.paths.token_file).read()
        expires_at = refresh_token_expiry(token) if token else None
        backups = _backups(settings, store)
        alerts = (
            health.run_findings(all_runs)
            + health.playlist_findings(records, enabled, now, today, health.kept_playlists(all_runs))
            + health.token_findings(expires_at, token is not None, now)
            + health.backup_findings(
                datetime.datetime.fromisoformat(backups.newest) if backups.newest else None,
                now,
                settings.backup.max_age_hours,
            )
            + health.backoff_findings(store.get_meta("not_before"), now)
            + health.source_findings(store.source_health())
        )
        if backups.last_verified_ok is False:
            alerts.append(
                health.Finding(
                    health.CRITICAL, "backup-unverifiable", "the newest backup failed verification", "tophits backup"
                )
            )
        return StatusReport(
            generated_at=now.isoformat(timespec="seconds"),
            version=__version__,
            schema_version=SCHEMA_VERSION,
            timezone=settings.timezone,
            state_db=str(settings.paths.state_db),
            level=health.worst(alerts),
            playlists=playlists,
            runs=[_run_status(run) for run in all_runs[:RECENT_RUNS]],
            schedule=_schedule(read_timer),
            performance=_performance(store, now),
            backups=backups,
            auth=_auth(token, expires_at),
            alerts=alerts,
            profile=profile,
        )
    finally:
        store.close()


def add_live(report: StatusReport, services: Services, now: datetime.datetime) -> StatusReport:
    """Add what Spotify reports now: track counts and drift (someone edited a playlist by hand)."""
    store = services.open_state()
    try:
        if spotify_wait(store.get_meta("not_before"), now) is not None:
            return report  # its alerts already say how long Spotify asked us to wait
        listing = {info.id: info for info in services.gateway(store, lambda: now).my_playlists()}
        records = {(record.key, record.period): record for record in store.managed_playlists()}
    finally:
        store.close()
    playlists = []
    alerts = list(report.alerts)
    for playlist in report.playlists:
        record = records[(playlist.key, playlist.period)]
        info = listing.get(record.spotify_id or "")
        if info is None:
            alerts.append(
                health.Finding(
                    health.WARNING,
                    "playlist-missing",
                    f"{playlist.name} is not in your library any more",
                    "tophits update",
                )
            )
            playlists.append(dataclasses.replace(playlist, live_tracks=None, drift=None))
            continue
        drift = record.snapshot_id is not None and info.snapshot_id != record.snapshot_id
        if drift and playlist.status == PlaylistState.ACTIVE:
            alerts.append(
                health.Finding(
                    health.WARNING, "playlist-drift", f"{playlist.name} was changed outside tophits", "tophits update"
                )
            )
        playlists.append(dataclasses.replace(playlist, live_tracks=info.total, drift=drift))
    return dataclasses.replace(report, playlists=playlists, alerts=alerts, level=health.worst(alerts))


def status_check(load_settings: Callable[[], Settings], clock: Callable[[], datetime.datetime]) -> tuple[int, str]:
    """Return the monitoring-plugin exit code and line; anything that stops the check is 3 UNKNOWN."""
    try:
        settings = load_settings()
        if not settings.paths.state_db.exists():
            return 3, f"TOPHITS UNKNOWN - no state DB at {settings.paths.state_db} yet; run `tophits update` first"
        # The line never shows the schedule: a check run every minute need not ask systemd.
        return check_line(collect_status(settings, clock(), read_timer=lambda: None))
    except TophitsError as error:
        return 3, f"TOPHITS UNKNOWN - {error.message}"
    except Exception as error:  # noqa: BLE001 - a monitoring check answers UNKNOWN, never a traceback
        return 3, f"TOPHITS UNKNOWN - {type(error).__name__}: {str(error)[:200]}; run `tophits status` or `doctor`"


def check_line(report: StatusReport) -> tuple[int, str]:
    """Return the monitoring-plugin exit code and one line: 0 OK, 1 WARNING, 2 CRITICAL."""
    code = {"ok": 0, "warning": 1, "critical": 2}[report.level]
    label = {0: "OK", 1: "WARNING", 2: "CRITICAL"}[code]
    active = [p for p in report.playlists if p.status == PlaylistState.ACTIVE]
    last = report.runs[0] if report.runs else None
    detail = f"{len(active)} playlists, last run {last.result} at {last.started_at}" if last else "no runs yet"
    if report.alerts:
        detail = "; ".join(alert.message for alert in report.alerts if alert.severity == report.level) or detail
    return code, f"TOPHITS {label} - {detail}"
