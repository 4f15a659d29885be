"""The archive format: one `tar.gz` with a `manifest.json` listing every member's size and sha256.

Writing is atomic (a locked temporary name, fsync, a link to a name no other archive has, mode
0600) and every archive is verified by reading it back. Reading never extracts with tarfile's own
extractor: the manifest comes first and is type-checked, every member it lists must be one its kind
allows within its cap (`members`), each member must be a regular file named in the manifest, with no
absolute path, no `..`, no link and no device, and its bytes, streamed in chunks, must match the
manifest's size and checksum. `verify` then checks the state DB inside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

from spotify_tophits import __version__
from spotify_tophits.archive.members import (
    DEFAULT_STATE_DB_BYTES,
    MANIFEST,
    MAX_MEMBERS,
    SMALL_FILE_BYTES,
    check_declared,
)
from spotify_tophits.archive.members import STATE_MEMBER as STATE_MEMBER
from spotify_tophits.config.paths import PROFILE_PATTERN
from spotify_tophits.errors import DataSafetyError

FORMAT_VERSION = 1
KINDS = ("full", "state", "config")
CHUNK = 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
    # The profile the archive was taken from; None for the default installation (and older archives).
    profile: str | None = None

    def names(self) -> set[str]:
        return {str(entry["name"]) for entry in self.files}


@dataclasses.dataclass(frozen=True)
class Verified:
    """A verified archive: its manifest, its small members' bytes, and its state DB (if any) as a temporary
    file, read once. The temporary directory goes when the object does (or at `close`)."""

    path: Path
    manifest: Manifest
    members: Mapping[str, bytes]
    state_file: Path | None = None
    workspace: tempfile.TemporaryDirectory[str] | None = dataclasses.field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Remove the temporary copy of the state DB now."""
        if self.workspace is not None:
            self.workspace.cleanup()


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
    profile: str | None = None,
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
        profile=profile,
    )


def write_archive(path: Path, manifest: Manifest, members: Iterable[Member]) -> Path:
    """Write the archive atomically at path (mode 0600), read it back, and return path.

    The caller has already checked the members (the state DB's integrity and row counts), so the
    read-back checks that every written byte matches the manifest's checksums rather than running
    the integrity check a second time. Any failure, a full disk included, leaves no partial file
    behind and raises DataSafetyError.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial_files(path.parent, remove=True)
        descriptor, temporary_name = tempfile.mkstemp(prefix=".tophits-", suffix=".partial", dir=path.parent)
    except OSError as error:
        raise DataSafetyError(
            f"cannot write backups to {path.parent} ({error.strerror or error}); nothing was kept"
        ) from None
    temporary = Path(temporary_name)
    try:
        os.fchmod(descriptor, 0o600)
        # Held while writing: the next backup removes only partial files nobody holds (a killed backup's).
        fcntl.flock(descriptor, fcntl.LOCK_EX)
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
        read_archive(temporary).close()
        path = _link_unique(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise DataSafetyError(f"could not write backup {path} ({error.strerror or error}); nothing was kept") from None
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return path


def _link_unique(temporary: Path, path: Path) -> Path:
    """Give the written archive its name without replacing another archive: `name.N.tar.gz` when taken."""
    stem = path.name.removesuffix(".tar.gz")
    for number in range(1000):
        candidate = path if number == 0 else path.with_name(f"{stem}.{number}.tar.gz")
        try:
            os.link(temporary, candidate)
        except FileExistsError:
            continue
        temporary.unlink()
        return candidate
    raise DataSafetyError(f"{path}: a thousand archives of that second exist already; nothing was kept")


def partial_files(directory: Path, *, remove: bool = False) -> list[Path]:
    """Return the `.tophits-*.partial` files in directory that no running backup holds (a killed backup's);
    with `remove`, delete them too."""
    stale = []
    for partial in sorted(directory.glob(".tophits-*.partial")) if directory.is_dir() else []:
        with contextlib.suppress(OSError):
            descriptor = os.open(partial, os.O_RDONLY)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if remove:
                    partial.unlink()
                stale.append(partial)
            finally:
                os.close(descriptor)
    return stale


def manifest_bytes(manifest: Manifest) -> bytes:
    return json.dumps(dataclasses.asdict(manifest), indent=2, sort_keys=True).encode("utf-8")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_manifest(path: Path, data: bytes) -> Manifest:
    """Parse and type-check a manifest; anything malformed is the archive's fault (DataSafetyError)."""

    def bad(what: str) -> DataSafetyError:
        return DataSafetyError(f"{path}: manifest.json {what}; the archive is unusable")

    try:
        raw = json.loads(data)
    except (ValueError, RecursionError):
        raise bad("is not JSON") from None
    if not isinstance(raw, dict):
        raise bad("is not a JSON object")
    if not _whole(raw.get("format")):
        raise bad("has no whole-number 'format'")
    for key in ("tophits_version", "kind", "created_at"):
        if not isinstance(raw.get(key), str):
            raise bad(f"has no string {key!r}")
    schema_version, account_id = raw.get("schema_version"), raw.get("account_id")
    if schema_version is not None and not _whole(schema_version):
        raise bad(f"has schema_version {str(schema_version)[:40]!r}, not a whole number")
    if account_id is not None and not isinstance(account_id, str):
        raise bad("has an account_id that is not a string")
    files, row_counts, secrets = raw.get("files"), raw.get("row_counts") or {}, raw.get("secrets", False)
    if not isinstance(files, list) or len(files) > MAX_MEMBERS:
        raise bad(f"has no list of files (at most {MAX_MEMBERS})")
    for entry in files:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and _whole(entry.get("size"))
            and entry["size"] >= 0
            and isinstance(entry.get("sha256"), str)
            and SHA256.match(entry["sha256"])
        ):
            raise bad(f"has a file entry without a name, size and sha256: {str(entry)[:80]}")
    if not isinstance(row_counts, dict) or not all(_whole(count) for count in row_counts.values()):
        raise bad("has row_counts that are not whole numbers")
    if not isinstance(secrets, bool):
        raise bad("has secrets that is not true or false")
    profile = raw.get("profile")
    if profile is not None and not (isinstance(profile, str) and PROFILE_PATTERN.fullmatch(profile)):
        raise bad(f"has profile {str(profile)[:40]!r}, not a profile name")
    manifest = Manifest(
        format=raw["format"],
        tophits_version=raw["tophits_version"],
        schema_version=schema_version,
        kind=raw["kind"],
        created_at=raw["created_at"],
        account_id=account_id,
        files=tuple(dict(entry) for entry in files),
        row_counts={str(table): count for table, count in row_counts.items()},
        secrets=secrets,
        profile=profile,
    )
    if manifest.format > FORMAT_VERSION:
        raise DataSafetyError(
            f"{path}: archive format {manifest.format} is newer than this tophits reads ({FORMAT_VERSION});"
            " upgrade tophits to restore it"
        )
    if manifest.kind not in KINDS:
        raise DataSafetyError(f"{path}: unknown archive kind {manifest.kind[:40]!r}")
    if len(manifest.names()) != len(manifest.files):
        raise bad("lists a file twice")
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


