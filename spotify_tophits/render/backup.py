"""Output of `backup`, `backup verify|list|prune` and `restore`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_tophits.render.output import echo

if TYPE_CHECKING:
    import datetime

    from spotify_tophits.actions.backup import BackupResult, ListedArchive
    from spotify_tophits.actions.restore import RestorePlan, RestoreResult
    from spotify_tophits.archive import ArchiveFile, Verified


def size_in_words(size: int) -> str:
    """Given a size in bytes, return it as people read it: '812 B', '10.1 MiB'."""
    if size < 1024:
        return f"{size} B"
    scaled = size / 1024
    for unit in ("KiB", "MiB"):
        if scaled < 1024:
            return f"{scaled:.1f} {unit}"
        scaled /= 1024
    return f"{scaled:.1f} GiB"


def backup_result(result: BackupResult) -> None:
    echo(f"wrote {result.path} ({result.kind}, {size_in_words(result.size)}, {len(result.files)} files, verified)")
    if result.playlists_from == "snapshots":
        echo("playlists were taken from the last recorded snapshots (offline)")
    if result.secrets:
        echo("warning: this archive holds your Spotify client secret and tokens; keep it private", "warning")
    for path in result.pruned:
        echo(f"pruned {path}")


def verified(result: Verified) -> None:
    manifest = result.manifest
    echo(f"{result.path}: OK ({manifest.kind}, created {manifest.created_at}, tophits {manifest.tophits_version})")
    for entry in manifest.files:
        echo(f"  {entry['name']}: {size_in_words(int(entry['size']))}, sha256 ok")
    if manifest.row_counts:
        echo("  state.db: integrity ok; " + ", ".join(f"{n} {t}" for t, n in sorted(manifest.row_counts.items())))


def backup_list(listed: list[ListedArchive], now: datetime.datetime) -> None:
    from spotify_tophits.clock import describe_duration

    if not listed:
        echo("no archives yet; run `tophits backup`")
        return
    for item in listed:
        age = describe_duration((now - item.archive.created_at).total_seconds())
        status = "ok" if item.ok else f"FAILED: {item.problem}"
        label = f" [{item.archive.label}]" if item.archive.label else ""
        size = size_in_words(item.archive.size)
        echo(f"{item.archive.path.name}  {item.archive.kind}{label}  {age} ago  {size}  {status}")


def pruned(archives: list[ArchiveFile], dry_run: bool) -> None:
    verb = "would delete" if dry_run else "deleted"
    for item in archives:
        echo(f"{verb} {item.path.name}")
    if not archives:
        echo("nothing to prune")


def restore_plan(plan: RestorePlan) -> None:
    echo(f"{plan.archive} ({plan.kind}, created {plan.created_at}) verified. Restoring will:")
    for change in plan.changes:
        echo(f"  - {change}")


def restore_result(result: RestoreResult) -> None:
    if result.dry_run:
        restore_plan(result.plan)
        echo("dry run: nothing was changed")
        return
    if result.safety_copy:
        with_secrets = f" (with {' and '.join(result.safety_secrets)}, mode 0600)" if result.safety_secrets else ""
        echo(f"safety copy of the previous state{with_secrets}: {result.safety_copy}")
    echo(f"restored {', '.join(result.plan.parts)} from {result.plan.archive}")
    for name in result.playlists:
        echo(f"pushed {name} to Spotify")
