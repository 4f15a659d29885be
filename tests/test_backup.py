"""Backup and restore: archives, verification, retention, refusals of unsafe input, and the full round trip."""

from __future__ import annotations

import datetime
import io
import json
import stat
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from conftest import (
    Simulation,
    TophitsRunner,
    at,
    chart_row_values,
    lock_held_by_another_process,
    no_sleep,
    write_config,
)
from hypothesis import given
from hypothesis import strategies as st

from spotify_tophits import archive
from spotify_tophits.actions.backup import run_backup
from spotify_tophits.actions.restore import run_restore
from spotify_tophits.cli import app
from spotify_tophits.errors import DataSafetyError, ExitCode, LockHeldError
from spotify_tophits.store import SCHEMA_VERSION, open_store

DAY = datetime.date(2026, 11, 10)
NOW = at(DAY, 12)
# After the backups the tests take directly (NOW and a few hours later).
runner = TophitsRunner(at(DAY, 18))


def snapshot_tree(*roots: Path) -> dict[str, bytes]:
    """Every file under the roots with its bytes, to prove that nothing on disk changed."""
    files = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                files[str(path)] = path.read_bytes()
    return files


@pytest.fixture
def history(simulation: Simulation, authorised) -> Simulation:  # type: ignore[no-untyped-def]
    simulation.run_days(DAY - datetime.timedelta(days=5), 6)
    return simulation


def test_full_backup_holds_state_config_and_playlists_and_is_private(history, authorised, emulator):
    result = run_backup(history.services, NOW)

    assert result.path.name == "tophits-full-20261110T120000Z.tar.gz"
    assert result.path.parent == authorised.paths.state_dir / "backups"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert result.playlists_from == "spotify"
    assert result.files == (
        "config/config.toml",
        "playlists/daily-daily.json",
        "playlists/monthly-2026-11.json",
        "playlists/weekly-weekly.json",
        "playlists/yearly-2026.json",
        "state.db",
    )
    verified = archive.verify_archive(result.path)
    manifest = verified.manifest
    assert (manifest.format, manifest.kind, manifest.schema_version, manifest.account_id) == (
        1,
        "full",
        SCHEMA_VERSION,
        "acct-5a4db0x",
    )
    assert manifest.row_counts["observations"] == 6
    assert not manifest.secrets
    daily = json.loads(verified.members["playlists/daily-daily.json"])
    record = open_store(authorised.paths.state_db).get_playlist("daily", "daily")
    assert daily["track_ids"] == emulator.playlists[record.spotify_id].items
    assert not [entry for entry in result.path.parent.iterdir() if entry.name.endswith(".partial")]


def test_backup_takes_playlists_as_spotify_has_them_or_offline_from_snapshots(history, authorised, emulator):
    record = open_store(authorised.paths.state_db).get_playlist("daily", "daily")
    emulator.edit_playlist(record.spotify_id, emulator.playlists[record.spotify_id].items[:3])

    online = archive.verify_archive(run_backup(history.services, NOW).path)
    offline = archive.verify_archive(
        run_backup(history.services, NOW + datetime.timedelta(seconds=1), offline=True).path
    )

    assert len(json.loads(online.members["playlists/daily-daily.json"])["track_ids"]) == 3
    assert json.loads(offline.members["playlists/daily-daily.json"])["track_ids"] == list(record.contents)


def test_secrets_only_with_include_secrets_and_the_cli_warns(history, authorised):
    (authorised.paths.env_file).write_text("SPOTIPY_CLIENT_ID=x\n")
    plain = runner.invoke(app, ["backup", "--kind", "state"])
    secret = runner.invoke(app, ["backup", "--kind", "config", "--include-secrets"])

    assert plain.exit_code == 0 and secret.exit_code == 0, plain.output + secret.output
    assert "warning: this archive holds your Spotify client secret" in secret.output
    archives = {item.kind: item.path for item in archive.list_archives(authorised.backup.directory)}
    assert archive.verify_archive(archives["state"]).manifest.names() == {"state.db"}
    assert archive.verify_archive(archives["config"]).manifest.names() == {
        "config/config.toml",
        "secrets/.env",
        "secrets/token.json",
    }


def test_backup_verify_and_list_from_the_cli(history, authorised):
    path = run_backup(history.services, NOW).path

    verified = runner.invoke(app, ["backup", "verify", str(path)])
    listed = runner.invoke(app, ["backup", "list"])

    assert verified.exit_code == 0
    assert "state.db: integrity ok" in verified.output
    assert listed.exit_code == 0
    assert f"{path.name}  full  " in listed.output and listed.output.rstrip().endswith("ok")


