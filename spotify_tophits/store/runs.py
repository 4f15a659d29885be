"""Run records (one per command run, with its summary and the snapshots it wrote) and the meta settings."""

from __future__ import annotations

import contextlib
import datetime
import enum
import json
from collections.abc import Iterator, Sequence
from typing import Any

from spotify_tophits.store.base import StoreBase, database_error, utc_text
from spotify_tophits.store.versions import WrittenVersion, insert_version


class RunResult(enum.StrEnum):
    """How a run ended. A refused run (a list that would shrink a playlist) still counts as a success."""

    RUNNING = "running"
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def succeeded(self) -> bool:
        """The one success rule: ok, or refused (the run worked; it declined to shrink a playlist)."""
        return self in (RunResult.OK, RunResult.REFUSED)


class RunQueries(StoreBase):
    """Meta settings (not_before, user_id, ...) and run records."""

    def get_meta(self, key: str) -> str | None:
        """Return a stored setting of the run (not_before, user_id, ...), or None."""
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str | None) -> None:
        """Store (or with None, delete) a setting of the run."""
        with self.transaction() as connection:
            if value is None:
                connection.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def start_run(self, command: str, now: datetime.datetime) -> int:
        """Record a run as started; runs left 'running' by a killed process are marked interrupted."""
        with self.transaction() as connection:
            connection.execute(
                "UPDATE runs SET result = ? WHERE result = ?", (RunResult.INTERRUPTED, RunResult.RUNNING)
            )
            cursor = connection.execute(
                "INSERT INTO runs (command, started_at, result) VALUES (?, ?, ?)",
                (command, utc_text(now), RunResult.RUNNING),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def finish_run(
        self,
        run_id: int,
        *,
        now: datetime.datetime,
        result: RunResult,
        exit_code: int,
        summary: dict[str, Any],
        versions: Sequence[WrittenVersion] = (),
    ) -> None:
        """Write the run record and the versions of the playlists it wrote, with their entries, in one transaction."""
        with self.transaction() as connection:
            connection.execute(
                "UPDATE runs SET finished_at = ?, result = ?, exit_code = ?, summary = ? WHERE id = ?",
                (utc_text(now), result, exit_code, json.dumps(summary, sort_keys=True), run_id),
            )
            for version in versions:
                insert_version(connection, run_id, version, now)

    @contextlib.contextmanager
    def failing_run_on_database_error(self, now: datetime.datetime) -> Iterator[None]:
        """Turn an SQLite or disk error in the block into exit 5 or 6 with its fix, first closing a run left
        'running' as failed when the DB still allows it (so status never shows a run that is not running)."""
        try:
            yield
        except Exception as error:
            converted = database_error(error, self.path)
            if converted is None:
                raise
            with contextlib.suppress(Exception):
                self.connection.execute(
                    "UPDATE runs SET finished_at = ?, result = ?, exit_code = ?, summary = ? WHERE result = ?",
                    (
                        utc_text(now),
                        RunResult.FAILED,
                        int(converted.exit_code),
                        json.dumps({"error": converted.message}),
                        RunResult.RUNNING,
                    ),
                )
            raise converted from None

    def recent_runs(self, limit: int = 10, since: datetime.datetime | None = None) -> list[dict[str, Any]]:
        """Return runs newest first: the last `limit`, or all started since `since`."""
        columns = "id, command, started_at, finished_at, result, exit_code, summary"
        if since is not None:
            rows = self.connection.execute(
                # Named, since the planner would rather walk every run by id to save sorting a week's.
                f"SELECT {columns} FROM runs INDEXED BY runs_by_start WHERE started_at >= ? ORDER BY id DESC",  # noqa: S608
                (utc_text(since),),
            ).fetchall()
        else:
            rows = self.connection.execute(
                f"SELECT {columns} FROM runs ORDER BY id DESC LIMIT ?",  # noqa: S608
                (limit,),
            ).fetchall()
        return [
            dict(row) | {"result": RunResult(row["result"]), "summary": json.loads(row["summary"] or "{}")}
            for row in rows
        ]
