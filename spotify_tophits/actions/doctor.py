"""`tophits doctor`: one line per check, ✓ / ! / ✗, each problem with the exact command or edit that fixes it.

Read-only by default. `--fix` does only safe things (create directories, tighten modes, drop a
stale lock file) and says what it did. Doctor never changes Spotify and never prints a secret.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from spotify_tophits import archive, health, ranking
from spotify_tophits.config import Settings, load_settings
from spotify_tophits.errors import TophitsError
from spotify_tophits.lock import holder_pid
from spotify_tophits.scheduler import TimerState, timer_state
from spotify_tophits.spotify import SCOPES, TokenFile, refresh_token_expiry

OK, WARNING, ERROR = "ok", "warning", "error"
MIN_FREE_BYTES = 100 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    category: str
    level: str
    message: str
    fix: str | None = None


@dataclasses.dataclass
class DoctorReport:
    checks: list[Check]
    fixed: list[str]

    def count(self, level: str) -> int:
        return sum(1 for check in self.checks if check.level == level)

    def exit_code(self, strict: bool) -> int:
        return 1 if self.count(ERROR) or (strict and self.count(WARNING)) else 0


class _Doctor:
    def __init__(self, settings: Settings | None, now: datetime.datetime, fix: bool) -> None:
        self.settings = settings
        self.now = now
        self.fix = fix
        self.checks: list[Check] = []
        self.fixed: list[str] = []

    def add(self, category: str, level: str, message: str, fix: str | None = None) -> None:
        self.checks.append(Check(category, level, message, fix))

    # -- runtime ------------------------------------------------------------------------------------
    def runtime(self) -> None:
        """Python and spotipy versions."""
        self.add("runtime", OK, "Python " + ".".join(map(str, sys.version_info[:3])))
        try:
            spotipy = importlib.metadata.version("spotipy")
        except importlib.metadata.PackageNotFoundError:
            self.add("runtime", ERROR, "spotipy is not installed", "pipx reinstall spotify-tophits")
            return
        parts = tuple(int(part) for part in spotipy.split(".")[:2] if part.isdigit())
        if parts < (2, 26):
            self.add(
                "runtime", ERROR, f"spotipy {spotipy} predates the 2026 /items endpoints", "pip install 'spotipy>=2.26'"
            )
        else:
            self.add("runtime", OK, f"spotipy {spotipy}")

    def private(self, path: Path, mode: int, level: str, risk: str) -> bool:
        """Return True when path is private to its owner, tightening it first with --fix; else report it."""
        current = stat.S_IMODE(path.stat().st_mode)
        if not current & 0o077:
            return True
        if self.fix:
            path.chmod(mode)
            self.fixed.append(f"chmod {mode:04o} {path}")
            return True
        separator = ";" if level == WARNING else ":"
        self.add("paths", level, f"{path} is mode {current:04o}{separator} {risk}", f"chmod {mode:o} {path}")
        return False

    # -- paths --------------------------------------------------------------------------------------
    def paths(self, settings: Settings) -> None:
        """Directories (which chain entry, writable, private, free space) and secret files."""
        paths = settings.paths
        for name, directory in (("state", paths.state_dir), ("config", paths.config_dir)):
            origin = paths.origins.get(name, "")
            if not directory.exists():
                if self.fix:
                    directory.mkdir(mode=0o700, parents=True)
                    self.fixed.append(f"created {directory} (0700)")
                else:
                    level = ERROR if name == "state" and settings.paths.token_file.exists() else WARNING
                    self.add(
                        "paths",
                        level,
                        f"{name} directory {directory} ({origin}) does not exist",
                        "tophits doctor --fix",
                    )
                    continue
            if not os.access(directory, os.W_OK):
                self.add("paths", ERROR, f"{name} directory {directory} is not writable", f"chown $USER {directory}")
                continue
            if not self.private(directory, 0o700, WARNING, "others can read it"):
                continue
            self.add("paths", OK, f"{name} directory {directory} (from {origin})")
        if paths.state_dir.exists():
            free = shutil.disk_usage(paths.state_dir).free
            if free < MIN_FREE_BYTES:
                self.add(
                    "paths",
                    WARNING,
                    f"only {free // 1024 // 1024} MiB free under {paths.state_dir}",
                    "free some disk space",
                )
        for secret in (paths.env_file, paths.token_file):
            if not secret.exists():
                continue
            if not self.private(secret, 0o600, ERROR, "others can read your secrets"):
                continue
            self.add("paths", OK, f"{secret.name} is private (0600)")
        if paths.env_file.exists() and _inside_git(paths.env_file.parent):
            self.add(
                "paths",
                WARNING,
                f"{paths.env_file} is inside a git work tree; it could be committed",
                "move it out, or add it to .gitignore",
            )

    # -- config and credentials ---------------------------------------------------------------------
    def credentials(self, settings: Settings) -> None:
        """The config summary, and where the client id and secret come from."""
        credentials = settings.credentials
        self.add(
            "config",
            OK,
            f"{settings.paths.config_file if settings.config_file_found else 'no config.toml: defaults'};"
            f" time zone {settings.timezone}; redirect {credentials.redirect_uri}",
        )
        if not credentials.client_id:
            self.add(
                "credentials",
                ERROR,
                "SPOTIPY_CLIENT_ID is not set",
                f"add SPOTIPY_CLIENT_ID=... to {settings.paths.env_file}",
            )
        if not credentials.client_secret:
            self.add(
                "credentials",
                ERROR,
                "SPOTIPY_CLIENT_SECRET is not set",
                f"add SPOTIPY_CLIENT_SECRET=... to {settings.paths.env_file}",
            )
        if credentials.client_id and credentials.client_secret:
            self.add("credentials", OK, f"client id and secret found (secret from {credentials.secret_source})")

    # -- auth ---------------------------------------------------------------------------------------
    def auth(self, settings: Settings, offline: bool) -> None:
        """The token: present, scopes, days left, and (online) a live refresh."""
        token = TokenFile(settings.paths.token_file).read()
        if token is None:
            self.add("auth", ERROR, f"no Spotify authorisation at {settings.paths.token_file}", "tophits auth")
            return
        granted = set(str(token.get("scope") or "").split())
        missing = [scope for scope in SCOPES if scope not in granted]
        if missing:
            self.add("auth", ERROR, f"the token lacks scopes {' '.join(missing)}", "tophits auth")
            return
        for finding in health.token_findings(refresh_token_expiry(token), True, self.now):
            self.add("auth", ERROR if finding.severity == health.CRITICAL else WARNING, finding.message, finding.fix)
            if finding.severity == health.CRITICAL:
                return
        expires = refresh_token_expiry(token)
        left = f"; refresh token valid until {expires:%Y-%m-%d}" if expires else ""
        if offline:
            self.add("auth", OK, f"token present for {token.get('display_name') or token.get('user_id')}{left}")
            return
        from spotify_tophits.spotify import RequestStats, make_oauth, make_session

        try:
            oauth = make_oauth(settings, make_session(RequestStats()))
            oauth.refresh_access_token(token["refresh_token"])
        except TophitsError as error:
            self.add("auth", ERROR, error.message, "tophits auth")
            return
        except Exception as error:  # noqa: BLE001 - spotipy's OAuth errors, reported not raised
            from spotify_tophits.spotify import oauth_failure

            if type(error).__name__ == "SpotifyOauthError":
                failure = oauth_failure(error)
                self.add("auth", ERROR, failure.message, "tophits auth")
            else:
                self.add(
                    "auth",
                    ERROR,
                    f"token refresh failed: {type(error).__name__}",
                    "check the network, then tophits doctor",
                )
            return
        self.add("auth", OK, f"token refreshed for {token.get('display_name') or token.get('user_id')}{left}")

    # -- Spotify API and playlists ------------------------------------------------------------------
    def api_and_playlists(self, settings: Settings) -> None:
        """GET /me, then each managed playlist: still ours, followed, unchanged; /items answers."""
        from spotify_tophits.actions import Services, open_state
        from spotify_tophits.spotify import RetryPolicy

        if not settings.paths.state_db.exists():
            return
        store = open_state(settings)
        try:
            # max_retry_wait 0: a 429 is reported with its Retry-After, never waited on.
            services = Services(settings, retry_policy=RetryPolicy(max_retry_wait=0, max_attempts=1))
            gateway = services.gateway(store, lambda: self.now)
            started = time.monotonic()
            try:
                user = gateway.current_user()
            except TophitsError as error:
                self.add(
                    "api",
                    ERROR,
                    f"GET /me failed: {error.message}",
                    "tophits doctor again later" if error.exit_code == 5 else "tophits auth",
                )
                return
            self.add(
                "api",
                OK,
                f"GET /me: {user.display_name or user.id} in {(time.monotonic() - started) * 1000:.0f} ms"
                " (the app owner's Premium cannot be checked through the API)",
            )
            records = [
                record for record in store.managed_playlists() if record.status == "active" and record.spotify_id
            ]
            if not records:
                return
            try:
                listing = {info.id: info for info in gateway.my_playlists()}
            except TophitsError as error:
                self.add(
                    "playlists", ERROR, f"cannot list your playlists: {error.message}", "tophits doctor again later"
                )
                return
            for record in records:
                info = listing.get(record.spotify_id or "")
                if info is None:
                    self.add(
                        "playlists",
                        WARNING,
                        f"{record.name} is no longer in your library (unfollowed or deleted)",
                        "tophits update (recreates it)",
                    )
                elif info.owner_id != user.id:
                    self.add(
                        "playlists",
                        ERROR,
                        f"{record.name} is owned by {info.owner_id}, not you",
                        "tophits update (recreates it)",
                    )
                elif record.snapshot_id and info.snapshot_id != record.snapshot_id:
                    self.add(
                        "playlists",
                        WARNING,
                        f"{record.name} was changed outside tophits (snapshot differs)",
                        "tophits update (restores the ranked list)",
                    )
                else:
                    self.add("playlists", OK, f"{record.name}: {info.total} tracks, as last written")
            first = next((record for record in records if record.spotify_id in listing), None)
            if first is not None:
                try:
                    gateway.playlist_track_ids(first.spotify_id or "")
                    self.add("playlists", OK, "the /items endpoint answers")
                except TophitsError as error:
                    self.add("playlists", ERROR, f"reading {first.name} failed: {error.message}", "tophits auth")
        finally:
            store.close()

    # -- chart sources ------------------------------------------------------------------------------
    def sources(self, settings: Settings) -> None:
        """Each chart source answers in a valid shape (a cheap probe, no track look-ups)."""
        import requests

        from spotify_tophits.sources import build_sources
        from spotify_tophits.store import open_store

        store = open_store(None)
        try:
            for source in build_sources(settings, store, requests.Session()):
                try:
                    rows = source.probe()
                except TophitsError as error:
                    self.add(
                        "sources",
                        ERROR,
                        error.message,
                        f"check {source.name}, or remove it from sources in config.toml",
                    )
                    continue
                self.add("sources", OK, f"{source.name}: reachable, {rows} rows in a valid shape")
        finally:
            store.close()

    # -- state DB -----------------------------------------------------------------------------------
    def state(self, settings: Settings) -> None:
        """The state DB: schema, quick_check, stale lock, and enough history to fill each playlist."""
        from spotify_tophits.store import SCHEMA_VERSION, open_store, schema_version_of

        path = settings.paths.state_db
        if not path.exists():
            self.add("state", WARNING, f"no state DB at {path} yet", "tophits update")
            return
        try:
            version = schema_version_of(path)
            if version < SCHEMA_VERSION:
                # Doctor does not migrate; update does, after writing a pre-migration copy.
                self.add(
                    "state",
                    WARNING,
                    f"state DB schema {version} is older than this tophits ({SCHEMA_VERSION})",
                    "tophits update (migrates it after writing a pre-migration backup)",
                )
                return
            store = open_store(path)
        except TophitsError as error:
            self.add("state", ERROR, error.message, f"mv {path} {path}.broken && tophits restore <newest archive>")
            return
        try:
            findings = [str(row[0]) for row in store.connection.execute("PRAGMA quick_check")]
            if findings != ["ok"]:
                self.add(
                    "state",
                    ERROR,
                    f"state DB fails quick_check: {findings[0]}",
                    "tophits restore <newest archive> (see tophits backup list)",
                )
                return
            from spotify_tophits.store import SCHEMA_VERSION

            self.add("state", OK, f"state DB healthy (schema {SCHEMA_VERSION})")
            for finding in health.source_findings(store.source_health()):
                self.add("sources", WARNING, finding.message, finding.fix)
            pid = holder_pid(settings.paths.lock_file)
            if pid is not None and not _running(pid):
                if self.fix:
                    settings.paths.lock_file.unlink(missing_ok=True)
                    self.fixed.append(f"removed the stale lock file of killed pid {pid}")
                else:
                    self.add(
                        "state",
                        WARNING,
                        f"lock file names pid {pid}, which is not running (a run was killed; the lock is free)",
                        "tophits doctor --fix",
                    )
            today = self.now.astimezone(settings.zone).date()
            earliest, latest = store.earliest_chart_date(), store.latest_chart_date(today)
            for playlist in settings.enabled_playlists():
                window = ranking.current_window(playlist.key, today, earliest, latest)
                if window is None:
                    self.add("history", WARNING, f"no chart history yet for {playlist.key}", "tophits update")
                    continue
                count = len(
                    ranking.rank_tracks(  # same weights as update, so the count is what update would get
                        store.ranked_rows(window.start, window.end), window, playlist.size, settings.max_per_artist
                    )
                )
                if count < playlist.size:
                    self.add(
                        "history",
                        WARNING,
                        f"{playlist.key}: history fills {count} of {playlist.size} tracks ({window.describe()})",
                        "wait for more chart days, or add a source",
                    )
                else:
                    self.add("history", OK, f"{playlist.key}: history fills all {playlist.size} tracks")
        finally:
            store.close()

    # -- backups ------------------------------------------------------------------------------------
    def backups(self, settings: Settings) -> None:
        """The newest backup: age against the policy, and that it verifies and would restore."""
        archives = archive.list_archives(settings.backup.directory)
        newest = next((item for item in archives if not item.label), None)
        for finding in health.backup_findings(
            newest.created_at if newest else None, self.now, settings.backup.max_age_hours
        ):
            self.add("backups", WARNING, finding.message, finding.fix)
        if newest is None:
            return
        from spotify_tophits.actions.backup import verify_restorable

        try:
            verify_restorable(newest.path)
        except TophitsError as error:
            self._record_verification(settings, False)
            self.add("backups", ERROR, f"the newest backup does not verify: {error.message}", "tophits backup")
            return
        self._record_verification(settings, True)
        self.add("backups", OK, f"newest backup {newest.path.name} verifies and would restore")

    def _record_verification(self, settings: Settings, ok: bool) -> None:
        """Remember the result so `status` can show when the newest backup was last verified."""
        from spotify_tophits.store import SCHEMA_VERSION, open_store, schema_version_of

        path = settings.paths.state_db
        try:
            if not path.exists() or schema_version_of(path) != SCHEMA_VERSION:
                return
            store = open_store(path)
        except TophitsError:
            return  # the state check reports an unusable DB; nothing to record in it
        try:
            store.set_meta("backup_verified_at", self.now.isoformat())
            store.set_meta("backup_verified_ok", "1" if ok else "0")
        finally:
            store.close()

    # -- scheduler ----------------------------------------------------------------------------------
    def scheduler(self, settings: Settings, read_timer: Callable[[], TimerState | None]) -> None:
        """The update timer: installed, enabled, next run; lingering for user timers."""
        state = read_timer()
        if state is None:
            self.add(
                "scheduler",
                WARNING,
                "no tophits-update.timer installed: nothing runs the update daily",
                "tophits systemd install",
            )
            return
        if state.enabled != "enabled":
            self.add(
                "scheduler",
                WARNING,
                f"{state.unit} is {state.enabled or 'not enabled'}",
                f"systemctl {'--user ' if state.scope == 'user' else ''}enable --now {state.unit}",
            )
        else:
            self.add("scheduler", OK, f"{state.unit} ({state.scope}) enabled; next run {state.next_run or 'unknown'}")
        user_flag = "--user " if state.scope == "user" else ""
        if state.last_result and state.last_result != "success":
            service = state.unit.replace(".timer", ".service")
            self.add(
                "scheduler",
                WARNING,
                f"the last scheduled run ended with {state.last_result}",
                f"journalctl {user_flag}-u {service} -e",
            )
        if state.calendar and timer_zone(state.calendar) != settings.timezone:
            self.add(
                "scheduler",
                WARNING,
                f"{state.unit} fires in another time zone than config.toml's {settings.timezone}",
                f"tophits systemd install {user_flag or '--system '}(re-renders the timers)",
            )
        if state.scope == "user":
            user = os.environ.get("USER", "")
            linger = _linger(user)
            if linger is False:
                self.add(
                    "scheduler",
                    WARNING,
                    f"lingering is off for {user}: user timers stop when you log out",
                    f"loginctl enable-linger {user}",
                )


def timer_zone(calendar: str) -> str | None:
    """Return the time zone an OnCalendar= spec names (None: the machine's local time).

    `calendar` is systemd's TimersCalendar, e.g. "{ OnCalendar=*-*-* 06:00:00 Europe/Berlin ; next_elapse=... }".
    """
    spec = calendar.split("OnCalendar=", 1)[-1].split(";", 1)[0].strip()
    last = spec.split()[-1] if spec.split() else ""
    return last if "/" in last or last in ("UTC", "GMT") else None


def _inside_git(directory: Path) -> bool:
    return any((parent / ".git").exists() for parent in (directory, *directory.parents))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _linger(user: str) -> bool | None:
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


def run_doctor(
    now: datetime.datetime,
    *,
    offline: bool = False,
    fix: bool = False,
    environ: dict[str, str] | None = None,
    read_timer: Callable[[], TimerState | None] = timer_state,
) -> DoctorReport:
    """Run every check in order and return the report. Only `fix` changes anything, and only locally."""
    doctor = _Doctor(None, now, fix)
    doctor.runtime()
    try:
        settings = load_settings(environ)
    except TophitsError as error:
        doctor.add("config", ERROR, error.message, "edit the file or variable named above")
        return DoctorReport(doctor.checks, doctor.fixed)
    doctor.paths(settings)
    doctor.credentials(settings)
    has_credentials = bool(settings.credentials.client_id and settings.credentials.client_secret)
    if has_credentials:
        doctor.auth(settings, offline)
    if not offline and has_credentials and not any(c.category == "auth" and c.level == ERROR for c in doctor.checks):
        doctor.api_and_playlists(settings)
    if not offline:
        doctor.sources(settings)
    doctor.state(settings)
    doctor.backups(settings)
    doctor.scheduler(settings, read_timer)
    return DoctorReport(doctor.checks, doctor.fixed)