def _copy_member(
    path: Path, name: str, source: IO[bytes], target: IO[bytes], declared: int, expected_sha256: str
) -> None:
    """Copy one member in chunks, hashing as it goes; never more than its declared size."""
    digest = hashlib.sha256()
    copied = 0
    while chunk := source.read(min(CHUNK, declared - copied + 1)):
        if copied == 0 and name == STATE_MEMBER and not chunk.startswith(b"SQLite format 3\x00"):
            raise DataSafetyError(f"{path}: {STATE_MEMBER} inside is not an SQLite database")
        copied += len(chunk)
        if copied > declared:
            break
        digest.update(chunk)
        target.write(chunk)
    if copied != declared or digest.hexdigest() != expected_sha256:
        raise DataSafetyError(f"{path}: checksum mismatch for {name}; the archive is corrupt")


def read_archive(path: Path, *, max_state_bytes: int = DEFAULT_STATE_DB_BYTES, workdir: Path | None = None) -> Verified:
    """Read and check every member of the archive against its manifest; raise DataSafetyError if anything is off.

    The manifest comes first and is checked before any other member is read: every member must be one its
    kind allows, within its cap. Members are streamed and hashed in chunks; the state DB goes to a temporary
    file (in `workdir`, else the system's), the rest (small by their caps) into memory.
    """
    members: dict[str, bytes] = {}
    manifest: Manifest | None = None
    workspace: tempfile.TemporaryDirectory[str] | None = None
    state_file: Path | None = None
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:
                _check_member_name(path, member)
                handle = archive.extractfile(member)
                assert handle is not None
                if manifest is None:
                    if member.name != MANIFEST:
                        raise DataSafetyError(f"{path}: no manifest.json at the start; this is not a tophits archive")
                    if member.size > SMALL_FILE_BYTES:
                        raise DataSafetyError(f"{path}: manifest.json is over 1 MiB; refusing the archive")
                    manifest = _parse_manifest(path, handle.read(SMALL_FILE_BYTES))
                    for declared in manifest.files:
                        check_declared(
                            path, declared["name"], declared["size"], manifest.kind, manifest.secrets, max_state_bytes
                        )
                    entries = {str(declared["name"]): declared for declared in manifest.files}
                    continue
                entry = entries.get(member.name)
                if entry is None:
                    raise DataSafetyError(f"{path}: members not in the manifest: {member.name}; refusing the archive")
                if member.name in members or (member.name == STATE_MEMBER and state_file is not None):
                    raise DataSafetyError(f"{path}: member {member.name!r} appears twice; refusing the archive")
                if member.size != entry["size"]:
                    raise DataSafetyError(f"{path}: checksum mismatch for {member.name}; the archive is corrupt")
                if member.name == STATE_MEMBER:
                    workspace = tempfile.TemporaryDirectory(prefix="tophits-archive-", dir=workdir)
                    state_file = Path(workspace.name) / STATE_MEMBER
                    with state_file.open("wb") as target:
                        _copy_member(path, member.name, handle, target, entry["size"], entry["sha256"])
                else:
                    buffer = io.BytesIO()
                    _copy_member(path, member.name, handle, buffer, entry["size"], entry["sha256"])
                    members[member.name] = buffer.getvalue()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        if workspace is not None:
            workspace.cleanup()
        raise DataSafetyError(f"{path}: not a readable tophits archive ({error}); it may be truncated") from None
    except BaseException:
        if workspace is not None:
            workspace.cleanup()
        raise
    if manifest is None:
        raise DataSafetyError(f"{path}: no manifest.json; this is not a tophits archive")
    missing = manifest.names() - set(members) - ({STATE_MEMBER} if state_file else set())
    if missing:
        if workspace is not None:
            workspace.cleanup()
        raise DataSafetyError(f"{path}: {sorted(missing)[0]} is listed in the manifest but missing")
    return Verified(path, manifest, members, state_file, workspace)