def test_the_round_trip_restores_history_and_update_reproduces_the_playlists(history, authorised, emulator):
    before = {p.name: list(p.items) for p in emulator.user_playlists()}
    runs_before = len(open_store(authorised.paths.state_db).recent_runs(100))
    path = run_backup(history.services, NOW).path
    saved = path.read_bytes()
    # A dead VPS: the state directory is gone, and so are the playlists.
    for item in authorised.paths.state_dir.iterdir():
        if item.is_file():
            item.unlink()
    for playlist in emulator.user_playlists():
        emulator.unfollow(playlist.id)
    path.write_bytes(saved)
    from spotify_tophits.actions.auth import authorise
    from spotify_tophits.actions.demo import follow_authorise_redirect

    authorise(authorised, follow_authorise_redirect, NOW, no_sleep)

    result = run_restore(history.services, path, confirm=lambda plan: True, now=NOW)
    assert result.plan.parts == ("state", "config")
    store = open_store(authorised.paths.state_db)
    assert len(store.recent_runs(100)) == runs_before
    store.close()

    emulator.reset_counts()
    update = history.run(DAY)

    assert update.exit_code == 0
    assert emulator.count("GET /search") == 0
    assert {o.status for o in update.playlists} == {"recreated"}
    assert {p.name: list(p.items) for p in emulator.user_playlists()} == before


def test_restore_only_playlists_pushes_archived_lists_back_within_the_budget(history, authorised, emulator):
    path = run_backup(history.services, NOW).path
    record = open_store(authorised.paths.state_db).get_playlist("yearly", "2026")
    archived = list(emulator.playlists[record.spotify_id].items)
    emulator.edit_playlist(record.spotify_id, [])
    emulator.unfollow(open_store(authorised.paths.state_db).get_playlist("daily", "daily").spotify_id)
    emulator.reset_counts()

    result = run_restore(history.services, path, confirm=lambda plan: True, only="playlists", now=NOW)

    assert emulator.playlists[record.spotify_id].items == archived
    assert len(result.playlists) == 4
    assert emulator.count("POST /me/playlists") == 1  # only the unfollowed daily is recreated
    new_daily = open_store(authorised.paths.state_db).get_playlist("daily", "daily")
    assert emulator.playlists[new_daily.spotify_id].followed


def test_restore_writes_a_safety_copy_first(history, authorised):
    path = run_backup(history.services, NOW).path

    result = run_restore(history.services, path, confirm=lambda plan: True, now=NOW + datetime.timedelta(hours=1))

    assert result.safety_copy is not None
    assert result.safety_copy.name == "tophits-full-20261110T130000Z-pre-restore.tar.gz"
    archive.verify_archive(result.safety_copy)


def test_restore_in_a_non_interactive_run_without_yes_refuses_and_changes_nothing(history, authorised):
    path = run_backup(history.services, NOW).path
    before = snapshot_tree(authorised.paths.state_dir, authorised.paths.config_dir)

    result = runner.invoke(app, ["restore", str(path)])
    dry = runner.invoke(app, ["restore", str(path), "--dry-run"])

    assert result.exit_code == 6
    assert "pass --yes" in result.output
    assert dry.exit_code == 0 and "dry run: nothing was changed" in dry.output
    assert "state: replaces the current state.db" in dry.output
    assert snapshot_tree(authorised.paths.state_dir, authorised.paths.config_dir) == before


def test_restore_while_an_update_holds_the_lock_exits_5(history, authorised):
    path = run_backup(history.services, NOW).path
    with lock_held_by_another_process(authorised.paths.lock_file), pytest.raises(LockHeldError) as raised:
        run_restore(history.services, path, confirm=lambda plan: True, now=NOW)
    assert raised.value.exit_code == ExitCode.TEMPORARY


def test_restore_refuses_an_archive_of_another_kind_than_asked(history, authorised):
    path = run_backup(history.services, NOW, kind="config").path
    with pytest.raises(DataSafetyError) as raised:
        run_restore(history.services, path, confirm=lambda plan: True, only="state", now=NOW)
    assert "is a config archive without state" in raised.value.message


