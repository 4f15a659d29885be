"""`tophits restore`: verify first, show what changes, keep a safety copy, then swap files in atomically.

Nothing on disk changes until the archive has been read and checked completely and the user
(or `--yes`) has agreed. The state DB is swapped with one rename after its WAL is checkpointed,
so a crash leaves either the old DB or the new one. Archived playlists can be pushed back to
Spotify, to the same playlist when it is still ours, otherwise to a recreated one.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from pathlib import Path

from spotify_tophits import archive
from spotify_tophits.actions.backup import BackupResult, run_backup
from spotify_tophits.archive.state import check_current_state
from spotify_tophits.errors import DataSafetyError, UsageError
from spotify_tophits.files import write_atomically
from spotify_tophits.lock import run_lock
from spotify_tophits.reconcile import reconcile
from spotify_tophits.services import Services
from spotify_tophits.store import SCHEMA_VERSION, ManagedPlaylist, PlaylistState, replace_database

PARTS = ("state", "config", "playlists")


@dataclasses.dataclass(frozen=True)
class RestorePlan:
    """What a restore would change, for the user to read before agreeing."""

    archive: Path
    kind: str
    created_at: str
    parts: tuple[str, ...]
    changes: tuple[str, ...]
    playlists: tuple[str, ...]
    # Restoring another profile's archive never takes its token or .env: they belong to its account.
    keep_secrets: bool = False


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    """What the restore did."""

    plan: RestorePlan
    dry_run: bool
    safety_copy: Path | None
    playlists: tuple[str, ...] = ()
    safety_secrets: tuple[str, ...] = ()  # the secret files the safety copy holds (it is 0600)


def _parts(verified: archive.Verified, only: str | None, push_playlists: bool) -> tuple[str, ...]:
    names = verified.manifest.names()
    present = {
        "state": archive.STATE_MEMBER in names,
        "config": any(name.startswith("config/") for name in names),
        "playlists": any(name.startswith("playlists/") for name in names),
    }
    if only is not None:
        if only not in PARTS:
            raise UsageError(f"--only takes state, config or playlists, not {only!r}")
        if not present[only]:
            raise DataSafetyError(
                f"{verified.path} is a {verified.manifest.kind} archive without {only}; pick an archive that has it"
            )
        return (only,)
    wanted = [part for part in ("state", "config") if present[part]]
    if push_playlists and present["playlists"]:
        wanted.append("playlists")
    return tuple(wanted)


def confirmation(yes: bool, interactive: bool, ask: Callable[[RestorePlan], bool]) -> Callable[[RestorePlan], bool]:
    """Return how a restore is confirmed: by `--yes`, by asking a person, or (neither) refused with exit 6."""

    def confirm(plan: RestorePlan) -> bool:
        if yes:
            return True
        if not interactive:
            raise DataSafetyError("restore changes files; in a non-interactive run pass --yes to confirm")
        return ask(plan)

    return confirm


def plan_restore(
    services: Services,
    archive_path: Path,
    only: str | None,
    playlist: str | None,
    push_playlists: bool,
    into_profile: str | None = None,
) -> tuple[archive.Verified, RestorePlan]:
    """Verify the archive completely and describe what restoring it would change. Changes nothing."""
    settings = services.settings
    verified = archive.verify_archive(archive_path, max_state_bytes=settings.backup.max_state_db_bytes)
    try:
        crossing = check_profile(verified, services.settings.paths.profile, into_profile)
        plan = _plan(services, verified, only, playlist, push_playlists)
        if not crossing:
            return verified, plan
        if "playlists" in plan.parts and (push_playlists or playlist is not None):
            raise UsageError(
                f"the archived playlists belong to profile {verified.manifest.profile or 'default'}'s account;"
                " restore its state or config into this profile without --playlists"
            )
        note = "secrets: kept (the archive's token and .env belong to the other profile's account)"
        changes = plan.changes + ((note,) if verified.manifest.secrets else ())
        return verified, dataclasses.replace(plan, changes=changes, keep_secrets=True)
    except BaseException:
        verified.close()
        raise


def _plan(
    services: Services, verified: archive.Verified, only: str | None, playlist: str | None, push_playlists: bool
) -> RestorePlan:
    settings = services.settings
    archive_path = verified.path
    manifest = verified.manifest
    if manifest.schema_version is not None and manifest.schema_version > SCHEMA_VERSION:
        raise DataSafetyError(
            f"{archive_path} holds state schema {manifest.schema_version}, newer than this tophits"
            f" ({SCHEMA_VERSION}); upgrade tophits to restore it"
        )
    parts = _parts(verified, only, push_playlists or playlist is not None)
    changes = []
    if "state" in parts:
        counts = ", ".join(f"{count} {table}" for table, count in sorted(manifest.row_counts.items()))
        existing = "replaces the current state.db" if settings.paths.state_db.exists() else "creates state.db"
        changes.append(f"state: {existing} with the archived one ({counts})")
        if manifest.secrets:
            changes.append("secrets: restores .env and token.json from the archive")
    if "config" in parts:
        for name in sorted(n for n in manifest.names() if n.startswith("config/")):
            target = settings.paths.config_dir / name.removeprefix("config/")
            same = target.is_file() and target.read_bytes() == verified.members[name]
            changes.append(f"config: {target} {'unchanged' if same else 'replaced'}")
    keys = []
    if "playlists" in parts:
        for name in sorted(n for n in manifest.names() if n.startswith("playlists/")):
            document = json.loads(verified.members[name])
            if playlist is not None and document["key"] != playlist:
                continue
            keys.append(name)
            changes.append(
                f"playlist: {document['name']} gets its {len(document['track_ids'])} archived tracks on Spotify"
            )
        if playlist is not None and not keys:
            raise UsageError(f"{archive_path} has no playlist {playlist!r}")
    return RestorePlan(archive_path, manifest.kind, manifest.created_at, parts, tuple(changes), tuple(keys))


def run_restore(
    services: Services,
    archive_path: Path,
    *,
    confirm: Callable[[RestorePlan], bool],
    only: str | None = None,
    playlist: str | None = None,
    push_playlists: bool = False,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
    into_profile: str | None = None,
) -> RestoreResult:
    """Restore from an archive. `confirm(plan)` is asked before anything changes; False changes nothing.

    An archive of another profile is refused unless `into_profile` names this one (never silently).
    """
    now = now or services.clock()
    verified, plan = plan_restore(services, archive_path, only, playlist, push_playlists, into_profile)
    try:
        return _restore(services, verified, plan, dry_run, confirm, now)
    finally:
        verified.close()


def check_profile(verified: archive.Verified, profile: str | None, into_profile: str | None) -> bool:
    """Return whether the archive comes from another profile than `profile`, which only `into_profile` allows.

    Raise DataSafetyError for another profile's archive without `--into-profile`, and UsageError when
    `--into-profile` names a profile other than the one restored into.
    """
    source, target = verified.manifest.profile or "default", profile or "default"
    if into_profile is not None and into_profile != target:
        raise UsageError(
            f"--into-profile {into_profile} is not the profile being restored ({target});"
            f" run tophits --profile {into_profile} restore ... --into-profile {into_profile}"
        )
    if source == target:
        return False
    if into_profile is None:
        raise DataSafetyError(
            f"{verified.path} is a backup of profile {source}, not {target}; nothing was changed."
            f" To restore it into {target}, add --into-profile {target}"
        )
    return True


def _restore(
    services: Services,
    verified: archive.Verified,
    plan: RestorePlan,
    dry_run: bool,
    confirm: Callable[[RestorePlan], bool],
    now: datetime.datetime,
) -> RestoreResult:
    settings = services.settings
    if dry_run:
        return RestoreResult(plan, dry_run=True, safety_copy=None)
    if not confirm(plan):
        raise DataSafetyError("restore not confirmed; nothing was changed")
    with run_lock(settings.paths.lock_file):
        safety = _safety_copy(services, verified, plan, now)
        kept = (
            tuple(name.removeprefix("secrets/") for name in safety.files if name.startswith("secrets/"))
            if safety
            else ()
        )
        if "state" in plan.parts and verified.state_file is not None:
            replace_database(settings.paths.state_db, verified.state_file, now)
            for name, target in (
                ("secrets/.env", settings.paths.env_file),
                ("secrets/token.json", settings.paths.token_file),
            ):
                if name in verified.members and not plan.keep_secrets:
                    write_atomically(target, verified.members[name])
        if "config" in plan.parts:
            for name, data in verified.members.items():
                if name.startswith("config/"):
                    write_atomically(settings.paths.config_dir / name.removeprefix("config/"), data)
        pushed = _push_playlists(services, verified, plan, now) if "playlists" in plan.parts else ()
    return RestoreResult(
        plan, dry_run=False, safety_copy=safety.path if safety else None, playlists=pushed, safety_secrets=kept
    )


def _safety_copy(
    services: Services, verified: archive.Verified, plan: RestorePlan, now: datetime.datetime
) -> BackupResult | None:
    """Back up what the restore replaces, secrets included when it replaces them (0600), so it can be undone."""
    paths = services.settings.paths
    if "state" not in plan.parts and "config" not in plan.parts:
        return None
    include_secrets = (
        "state" in plan.parts
        and any(name.startswith("secrets/") for name in verified.members)
        and (paths.env_file.is_file() or paths.token_file.is_file())
    )
    if paths.state_db.exists():
        # A corrupt current DB cannot be copied: say that it is the current one, and how to move it aside.
        check_current_state(paths.state_db)
        kind = "full"
    elif "config" in plan.parts or include_secrets:
        kind = "config"
    else:
        return None
    return run_backup(services, now, kind=kind, offline=True, label="pre-restore", include_secrets=include_secrets)


def _push_playlists(
    services: Services, verified: archive.Verified, plan: RestorePlan, now: datetime.datetime
) -> tuple[str, ...]:
    store = services.open_state()
    pushed = []
    try:
        gateway = services.gateway(store, lambda: now)
        listing = {info.id: info for info in gateway.my_playlists()}
        user_id = store.get_meta("user_id") or gateway.current_user().id
        for name in plan.playlists:
            document = json.loads(verified.members[name])
            record = store.get_playlist(document["key"], document["period"])
            info = listing.get(document["spotify_id"] or "")
            known_snapshot: str | None
            known_contents: tuple[str, ...] | None
            if info is None or info.owner_id != user_id:
                info = gateway.create_playlist(document["name"], record.description if record else "", False)
                known_snapshot, known_contents = info.snapshot_id, ()
            else:
                known_snapshot = record.snapshot_id if record and record.spotify_id == info.id else None
                known_contents = record.contents if record else None
            done = reconcile(gateway, info, known_snapshot, known_contents, document["track_ids"])
            base = record or ManagedPlaylist(
                document["key"],
                document["period"],
                None,
                None,
                document["name"],
                "",
                None,
                PlaylistState(document.get("status", PlaylistState.ACTIVE)),
                now.isoformat(),
                None,
                None,
            )
            store.save_playlist(
                dataclasses.replace(
                    base,
                    spotify_id=info.id,
                    snapshot_id=done.snapshot_id,
                    contents=tuple(document["track_ids"]),
                    updated_at=now.isoformat(),
                )
            )
            pushed.append(document["name"])
    finally:
        store.close()
    return tuple(pushed)
