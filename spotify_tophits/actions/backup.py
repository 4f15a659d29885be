"""`tophits backup`: write a verified archive; `backup verify`, `backup list` and `backup prune`."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path

from spotify_tophits import archive
from spotify_tophits.config import Settings
from spotify_tophits.errors import DataSafetyError, UsageError
from spotify_tophits.retry import spotify_wait
from spotify_tophits.services import Services
from spotify_tophits.store import SCHEMA_VERSION, Store


@dataclasses.dataclass(frozen=True)
class BackupResult:
    """The archive written, what it holds, and what pruning removed."""

    path: Path
    kind: str
    size: int
    files: tuple[str, ...]
    secrets: bool
    playlists_from: str | None  # "spotify", "snapshots" or None (no playlists in this kind)
    pruned: tuple[Path, ...] = ()


def _playlist_members(
    services: Services, store: Store, offline: bool, now: datetime.datetime
) -> tuple[list[archive.Member], str]:
    records = [record for record in store.managed_playlists() if record.spotify_id]
    if not records:
        return [], "snapshots"
    live: dict[str, list[str]] = {}
    source = "snapshots"
    # While Spotify asked us to wait, the playlists come from the snapshots, as in an offline backup.
    if not offline and spotify_wait(store.get_meta("not_before"), now) is None:
        gateway = services.gateway(store, lambda: now)
        listing = {info.id for info in gateway.my_playlists()}
        for record in records:
            if record.spotify_id in listing:
                live[record.spotify_id or ""] = gateway.playlist_track_ids(record.spotify_id or "")
        source = "spotify"
    members = []
    for record in records:
        items = live.get(record.spotify_id or "", list(record.contents or ()))
        document = {
            "key": record.key,
            "period": record.period,
            "name": record.name,
            "spotify_id": record.spotify_id,
            "status": record.status,
            "track_ids": items,
            "from": "spotify" if record.spotify_id in live else "snapshot",
        }
        members.append(
            archive.Member(f"playlists/{record.key}-{record.period}.json", json.dumps(document, indent=2).encode())
        )
    return members, source


def config_members(settings: Settings) -> list[archive.Member]:
    """Return config.toml and overrides.toml (when they exist) as archive members."""
    members = []
    for name in ("config.toml", "overrides.toml"):
        path = settings.paths.config_dir / name
        if path.is_file():
            members.append(archive.Member(f"config/{name}", path.read_bytes()))
    return members


def secret_members(settings: Settings) -> list[archive.Member]:
    """Return .env and token.json (when they exist) as archive members: only with --include-secrets."""
    members = []
    for name, path in ((".env", settings.paths.env_file), ("token.json", settings.paths.token_file)):
        if path.is_file():
            members.append(archive.Member(f"secrets/{name}", path.read_bytes()))
    return members


def check_destination(directory: Path) -> None:
    """Raise UsageError when `--dest` is not a directory an archive can be written to (e.g. /dev/null, /proc/1)."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--dest {directory} is not a directory; give the directory for the archives")
    probe = directory if directory.exists() else next(parent for parent in directory.parents if parent.exists())
    # Root may "write" anywhere by access(2), but not archives into the kernel's pseudo-filesystems.
    pseudo = directory.resolve().parts[1:2] in (("proc",), ("sys",), ("dev",))
    if pseudo or not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--dest {directory} is not writable; give a directory tophits can write archives to")


def run_backup(
    services: Services,
    now: datetime.datetime | None = None,
    *,
    kind: str = "full",
    destination: Path | None = None,
    include_secrets: bool = False,
    offline: bool = False,
    prune: bool = False,
    label: str = "",
) -> BackupResult:
    """Write one archive of the given kind, verified; optionally prune by the retention policy afterwards."""
    if kind not in archive.KINDS:
        raise UsageError(f"unknown backup kind {kind!r}; choose full, state or config")
    settings = services.settings
    now = now or services.clock()
    directory = destination or settings.backup.directory
    if destination is not None:
        check_destination(destination)
    members: list[archive.Member] = []
    counts: dict[str, int] = {}
    account_id = None
    playlists_from = None
    schema = None
    if kind in ("full", "state"):
        store = services.open_state()
        try:
            state = store.backup_bytes()
            counts = archive.check_state_db(settings.paths.state_db, state)
            account_id = store.get_meta("account_id")
            schema = SCHEMA_VERSION
            members.append(archive.Member(archive.STATE_MEMBER, state))
            if kind == "full":
                playlist_members, playlists_from = _playlist_members(services, store, offline, now)
                members.extend(playlist_members)
        finally:
            store.close()
    if kind in ("full", "config"):
        members.extend(config_members(settings))
    if include_secrets:
        members.extend(secret_members(settings))
    manifest = archive.build_manifest(
        kind,
        members,
        created_at=now,
        schema_version=schema,
        account_id=account_id,
        row_counts=counts,
        secrets=include_secrets,
        profile=settings.paths.profile,
    )
    path = archive.write_archive(directory / archive.archive_name(kind, now, label), manifest, members)
    pruned: tuple[Path, ...] = ()
    if prune:
        pruned = tuple(item.path for item in prune_backups(settings, now, dry_run=False, directory=directory))
    return BackupResult(
        path=path,
        kind=kind,
        size=path.stat().st_size,
        files=tuple(sorted(member.name for member in members)),
        secrets=include_secrets,
        playlists_from=playlists_from,
        pruned=pruned,
    )


@dataclasses.dataclass(frozen=True)
class ListedArchive:
    """An archive in the backup directory with the result of verifying it."""

    archive: archive.ArchiveFile
    ok: bool
    problem: str


def list_backups(settings: Settings, directory: Path | None = None, verify: bool = True) -> list[ListedArchive]:
    """Return the archives in the backup directory, newest first, each verified unless told otherwise."""
    listed = []
    for item in archive.list_archives(directory or settings.backup.directory):
        problem = ""
        if verify:
            try:
                archive.verify_archive(item.path, max_state_bytes=settings.backup.max_state_db_bytes).close()
            except DataSafetyError as error:
                problem = error.message
        listed.append(ListedArchive(item, not problem, problem))
    return listed


def prune_backups(
    settings: Settings, now: datetime.datetime, *, dry_run: bool, directory: Path | None = None
) -> list[archive.ArchiveFile]:
    """Delete (or, with dry_run, only name) the archives the retention policy does not keep."""
    policy = settings.backup
    retention = archive.Retention(policy.keep_last, policy.keep_daily, policy.keep_weekly, policy.keep_monthly)
    _, remove = archive.plan_prune(archive.list_archives(directory or policy.directory), retention, now, settings.zone)
    if not dry_run:
        for item in remove:
            item.path.unlink(missing_ok=True)
    return remove
