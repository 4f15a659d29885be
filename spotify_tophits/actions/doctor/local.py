"""The checks doctor runs without the network: runtime, paths, credentials, state DB, backups, scheduler.

Each check group is a generator of `Check` lines (and, under `--fix`, `Fixed` notes), so the
report is just their concatenation in order.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import shutil
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from spotify_tophits import archive, ranking
from spotify_tophits.actions.doctor.checks import Check, Findings, Fixed, Level
from spotify_tophits.config import Settings
from spotify_tophits.errors import TophitsError
from spotify_tophits.lock import holder_pid, is_running
from spotify_tophits.ops import health
from spotify_tophits.ops.scheduler import TimerState, linger, timer_zone
from spotify_tophits.store import SCHEMA_VERSION, Store, open_reader, open_store, schema_version_of

MIN_FREE_BYTES = 100 * 1024 * 1024


def runtime() -> Findings:
    """Python and spotipy versions."""
    yield Check("runtime", Level.OK, "Python " + ".".join(map(str, sys.version_info[:3])))
    try:
        spotipy = importlib.metadata.version("spotipy")
    except importlib.metadata.PackageNotFoundError:
        yield Check("runtime", Level.ERROR, "spotipy is not installed", "pipx reinstall spotify-tophits")
        return
    parts = tuple(int(part) for part in spotipy.split(".")[:2] if part.isdigit())
    if parts < (2, 26):
        yield Check(
            "runtime",
            Level.ERROR,
            f"spotipy {spotipy} predates the 2026 /items endpoints",
            "pip install 'spotipy>=2.26'",
        )
    else:
        yield Check("runtime", Level.OK, f"spotipy {spotipy}")


def _private(path: Path, mode: int, level: Level, risk: str, fix: bool) -> Findings:
    """Report path when others may read it; with --fix, tighten it instead."""
    current = stat.S_IMODE(path.stat().st_mode)
    if not current & 0o077:
        return
    if fix:
        path.chmod(mode)
        yield Fixed(f"chmod {mode:04o} {path}")
        return
    separator = ";" if level == Level.WARNING else ":"
    yield Check("paths", level, f"{path} is mode {current:04o}{separator} {risk}", f"chmod {mode:o} {path}")


def _inside_git(directory: Path) -> bool:
    return any((parent / ".git").exists() for parent in (directory, *directory.parents))


def _service_readable(path: Path) -> Findings:
    """A file in systemd's read-only configuration directory: root's, readable by the service's group only.

    The service cannot write there (ProtectSystem=strict) and needs no write: 0640 root:<its group>
    is right, and 0600 root would lock the service out of its own client id (exit 3).
    """
    import grp
    import pwd

    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    service_group = grp.getgrgid(os.getgid()).gr_name
    fix = f"chown root:{service_group} {path} && chmod 0640 {path} (sudo tophits systemd install --system does it)"
    if mode & 0o007:
        yield Check("paths", Level.ERROR, f"{path} is mode {mode:04o}: others can read your secrets", fix)
    elif not os.access(path, os.R_OK):
        yield Check("paths", Level.ERROR, f"{path} is not readable by the service user", fix)
    else:
        owner, group = pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name
        yield Check("paths", Level.OK, f"{path.name} is {mode:04o} {owner}:{group}: the service reads, others cannot")


def paths(settings: Settings, fix: bool) -> Findings:
    """Directories (which chain entry, writable, private, free space) and secret files."""
    paths = settings.paths
    # Under a system unit the config directory is systemd's ConfigurationDirectory=: read-only to the
    # service by design, so it must be readable, not writable nor 0700.
    read_only_config = paths.origins.get("config") == "CONFIGURATION_DIRECTORY"
    for name, directory in (("state", paths.state_dir), ("config", paths.config_dir)):
        origin = paths.origins.get(name, "")
        if name == "config" and read_only_config and directory.exists():
            readable = os.access(directory, os.R_OK | os.X_OK)
            yield Check(
                "paths",
                Level.OK if readable else Level.ERROR,
                f"config directory {directory} (from {origin}, read-only to the service)"
                + ("" if readable else " is not readable by the service user"),
                None if readable else f"chmod 0755 {directory}",
            )
            continue
        if not directory.exists():
            if not fix:
                level = Level.ERROR if name == "state" and paths.token_file.exists() else Level.WARNING
                yield Check(
                    "paths", level, f"{name} directory {directory} ({origin}) does not exist", "tophits doctor --fix"
                )
                continue
            directory.mkdir(mode=0o700, parents=True)
            yield Fixed(f"created {directory} (0700)")
        if not os.access(directory, os.W_OK):
            read_only_mount = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
            yield Check(
                "paths",
                Level.ERROR,
                f"{name} directory {directory} "
                + (
                    "is on a read-only file system (read only: nothing can be written)"
                    if read_only_mount
                    else "is not writable"
                ),
                f"remount {directory} read-write" if read_only_mount else f"chown $USER {directory}",
            )
            continue
        problems = list(_private(directory, 0o700, Level.WARNING, "others can read it", fix))
        yield from problems
        if not any(isinstance(problem, Check) for problem in problems):
            yield Check("paths", Level.OK, f"{name} directory {directory} (from {origin})")
    if paths.state_dir.exists():
        free = shutil.disk_usage(paths.state_dir).free
        if free < MIN_FREE_BYTES:
            yield Check(
                "paths",
                Level.WARNING,
                f"only {free // 1024 // 1024} MiB free under {paths.state_dir}",
                "free some disk space",
            )
    for secret in (paths.env_file, paths.token_file):
        if not secret.exists():
            continue
        if secret == paths.env_file and read_only_config:
            yield from _service_readable(secret)
            continue
        problems = list(_private(secret, 0o600, Level.ERROR, "others can read your secrets", fix))
        yield from problems
        if not any(isinstance(problem, Check) for problem in problems):
            yield Check("paths", Level.OK, f"{secret.name} is private (0600)")
    if paths.env_file.exists() and _inside_git(paths.env_file.parent):
        yield Check(
            "paths",
            Level.WARNING,
            f"{paths.env_file} is inside a git work tree; it could be committed",
            "move it out, or add it to .gitignore",
        )


def credentials(settings: Settings) -> Findings:
    """The config summary, and where the client id and secret come from."""
    found = settings.credentials
    config = settings.paths.config_file if settings.config_file_found else "no config.toml: defaults"
    yield Check("config", Level.OK, f"{config}; time zone {settings.timezone}; redirect {found.redirect_uri}")
    env_file = settings.paths.env_file
    if not found.client_id:
        yield Check(
            "credentials", Level.ERROR, "SPOTIPY_CLIENT_ID is not set", f"add SPOTIPY_CLIENT_ID=... to {env_file}"
        )
    if not found.client_secret:
        yield Check(
            "credentials",
            Level.ERROR,
            "SPOTIPY_CLIENT_SECRET is not set",
            f"add SPOTIPY_CLIENT_SECRET=... to {env_file}",
        )
    if found.client_id and found.client_secret:
        sources = f"client id from {found.client_id_source}, secret from {found.secret_source}"
        if settings.paths.profile:
            # One Spotify app for the household, or this profile's own: say which applies.
            shared = f"{found.client_id_source}".startswith("shared .env")
            sources += "; the app shared by every profile" if shared else "; this profile's own app"
        yield Check("credentials", Level.OK, f"client id and secret found ({sources})")


def _stale_lock(settings: Settings, fix: bool) -> Findings:
    pid = holder_pid(settings.paths.lock_file)
    if pid is None or is_running(pid):
        return
    if fix:
        settings.paths.lock_file.unlink(missing_ok=True)
        yield Fixed(f"removed the stale lock file of killed pid {pid}")
        return
    yield Check(
        "state",
        Level.WARNING,
        f"lock file names pid {pid}, which is not running (a run was killed; the lock is free)",
        "tophits doctor --fix",
    )


def _history(settings: Settings, store: Store, now: datetime.datetime) -> Findings:
    """Whether each enabled playlist's window has enough chart history to fill it."""
    today = now.astimezone(settings.zone).date()
    earliest, latest = store.earliest_chart_date(), store.latest_chart_date(today)
    for playlist in settings.enabled_playlists():
        window = ranking.current_window(playlist.key, today, earliest, latest)
        if window is None:
            yield Check("history", Level.WARNING, f"no chart history yet for {playlist.key}", "tophits update")
            continue
        # Counting songs, not ranking them: a year's window costs what filling the list costs.
        count = ranking.fillable(store.charted_songs(window.start, window.end), playlist.size, settings.max_per_artist)
        if count < playlist.size:
            yield Check(
                "history",
                Level.WARNING,
                f"{playlist.key}: history fills {count} of {playlist.size} tracks ({window.describe()})",
                "wait for more chart days, or add a source",
            )
        else:
            yield Check("history", Level.OK, f"{playlist.key}: history fills all {playlist.size} tracks")


