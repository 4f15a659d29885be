"""The archive format: one `tar.gz` with a `manifest.json` listing every member's size and sha256.

Writing is atomic (temporary name, fsync, rename, mode 0600) and every archive is verified by
reading it back. Verification never extracts with tarfile's own extractor: each member must be a
regular file named in the manifest, with no absolute path, no `..`, no link and no device, and
its bytes must match the manifest's checksum. The state DB inside must open and pass SQLite's
integrity check.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from spotify_tophits import __version__
from spotify_tophits.errors import DataSafetyError

FORMAT_VERSION = 1
KINDS = ("full", "state", "config")
STATE_MEMBER = "state.db"


@dataclasses.dataclass(frozen=True)
class Member:
    """One file to put in an archive."""

    name: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What an archive says about itself."""

    format: int
    tophits_version: str
    schema_version: int | None
    kind: str
    created_at: str
    account_id: str | None
    files: tuple[dict[str, Any], ...]
    row_counts: Mapping[str, int]
    secrets: bool

    def names(self) -> set[str]:
        return {str(entry["name"]) for entry in self.files}


@dataclasses.dataclass(frozen=True)
class Verified:
    """A verified archive: its manifest and its members' bytes, read once."""

    path: Path
    manifest: Manifest
    members: Mapping[str, bytes]


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 of data, as the manifest records it."""
    return hashlib.sha256(data).hexdigest()


def build_manifest(
    kind: str,
    members: Iterable[Member],
    *,
    created_at: datetime.datetime,
    schema_version: int | None,
    account_id: str | None,
    row_counts: Mapping[str, int],
    secrets: bool,
) -> Manifest:
    """Return the manifest describing members (pure)."""
    files = tuple(
        {"name": member.name, "size": len(member.data), "sha256": sha256(member.data)}
        for member in sorted(members, key=lambda member: member.name)
    )
    return Manifest(
        format=FORMAT_VERSION,
        tophits_version=__version__,
        schema_version=schema_version,
        kind=kind,
        created_at=created_at.astimezone(datetime.UTC).isoformat(timespec="seconds"),
        account_id=account_id,
        files=files,
        row_counts=dict(row_counts),
        secrets=secrets,
    )


def write_archive(path: Path, manifest: Manifest, members: Iterable[Member]) -> Path:
    """Write the archive atomically at path (mode 0600), read it back, and return path.

    The caller has already checked the members (the state DB's integrity and row counts), so the
    read-back checks that every written byte matches the manifest's checksums rather than running
    the integrity check a second time. Any failure, a full disk included, leaves no partial file
    behind and raises DataSafetyError.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(prefix=".tophits-", suffix=".partial", dir=path.parent)
    temporary = Path(temporary_name)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w:gz") as archive:
                for name, data in [("manifest.json", manifest_bytes(manifest))] + [
                    (member.name, member.data) for member in members
                ]:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    info.mode = 0o600
                    info.mtime = int(datetime.datetime.fromisoformat(manifest.created_at).timestamp())
                    archive.addfile(info, io.BytesIO(data))
            handle.flush()
            os.fsync(handle.fileno())
        read_archive(temporary)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise DataSafetyError(f"could not write backup {path} ({error.strerror or error}); nothing was kept") from None
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return path


def manifest_bytes(manifest: Manifest) -> bytes:
    return json.dumps(dataclasses.asdict(manifest), indent=2, sort_keys=True).encode("utf-8")


def _parse_manifest(path: Path, data: bytes) -> Manifest:
    try:
        raw = json.loads(data)
        manifest = Manifest(
            format=int(raw["format"]),
            tophits_version=str(raw["tophits_version"]),
            schema_version=raw.get("schema_version"),
            kind=str(raw["kind"]),
            created_at=str(raw["created_at"]),
            account_id=raw.get("account_id"),
            files=tuple(dict(entry) for entry in raw["files"]),
            row_counts=dict(raw.get("row_counts") or {}),
            secrets=bool(raw.get("secrets", False)),
        )
    except (ValueError, KeyError, TypeError):
        raise DataSafetyError(f"{path}: manifest.json is not a tophits manifest; the archive is unusable") from None
    if manifest.format > FORMAT_VERSION:
        raise DataSafetyError(
            f"{path}: archive format {manifest.format} is newer than this tophits reads ({FORMAT_VERSION});"
            " upgrade tophits to restore it"
        )
    if manifest.kind not in KINDS:
        raise DataSafetyError(f"{path}: unknown archive kind {manifest.kind!r}")
    return manifest


def _check_member_name(path: Path, member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if member.name.startswith("/") or name.is_absolute() or ".." in name.parts:
        raise DataSafetyError(f"{path}: unsafe member path {member.name!r}; refusing the archive")
    if not member.isfile():
        kind = (
            "link"
            if member.issym() or member.islnk()
            else "device or special file"
            if not member.isdir()
            else "directory"
        )
        raise DataSafetyError(f"{path}: member {member.name!r} is a {kind}, not a regular file; refusing the archive")


def read_archive(path: Path) -> Verified:
    """Read and check every member of the archive against its manifest; raise DataSafetyError if anything is off."""
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:
                _check_member_name(path, member)
                if member.name in members:
                    raise DataSafetyError(f"{path}: member {member.name!r} appears twice; refusing the archive")
                handle = archive.extractfile(member)
                assert handle is not None
                members[member.name] = handle.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DataSafetyError(f"{path}: not a readable tophits archive ({error}); it may be truncated") from None
    if "manifest.json" not in members:
        raise DataSafetyError(f"{path}: no manifest.json; this is not a tophits archive")
    manifest = _parse_manifest(path, members.pop("manifest.json"))
    unknown = set(members) - manifest.names()
    if unknown:
        raise DataSafetyError(
            f"{path}: members not in the manifest: {', '.join(sorted(unknown))}; refusing the archive"
        )
    for entry in manifest.files:
        data = members.get(entry["name"])
        if data is None:
            raise DataSafetyError(f"{path}: {entry['name']} is listed in the manifest but missing")
        if len(data) != entry["size"] or sha256(data) != entry["sha256"]:
            raise DataSafetyError(f"{path}: checksum mismatch for {entry['name']}; the archive is corrupt")
    return Verified(path, manifest, members)


def check_state_db(path: Path, data: bytes) -> dict[str, int]:
    """Open a state DB copy in a temporary directory, run integrity_check, and return its row counts."""
    with tempfile.TemporaryDirectory(prefix="tophits-verify-") as directory:
        copy = Path(directory) / STATE_MEMBER
        copy.write_bytes(data)
        if not data.startswith(b"SQLite format 3\x00"):
            raise DataSafetyError(f"{path}: {STATE_MEMBER} inside is not an SQLite database")
        try:
            connection = sqlite3.connect(copy)
            try:
                findings = [row[0] for row in connection.execute("PRAGMA integrity_check")]
                if findings != ["ok"]:
                    raise DataSafetyError(f"{path}: {STATE_MEMBER} fails integrity_check: {findings[0]}")
                return row_counts(connection)
            finally:
                connection.close()
        except sqlite3.DatabaseError as error:
            raise DataSafetyError(f"{path}: {STATE_MEMBER} cannot be opened ({error})") from None


COUNTED_TABLES = ("observations", "chart_rows", "resolutions", "managed_playlists", "runs", "playlist_snapshots")


def row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Return the row count of each table that holds history."""
    counts = {}
    existing = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in COUNTED_TABLES:
        if table in existing:
            counts[table] = int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
    return counts


def verify_archive(path: Path) -> Verified:
    """Verify an archive end to end: members, checksums, manifest, and the state DB inside."""
    verified = read_archive(path)
    if STATE_MEMBER in verified.members:
        counts = check_state_db(path, verified.members[STATE_MEMBER])
        expected = verified.manifest.row_counts
        mismatched = [table for table, count in expected.items() if counts.get(table) != count]
        if mismatched:
            raise DataSafetyError(f"{path}: row counts differ from the manifest for {', '.join(mismatched)}")
    return verified
