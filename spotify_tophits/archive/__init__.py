"""Backup archives: the format (`format`), archives on disk and their retention (`retention`), and
safety copies of the state DB (`copies`); this package exports the names the rest of tophits uses."""

from spotify_tophits.archive.format import (
    KINDS,
    STATE_MEMBER,
    Manifest,
    Member,
    Verified,
    build_manifest,
    check_state_db,
    manifest_bytes,
    read_archive,
    sha256,
    verify_archive,
    write_archive,
)
from spotify_tophits.archive.retention import (
    SAFETY_COPY_DAYS,
    ArchiveFile,
    Retention,
    archive_name,
    list_archives,
    plan_prune,
)

__all__ = [
    "KINDS",
    "SAFETY_COPY_DAYS",
    "STATE_MEMBER",
    "ArchiveFile",
    "Manifest",
    "Member",
    "Retention",
    "Verified",
    "archive_name",
    "build_manifest",
    "check_state_db",
    "list_archives",
    "manifest_bytes",
    "plan_prune",
    "read_archive",
    "sha256",
    "verify_archive",
    "write_archive",
]
