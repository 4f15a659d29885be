"""Archives on disk: their names, listing a backup directory, and retention like restic's `forget`.

Retention keeps the last N archives, then the newest archive of each of the last N days, ISO
weeks and months; labelled safety copies (pre-restore, pre-migration) are outside those rules.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable
from pathlib import Path

# `.N` tells apart archives written in the same second (the writer never replaces an archive).
NAME = re.compile(r"^tophits-(full|state|config)-(\d{8}T\d{6}Z)(-[a-z-]+)?(?:\.(\d{1,3}))?\.tar\.gz$")


def archive_name(kind: str, created_at: datetime.datetime, label: str = "") -> str:
    """Return `tophits-<kind>-<UTC timestamp>[-label].tar.gz`."""
    stamp = created_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"tophits-{kind}-{stamp}{'-' + label if label else ''}.tar.gz"


@dataclasses.dataclass(frozen=True)
class ArchiveFile:
    """An archive found in a backup directory, by its name."""

    path: Path
    kind: str
    created_at: datetime.datetime
    label: str
    size: int


def list_archives(directory: Path) -> list[ArchiveFile]:
    """Return the tophits archives in directory, newest first (judged by name, not by content)."""
    archives = []
    if not directory.is_dir():
        return []
    for path in directory.iterdir():
        match = NAME.match(path.name)
        if match and path.is_file():
            created = datetime.datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
            label = (match.group(3) or "").lstrip("-")
            archives.append(ArchiveFile(path, match.group(1), created, label, path.stat().st_size))
    return sorted(archives, key=_written_order, reverse=True)


def _written_order(archive: ArchiveFile) -> tuple[datetime.datetime, int]:
    match = NAME.match(archive.path.name)
    return archive.created_at, int(match.group(4) or 0) if match else 0


@dataclasses.dataclass(frozen=True)
class Retention:
    """How many archives to keep, like restic's `forget --keep-*` (0 means that rule keeps none)."""

    keep_last: int = 7
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 12


SAFETY_COPY_DAYS = 30


def plan_prune(
    archives: Iterable[ArchiveFile],
    retention: Retention,
    now: datetime.datetime,
    zone: datetime.tzinfo = datetime.UTC,
) -> tuple[list[ArchiveFile], list[ArchiveFile]]:
    """Return (keep, remove). Each kind is pruned on its own; labelled safety copies (pre-restore,
    pre-migration) are outside the rules and kept for 30 days."""
    keep: list[ArchiveFile] = []
    remove: list[ArchiveFile] = []
    by_kind: dict[str, list[ArchiveFile]] = {}
    for archive in sorted(archives, key=lambda archive: archive.created_at, reverse=True):
        if archive.label:
            young = now - archive.created_at < datetime.timedelta(days=SAFETY_COPY_DAYS)
            (keep if young else remove).append(archive)
        else:
            by_kind.setdefault(archive.kind, []).append(archive)
    for group in by_kind.values():
        kept: set[Path] = {archive.path for archive in group[: retention.keep_last]}
        buckets = (
            (retention.keep_daily, lambda moment: moment.date()),
            (retention.keep_weekly, lambda moment: moment.isocalendar()[:2]),
            (retention.keep_monthly, lambda moment: (moment.year, moment.month)),
        )
        for limit, bucket_of in buckets:
            seen: list[object] = []
            for archive in group:
                bucket = bucket_of(archive.created_at.astimezone(zone))
                if bucket in seen:
                    continue
                if len(seen) >= limit:
                    break
                seen.append(bucket)
                kept.add(archive.path)
        for archive in group:
            (keep if archive.path in kept else remove).append(archive)
    return keep, remove