# -- unsafe and corrupt archives ---------------------------------------------------------------------------
def craft(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_info(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def manifest_for(files: dict[str, bytes], **changes: object) -> bytes:
    manifest = archive.build_manifest(
        "full",
        [archive.Member(name, data) for name, data in files.items()],
        created_at=NOW,
        schema_version=SCHEMA_VERSION,
        account_id=None,
        row_counts={},
        secrets=False,
    )
    document = json.loads(archive.manifest_bytes(manifest))
    document.update(changes)
    return json.dumps(document).encode()


def bad_archives(tmp_path: Path, good: Path) -> dict[str, Path]:
    config = b"timezone = 'UTC'\n"
    files = {"config/config.toml": config}
    raw = good.read_bytes()
    flipped = bytearray(raw)
    flipped[len(flipped) // 2] ^= 0xFF
    cases = {
        "truncated": tmp_path / "truncated.tar.gz",
        "flipped byte": tmp_path / "flipped.tar.gz",
    }
    cases["truncated"].write_bytes(raw[: len(raw) // 2])
    cases["flipped byte"].write_bytes(bytes(flipped))
    cases["manifest missing"] = craft(tmp_path / "nomanifest.tar.gz", [file_info("config/config.toml", config)])
    cases["future format"] = craft(
        tmp_path / "future.tar.gz",
        [file_info("manifest.json", manifest_for(files, format=99)), file_info("config/config.toml", config)],
    )
    for label, name in (("dot-dot", "../evil.toml"), ("absolute", "/etc/evil.toml")):
        cases[label] = craft(
            tmp_path / f"{label}.tar.gz",
            [file_info("manifest.json", manifest_for({name: config})), file_info(name, config)],
        )
    symlink = tarfile.TarInfo("config/config.toml")
    symlink.type, symlink.linkname = tarfile.SYMTYPE, "/etc/passwd"
    cases["symlink"] = craft(
        tmp_path / "symlink.tar.gz", [file_info("manifest.json", manifest_for(files)), (symlink, None)]
    )
    hardlink = tarfile.TarInfo("config/config.toml")
    hardlink.type, hardlink.linkname = tarfile.LNKTYPE, "manifest.json"
    cases["hardlink"] = craft(
        tmp_path / "hardlink.tar.gz", [file_info("manifest.json", manifest_for(files)), (hardlink, None)]
    )
    device = tarfile.TarInfo("config/config.toml")
    device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
    cases["device"] = craft(
        tmp_path / "device.tar.gz", [file_info("manifest.json", manifest_for(files)), (device, None)]
    )
    cases["unknown member"] = craft(
        tmp_path / "unknown.tar.gz",
        [
            file_info("manifest.json", manifest_for(files)),
            file_info("config/config.toml", config),
            file_info("extra", b"x"),
        ],
    )
    not_sqlite = {"state.db": b"definitely not a database" * 10}
    cases["state not sqlite"] = craft(
        tmp_path / "notsqlite.tar.gz",
        [file_info("manifest.json", manifest_for(not_sqlite)), file_info("state.db", not_sqlite["state.db"])],
    )
    return cases


EXPECTED = {
    "truncated": "may be truncated",
    "flipped byte": "",
    "manifest missing": "no manifest.json",
    "future format": "archive format 99 is newer",
    "dot-dot": "unsafe member path '../evil.toml'",
    "absolute": "unsafe member path '/etc/evil.toml'",
    "symlink": "is a link, not a regular file",
    "hardlink": "is a link, not a regular file",
    "device": "is a device or special file",
    "unknown member": "members not in the manifest: extra",
    "state not sqlite": "state.db inside is not an SQLite database",
}


def test_every_unsafe_or_corrupt_archive_is_refused_with_exit_6_and_nothing_changes(history, authorised, tmp_path):
    good = run_backup(history.services, NOW, kind="config").path
    cases = bad_archives(tmp_path, good)
    before = snapshot_tree(authorised.paths.state_dir, authorised.paths.config_dir)

    for label, path in cases.items():
        result = runner.invoke(app, ["restore", str(path), "--yes"])
        assert result.exit_code == 6, (label, result.output)
        assert EXPECTED[label] in result.output, (label, result.output)
        assert runner.invoke(app, ["backup", "verify", str(path)]).exit_code == 6

    assert snapshot_tree(authorised.paths.state_dir, authorised.paths.config_dir) == before
    assert not (tmp_path.parent / "evil.toml").exists()


def test_restore_refuses_a_newer_state_schema(history, authorised, tmp_path):
    import sqlite3

    database = tmp_path / "future.db"
    connection = sqlite3.connect(database)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    connection.close()
    data = database.read_bytes()
    path = craft(
        tmp_path / "newer.tar.gz",
        [
            file_info("manifest.json", manifest_for({"state.db": data}, schema_version=SCHEMA_VERSION + 5)),
            file_info("state.db", data),
        ],
    )

    result = runner.invoke(app, ["restore", str(path), "--yes"])

    assert result.exit_code == 6
    assert "newer than this tophits" in result.output


FILL_DISK = """
import datetime, resource, signal, sys
from pathlib import Path
from spotify_tophits import archive
from spotify_tophits.errors import DataSafetyError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
member = archive.Member("state.db", bytes(range(256)) * 4000)
manifest = archive.build_manifest("state", [member], created_at=datetime.datetime(2026, 11, 10, tzinfo=datetime.UTC),
                                  schema_version=1, account_id=None, row_counts={}, secrets=False)
try:
    archive.write_archive(Path(sys.argv[1]) / "tophits-state-20261110T120000Z.tar.gz", manifest, [member])
except DataSafetyError as error:
    print(error.message)
    sys.exit(6)
"""


def test_a_full_disk_while_writing_leaves_no_partial_archive(tmp_path: Path):
    destination = tmp_path / "backups"
    result = subprocess.run(
        [sys.executable, "-c", FILL_DISK, str(destination)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 6, result.stderr
    assert "nothing was kept" in result.stdout
    assert list(destination.iterdir()) == []


def test_a_backup_taken_while_an_update_writes_is_consistent(history, authorised):
    store = open_store(authorised.paths.state_db)
    stop = threading.Event()

    def writer() -> None:
        writing = open_store(authorised.paths.state_db)
        day = DAY
        while not stop.is_set():
            day += datetime.timedelta(days=1)
            rows = chart_row_values(100)
            writing.save_observation("csv:x", "x", day, NOW, rows)
        writing.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        paths = [run_backup(history.services, NOW + datetime.timedelta(seconds=i), kind="state").path for i in range(5)]
    finally:
        stop.set()
        thread.join()
        store.close()
    for path in paths:
        verified = archive.verify_archive(path)  # integrity_check and manifest row counts agree
        counts = verified.manifest.row_counts
        assert counts["chart_rows"] == 100 * counts["observations"]


# -- pure parts ------------------------------------------------------------------------------------------
names = st.text(alphabet="abcdefghij/._-", min_size=1, max_size=20).filter(
    lambda n: not n.startswith("/") and ".." not in n
)


@given(
    st.dictionaries(
        names.filter(lambda n: n != "manifest.json" and not n.endswith("/")), st.binary(max_size=200), max_size=6
    )
)
def test_manifest_round_trip_describes_every_member(files):
    members = [archive.Member(name, data) for name, data in files.items()]
    manifest = archive.build_manifest(
        "config", members, created_at=NOW, schema_version=None, account_id=None, row_counts={}, secrets=False
    )
    assert manifest.names() == set(files)
    for entry in manifest.files:
        assert entry["size"] == len(files[entry["name"]])
        assert entry["sha256"] == archive.sha256(files[entry["name"]])


def test_written_archives_round_trip(tmp_path: Path):
    members = [archive.Member("config/config.toml", b"x = 1\n"), archive.Member("playlists/a.json", b"{}")]
    manifest = archive.build_manifest(
        "full", members, created_at=NOW, schema_version=None, account_id=None, row_counts={}, secrets=False
    )
    path = archive.write_archive(tmp_path / archive.archive_name("full", NOW), manifest, members)
    assert archive.read_archive(path).members == {member.name: member.data for member in members}


moments = st.datetimes(
    min_value=datetime.datetime(2026, 1, 1), max_value=datetime.datetime(2026, 12, 31), timezones=st.just(datetime.UTC)
)


@given(
    st.lists(moments, unique=True, max_size=40),
    st.integers(0, 5),
    st.integers(0, 5),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_prune_keeps_what_each_rule_asks_and_removes_the_rest(moments_list, last, daily, weekly, monthly):
    files = [archive.ArchiveFile(Path(f"/b/{i}"), "full", moment, "", 1) for i, moment in enumerate(moments_list)]
    keep, remove = archive.plan_prune(
        files, archive.Retention(last, daily, weekly, monthly), datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
    )

    assert sorted(f.path for f in keep + remove) == sorted(f.path for f in files)
    assert not {f.path for f in keep} & {f.path for f in remove}
    newest = sorted(files, key=lambda f: f.created_at, reverse=True)
    assert {f.path for f in newest[:last]} <= {f.path for f in keep}
    kept_days = {f.created_at.date() for f in keep}
    assert len({f.created_at.date() for f in newest} & kept_days) >= min(
        daily, len({f.created_at.date() for f in newest})
    )


def test_prune_keeps_safety_copies_for_30_days(tmp_path: Path):
    now = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
    young = archive.ArchiveFile(Path("y"), "full", now - datetime.timedelta(days=29), "pre-restore", 1)
    old = archive.ArchiveFile(Path("o"), "state", now - datetime.timedelta(days=31), "pre-migration", 1)
    keep, remove = archive.plan_prune([young, old], archive.Retention(0, 0, 0, 0), now)
    assert (keep, remove) == ([young], [old])


def test_backup_prune_from_the_cli_applies_the_configured_policy(history, authorised, environment):
    write_config(environment, "[backup]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n")
    for hours in range(3):
        run_backup(history.services, NOW + datetime.timedelta(hours=hours), kind="config")

    dry = runner.invoke(app, ["backup", "prune", "--dry-run"])
    real = runner.invoke(app, ["backup", "prune"])

    assert dry.output.count("would delete") == 2
    assert real.output.count("deleted") == 2
    assert [item.path.name for item in archive.list_archives(authorised.backup.directory)] == [
        "tophits-config-20261110T140000Z.tar.gz"
    ]
