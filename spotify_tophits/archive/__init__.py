"""Backup archives: the format (`format`), archives on disk and their retention (`retention`), and
safety copies of the state DB (`copies`); this package exports the names the rest of tophits uses."""

from spotify_tophits.archive.format import (
    KINDS,
    Manifest,
    Member,
    Verified,
    build_manifest,
    manifest_bytes,
    partial_files,
    read_archive,
    sha256,
    write_archive,
)
from spotify_tophits.archive.members import STATE_MEMBER
from spotify_tophits.archive.retention import (
    SAFETY_COPY_DAYS,
    ArchiveFile,
    Retention,
    archive_name,
    list_archives,
    plan_prune,
)
from spotify_tophits.archive.verify import check_state_db, check_state_file, verify_archive

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
    "check_state_file",
    "list_archives",
    "manifest_bytes",
    "partial_files",
    "plan_prune",
    "read_archive",
    "sha256",
    "verify_archive",
    "write_archive",
]