def state(settings: Settings, now: datetime.datetime, fix: bool) -> Findings:
    """The state DB: schema, quick_check, stale lock, and enough history to fill each playlist."""
    path = settings.paths.state_db
    if not path.exists():
        yield Check("state", Level.WARNING, f"no state DB at {path} yet", "tophits update")
        return
    try:
        version = schema_version_of(path)
        if version < SCHEMA_VERSION:
            # Doctor only reports an older schema; update migrates it, after writing a pre-migration copy.
            yield Check(
                "state",
                Level.WARNING,
                f"state DB schema {version} is older than this tophits ({SCHEMA_VERSION})",
                "tophits update (migrates it after writing a pre-migration backup)",
            )
            return
        store = open_reader(path)  # doctor only reads: a read-only mount is reported, not a failure here
    except TophitsError as error:
        yield Check("state", Level.ERROR, error.message, f"mv {path} {path}.broken && tophits restore <newest archive>")
        return
    try:
        findings = store.quick_check()
        if findings != ["ok"]:
            yield Check(
                "state",
                Level.ERROR,
                f"state DB fails quick_check: {findings[0]}",
                "tophits restore <newest archive> (see tophits backup list)",
            )
            return
        yield Check("state", Level.OK, f"state DB healthy (schema {SCHEMA_VERSION})")
        for finding in health.source_findings(store.source_health()):
            yield Check("sources", Level.WARNING, finding.message, finding.fix)
        yield from _stale_lock(settings, fix)
        yield from _history(settings, store, now)
    finally:
        store.close()


