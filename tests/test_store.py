"""The state DB and the run lock."""

from __future__ import annotations

import datetime
import os
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import lock_held_by_another_process

from spotify_tophits.errors import ConfigError, DataSafetyError, ExitCode, LockHeldError
from spotify_tophits.lock import run_lock
from spotify_tophits.store import MIGRATIONS, SCHEMA_VERSION, ManagedPlaylist, open_store

NOW = datetime.datetime(2026, 11, 28, 6, tzinfo=datetime.UTC)


def test_open_store_migrates_a_blank_file_to_the_latest_schema_in_wal_mode(tmp_path: Path):
    store = open_store(tmp_path / "state" / "state.db")

    assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    names = [row[0] for row in store.connection.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.integrity_check() == ["ok"]
    assert oct((tmp_path / "state" / "state.db").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "state").stat().st_mode & 0o777) == "0o700"
    store.close()


def test_open_store_refuses_a_file_that_is_not_sqlite_and_leaves_it_untouched(tmp_path: Path):
    path = tmp_path / "state.db"
    path.write_bytes(b"this is a shopping list, not a database\n")

    with pytest.raises(DataSafetyError) as raised:
        open_store(path)

    assert raised.value.exit_code == ExitCode.DATA_SAFETY
    assert "is not an SQLite database" in raised.value.message
    assert path.read_bytes() == b"this is a shopping list, not a database\n"


def test_open_store_refuses_a_newer_schema_and_leaves_the_file_byte_identical(tmp_path: Path):
    path = tmp_path / "state.db"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    before = path.read_bytes()

    with pytest.raises(DataSafetyError) as raised:
        open_store(path)

    assert "newer than this tophits knows" in raised.value.message
    assert "upgrade tophits" in raised.value.message
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_open_store_in_an_unusable_directory_is_a_config_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(ConfigError) as raised:
        open_store(blocker / "state.db")

    assert "TOPHITS_STATE_DIR" in raised.value.message


def test_playlists_round_trip_with_contents(tmp_path: Path):
    store = open_store(tmp_path / "state.db")
    playlist = ManagedPlaylist(
        "monthly", "2026-11", "id", "snap", "name", "desc", ("a", "b"), "active", "t", None, None
    )

    store.save_playlist(playlist)

    assert store.get_playlist("monthly", "2026-11") == playlist
    assert store.managed_playlists("daily") == []
    store.close()


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted(tmp_path: Path):
    store = open_store(tmp_path / "state.db")
    first = store.start_run("update", NOW)

    store.start_run("update", NOW)

    runs = {run["id"]: run["result"] for run in store.recent_runs()}
    assert runs[first] == "interrupted"
    store.close()


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path):
    store = open_store(tmp_path / "state.db")
    with pytest.raises(RuntimeError), store.transaction() as connection:
        connection.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')")
        raise RuntimeError("boom")
    assert store.get_meta("a") is None
    store.close()


def test_run_lock_held_by_another_process_fails_at_once_naming_its_pid(tmp_path: Path):
    path = tmp_path / "update.lock"
    with lock_held_by_another_process(path) as pid:
        started = time.monotonic()
        with pytest.raises(LockHeldError) as raised, run_lock(path):
            pass
        assert time.monotonic() - started < 1
        assert f"pid {pid}" in raised.value.message
        assert raised.value.exit_code == ExitCode.TEMPORARY
    # The kernel dropped the lock with the killed process: it can be taken again at once.
    with run_lock(path):
        assert path.read_text().strip() == str(os.getpid())
