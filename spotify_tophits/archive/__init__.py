"""Backup archives: the format (`format`), archives on disk and their retention (`retention`), and
safety copies of the state DB (`copies`); this package exports the names the rest of tophits uses.
Each name is imported from its module on first use, so listing archives (`status`) does not load
tarfile and the archive format."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

MODULES = {
    "format": (
        "KINDS",
        "Manifest",
        "Member",
        "Verified",
        "build_manifest",
        "manifest_bytes",
        "partial_files",
        "read_archive",
        "sha256",
        "write_archive",
    ),
    "members": ("STATE_MEMBER",),
    "retention": ("SAFETY_COPY_DAYS", "ArchiveFile", "Retention", "archive_name", "list_archives", "plan_prune"),
    "verify": ("check_state_db", "check_state_file", "verify_archive"),
}
HOME = {name: module for module, names in MODULES.items() for name in names}

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


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` the first time someone asks for it."""
    if name not in HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{HOME[name]}"), name)