def record_verification(settings: Settings, now: datetime.datetime, ok: bool) -> None:
    """Remember a backup verification's result so `status` can show when the newest backup was last verified."""
    path = settings.paths.state_db
    try:
        if not path.exists() or schema_version_of(path) != SCHEMA_VERSION:
            return
        store = open_store(path)
    except TophitsError:
        return  # the state check reports an unusable DB; nothing to record in it
    try:
        store.set_meta("backup_verified_at", now.isoformat())
        store.set_meta("backup_verified_ok", "1" if ok else "0")
    finally:
        store.close()


def backups(settings: Settings, now: datetime.datetime) -> Findings:
    """The newest backup: age against the policy, and that it verifies and would restore (recorded for status)."""
    archives = archive.list_archives(settings.backup.directory)
    partials = archive.partial_files(settings.backup.directory)
    if partials:
        yield Check(
            "backups",
            Level.WARNING,
            f"{len(partials)} partial archive(s) left by an interrupted backup ({partials[0].name})",
            "the next `tophits backup` removes them",
        )
    newest = next((item for item in archives if not item.label), None)
    for finding in health.backup_findings(newest.created_at if newest else None, now, settings.backup.max_age_hours):
        yield Check("backups", Level.WARNING, finding.message, finding.fix)
    if newest is None:
        return
    # The archive format and tarfile load only when there is an archive to verify.
    from spotify_tophits.archive.state import verify_restorable

    try:
        verify_restorable(newest.path, settings.backup.max_state_db_bytes).close()
    except TophitsError as error:
        record_verification(settings, now, False)
        yield Check("backups", Level.ERROR, f"the newest backup does not verify: {error.message}", "tophits backup")
        return
    record_verification(settings, now, True)
    yield Check("backups", Level.OK, f"newest backup {newest.path.name} verifies and would restore")


def scheduler(settings: Settings, read_timer: Callable[[], TimerState | None]) -> Findings:
    """The update timer: installed, enabled, next run, last result, time zone; lingering for user timers."""
    state = read_timer()
    if state is None:
        yield Check(
            "scheduler",
            Level.WARNING,
            "no tophits-update.timer installed: nothing runs the update daily",
            "tophits systemd install",
        )
        return
    user_flag = "--user " if state.scope == "user" else ""
    if state.enabled != "enabled":
        yield Check(
            "scheduler",
            Level.WARNING,
            f"{state.unit} is {state.enabled or 'not enabled'}",
            f"systemctl {user_flag}enable --now {state.unit}",
        )
    else:
        yield Check(
            "scheduler", Level.OK, f"{state.unit} ({state.scope}) enabled; next run {state.next_run or 'unknown'}"
        )
    if state.last_result and state.last_result != "success":
        service = state.unit.replace(".timer", ".service")
        yield Check(
            "scheduler",
            Level.WARNING,
            f"the last scheduled run ended with {state.last_result}",
            f"journalctl {user_flag}-u {service} -e",
        )
    if state.calendar and timer_zone(state.calendar) != settings.timezone:
        yield Check(
            "scheduler",
            Level.WARNING,
            f"{state.unit} fires in another time zone than config.toml's {settings.timezone}",
            f"tophits systemd install {user_flag or '--system '}(re-renders the timers)",
        )
    if state.scope == "user":
        user = os.environ.get("USER", "")
        if linger(user) is False:
            yield Check(
                "scheduler",
                Level.WARNING,
                f"lingering is off for {user}: user timers stop when you log out",
                f"loginctl enable-linger {user}",
            )
