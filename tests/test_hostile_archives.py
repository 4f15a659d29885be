"""Hostile and broken archives (issue 13, items 1-6): refused with exit 6 naming the archive, in bounded memory,
and a restore that can always be undone."""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import CHART_DAY, Simulation, TophitsRunner, at

from spotify_tophits import archive
from spotify_tophits.actions.backup import run_backup
from spotify_tophits.cli import app
from spotify_tophits.store import SCHEMA_VERSION

TOPHITS = str(Path(sys.executable).parent / "tophits")
NOW = at(CHART_DAY, 12)
runner = TophitsRunner(NOW)
MEMORY_LIMIT = 150 * 1024 * 1024
SQLITE_HEADER = b"SQLite format 3\x00"


class Zeros(io.RawIOBase):
    """`size` zero bytes (after an optional head), produced on demand so the test never holds them."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.left, self.head = size, head

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        taken = min(count, len(self.head))
        buffer[:taken], self.head = self.head[:taken], self.head[taken:]
        self.left -= count
        return count


def zeros_sha256(size: int, head: bytes = b"") -> str:
    digest, stream = hashlib.sha256(), Zeros(size, head)
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def manifest(entries: list[dict[str, object]], /, **changes: object) -> bytes:
    document: dict[str, object] = {
        "format": 1,
        "tophits_version": "0.1.0",
        "schema_version": SCHEMA_VERSION,
        "kind": "state",
        "created_at": NOW.isoformat(),
        "account_id": None,
        "files": entries,
        "row_counts": {},
        "secrets": False,
    }
    return json.dumps(document | changes).encode()


def craft(path: Path, members: list[tuple[str, int, io.RawIOBase | bytes]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, size, data in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(data) if isinstance(data, bytes) else io.BufferedReader(data))
    return path


def bomb(path: Path, size: int, head: bytes = b"") -> Path:
    """A state archive whose state.db is `size` bytes of zeros, honestly declared in its manifest."""
    entry = {"name": "state.db", "size": size, "sha256": zeros_sha256(size, head)}
    text = manifest([entry])
    return craft(path, [("manifest.json", len(text), text), ("state.db", size, Zeros(size, head))])


def limited(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `tophits` as a real process whose address space is capped at 150 MiB."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [TOPHITS, *arguments], capture_output=True, text=True, timeout=120, preexec_fn=cap, env=dict(os.environ)
    )


# -- item 1: decompression bombs ---------------------------------------------------------------------------
def test_a_512_mib_zero_bomb_is_refused_with_exit_6_by_verify_restore_list_and_doctor_under_a_150_mib_limit(
    isolated_environment, tmp_path: Path
):
    backups = Path(isolated_environment["TOPHITS_STATE_DIR"]) / "backups"
    path = bomb(backups / "tophits-state-20261110T120000Z.tar.gz", 512 * 1024 * 1024)
    assert path.stat().st_size < 4 * 1024 * 1024

    verify = limited("backup", "verify", str(path))
    restore = limited("restore", str(path), "--yes")
    listing = limited("backup", "list")
    doctor = limited("doctor", "--offline")

    for result in (verify, restore):
        assert result.returncode == 6, result.stderr
        assert f"{path}: state.db inside is not an SQLite database" in result.stderr
    assert listing.returncode == 0, listing.stderr
    assert "state.db inside is not an SQLite database" in listing.stdout
    # doctor's own contract: exit 1 when a check fails, with the reason in its report.
    assert doctor.returncode == 1, doctor.stderr
    assert "the newest backup does not verify" in doctor.stdout and "not an SQLite database" in doctor.stdout
    for result in (verify, restore, listing, doctor):
        assert "Traceback" not in result.stdout + result.stderr and "MemoryError" not in result.stderr


@pytest.mark.slow
def test_a_bomb_that_starts_like_sqlite_is_streamed_to_disk_and_refused_under_a_150_mib_limit(
    isolated_environment, tmp_path: Path
):
    path = bomb(tmp_path / "bomb.tar.gz", 512 * 1024 * 1024, SQLITE_HEADER)

    verify = limited("backup", "verify", str(path))

    assert verify.returncode == 6, verify.stderr
    assert f"{path}: state.db cannot be opened" in verify.stderr


def test_a_state_db_declared_over_the_configured_cap_is_refused_before_it_is_read(environment, tmp_path: Path):
    config = Path(environment["TOPHITS_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[backup]\nmax_state_db_mib = 64\n")
    path = bomb(tmp_path / "big.tar.gz", 65 * 1024 * 1024, SQLITE_HEADER)

    result = runner.invoke(app, ["backup", "verify", str(path)])

    assert result.exit_code == 6
    assert f"{path}: member 'state.db' declares 68157440 bytes, over the 64 MiB cap" in result.output
    assert "max_state_db_mib" in result.output


def test_a_member_larger_than_its_manifest_entry_is_refused_before_it_is_read(isolated_environment, tmp_path: Path):
    entry = {"name": "state.db", "size": 10, "sha256": "0" * 64}
    path = (
        craft(
            tmp_path / "liar.tar.gz",
            [("manifest.json", len(manifest([entry])), manifest([entry])), ("state.db", 1 << 30, Zeros(1 << 30))],
        )
        if False
        else None
    )
    # Building a 1 GiB member just to lie about it costs seconds; 4 MiB shows the same check.
    # Building a 1 GiB member just to lie about it costs seconds; 4 MiB shows the same check.
    path = craft(
        tmp_path / "liar.tar.gz",
        [("manifest.json", len(manifest([entry])), manifest([entry])), ("state.db", 4 << 20, Zeros(4 << 20))],
    )

    result = runner.invoke(app, ["backup", "verify", str(path)])

    assert result.exit_code == 6
    assert f"{path}: checksum mismatch for state.db" in result.output


def test_a_config_member_over_1_mib_is_refused(isolated_environment, tmp_path: Path):
    big = b"#" * (1024 * 1024 + 1)
    entry = {"name": "config/config.toml", "size": len(big), "sha256": hashlib.sha256(big).hexdigest()}
    text = manifest([entry], kind="config", schema_version=None)
    path = craft(
        tmp_path / "config.tar.gz", [("manifest.json", len(text), text), ("config/config.toml", len(big), big)]
    )

    result = runner.invoke(app, ["backup", "verify", str(path)])

    assert result.exit_code == 6
    assert "member 'config/config.toml' declares 1048577 bytes, over the 1 MiB cap" in result.output


# -- item 2: malformed manifests ------------------------------------------------------------------------------
CONFIG = b"timezone = 'UTC'\n"
GOOD_ENTRY = {"name": "config/config.toml", "size": len(CONFIG), "sha256": hashlib.sha256(CONFIG).hexdigest()}
MALFORMED = {
    "entry without size": ({"files": [{"name": "config/config.toml", "sha256": GOOD_ENTRY["sha256"]}]}, "a file entry"),
    "schema version as a string": ({"schema_version": "99"}, "schema_version '99', not a whole number"),
    "files not a list": ({"files": "config/config.toml"}, "has no list of files"),
    "format as a string": ({"format": "1"}, "no whole-number 'format'"),
    "row counts not numbers": ({"row_counts": {"runs": "many"}}, "row_counts that are not whole numbers"),
    "a list, not an object": (None, "is not a JSON object"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_manifest_exits_6_and_backup_list_and_doctor_report_it_and_go_on(case, environment, tmp_path: Path):
    changes, message = MALFORMED[case]
    text = (
        b"[]" if changes is None else manifest([GOOD_ENTRY], **({"kind": "config", "schema_version": None} | changes))
    )
    backups = Path(environment["TOPHITS_STATE_DIR"]) / "backups"
    path = craft(
        backups / "tophits-config-20261110T120000Z.tar.gz",
        [("manifest.json", len(text), text), ("config/config.toml", len(CONFIG), CONFIG)],
    )
    good = manifest([GOOD_ENTRY], kind="config", schema_version=None)
    craft(
        backups / "tophits-config-20261109T120000Z.tar.gz",
        [("manifest.json", len(good), good), ("config/config.toml", len(CONFIG), CONFIG)],
    )

    verify = runner.invoke(app, ["backup", "verify", str(path)])
    listing = runner.invoke(app, ["backup", "list"])
    doctor = runner.invoke(app, ["doctor", "--offline"])

    assert verify.exit_code == 6
    assert f"{path}: manifest.json " in verify.output and message in verify.output
    assert listing.exit_code == 0
    assert message in listing.output and "tophits-config-20261109T120000Z.tar.gz" in listing.output
    assert doctor.exit_code == 1 and "the newest backup does not verify" in doctor.output
    assert "internal error" not in verify.output + listing.output + doctor.output


# -- item 3: members the kind does not allow --------------------------------------------------------------------
def test_an_archive_without_secrets_carrying_a_dot_env_is_refused_and_dot_env_is_kept(
    simulation: Simulation, authorised, tmp_path: Path
):
    simulation.run(CHART_DAY)
    env_before = authorised.paths.env_file.read_bytes() if authorised.paths.env_file.exists() else None
    evil = b"SPOTIPY_CLIENT_ID=attacker\n"
    entries = [GOOD_ENTRY, {"name": "secrets/.env", "size": len(evil), "sha256": hashlib.sha256(evil).hexdigest()}]
    text = manifest(entries, kind="config", schema_version=None)
    path = craft(
        tmp_path / "evil.tar.gz",
        [
            ("manifest.json", len(text), text),
            ("config/config.toml", len(CONFIG), CONFIG),
            ("secrets/.env", len(evil), evil),
        ],
    )

    result = runner.invoke(app, ["restore", str(path), "--yes"])

    assert result.exit_code == 6
    assert f"{path}: member 'secrets/.env' is not allowed in a config archive without secrets" in result.output
    assert (authorised.paths.env_file.read_bytes() if authorised.paths.env_file.exists() else None) == env_before


def test_an_unknown_member_even_if_listed_in_the_manifest_is_refused(isolated_environment, tmp_path: Path):
    notes = b"hello"
    entries = [GOOD_ENTRY, {"name": "extra/notes.txt", "size": 5, "sha256": hashlib.sha256(notes).hexdigest()}]
    text = manifest(entries, kind="config", schema_version=None)
    path = craft(
        tmp_path / "extra.tar.gz",
        [
            ("manifest.json", len(text), text),
            ("config/config.toml", len(CONFIG), CONFIG),
            ("extra/notes.txt", 5, notes),
        ],
    )

    result = runner.invoke(app, ["restore", str(path), "--yes"])

    assert result.exit_code == 6
    assert "member 'extra/notes.txt' is not allowed in a config archive" in result.output


# -- item 4: the safety copy keeps what the restore replaces -------------------------------------------------
def test_restore_keeps_the_replaced_token_and_env_in_a_private_safety_copy_named_in_the_output(
    simulation: Simulation, authorised, environment, tmp_path: Path
):
    simulation.run(CHART_DAY)
    env_file, token_file = authorised.paths.env_file, authorised.paths.token_file
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text("SPOTIPY_CLIENT_ID=before\n")
    old_token = token_file.read_bytes()
    with_secrets = run_backup(simulation.services, NOW, kind="full", include_secrets=True).path
    env_file.write_text("SPOTIPY_CLIENT_ID=current\n")
    token_file.write_bytes(b'{"current": true}')

    result = runner.invoke(app, ["restore", str(with_secrets), "--yes"], now=at(CHART_DAY, 13))

    assert result.exit_code == 0, result.output
    assert env_file.read_text() == "SPOTIPY_CLIENT_ID=before\n" and token_file.read_bytes() == old_token
    line = next(line for line in result.output.splitlines() if line.startswith("safety copy"))
    assert "(with .env and token.json, mode 0600)" in line
    safety = Path(line.rsplit(": ", 1)[1])
    assert stat.S_IMODE(safety.stat().st_mode) == 0o600
    held = archive.read_archive(safety)
    assert held.members["secrets/.env"] == b"SPOTIPY_CLIENT_ID=current\n"
    assert held.members["secrets/token.json"] == b'{"current": true}'


# -- item 5: leftovers and collisions -----------------------------------------------------------------------------
def test_a_killed_backups_partial_file_is_reported_by_doctor_and_removed_by_the_next_backup(
    simulation: Simulation, authorised
):
    simulation.run(CHART_DAY)
    backups = authorised.backup.directory
    backups.mkdir(parents=True, exist_ok=True)
    leftover = backups / ".tophits-abc123.partial"
    leftover.write_bytes(b"half an archive")

    doctor = runner.invoke(app, ["doctor", "--offline"])
    backup = runner.invoke(app, ["backup", "--offline"])

    assert "1 partial archive(s) left by an interrupted backup (.tophits-abc123.partial)" in doctor.output
    assert "the next `tophits backup` removes them" in doctor.output
    assert backup.exit_code == 0, backup.output
    assert not leftover.exists()


def test_two_backups_in_the_same_second_get_different_names_and_both_verify(simulation: Simulation, authorised):
    simulation.run(CHART_DAY)

    first = run_backup(simulation.services, NOW, kind="state").path
    second = run_backup(simulation.services, NOW, kind="state").path

    assert first.name == "tophits-state-20261110T120000Z.tar.gz"
    assert second.name == "tophits-state-20261110T120000Z.1.tar.gz"
    listed = runner.invoke(app, ["backup", "list"])
    assert listed.exit_code == 0
    assert listed.output.index(second.name) < listed.output.index(first.name)
    assert "FAILED" not in listed.output and "invalid" not in listed.output.lower()


# -- item 6: restore over a corrupt current state DB ---------------------------------------------------------------
def test_restore_over_a_corrupt_current_state_db_says_the_current_db_is_unreadable_and_how_to_move_it(
    simulation: Simulation, authorised
):
    simulation.run(CHART_DAY)
    good = run_backup(simulation.services, NOW, kind="state").path
    state_db = authorised.paths.state_db
    with sqlite3.connect(state_db) as database:
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(state_db.read_bytes())
    data[4096 * 2 : 4096 * 3] = b"\xff" * 4096  # one page of garbage
    state_db.write_bytes(bytes(data))

    result = runner.invoke(app, ["restore", str(good), "--yes"])

    assert result.exit_code == 6
    assert f"the current state DB {state_db} is unreadable" in result.output
    assert f"move it aside (mv {state_db} {state_db}.broken) and run the restore again" in result.output
    assert state_db.read_bytes() == bytes(data)


# -- item 8: the WAL and shared-memory files are private ------------------------------------------------------------
def test_a_new_state_db_and_its_wal_and_shm_files_are_created_0600_whatever_the_umask(tmp_path: Path):
    from spotify_tophits.store import open_store

    path = tmp_path / "state" / "state.db"
    old = os.umask(0o022)
    try:
        store = open_store(path)
        store.set_meta("probe", "1")
        modes = {name: stat.S_IMODE(Path(f"{path}{name}").stat().st_mode) for name in ("", "-wal", "-shm")}
        store.close()
    finally:
        os.umask(old)

    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
