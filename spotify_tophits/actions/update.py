"""`tophits update`: charts → observations → resolved tracks → ranked targets → playlists on Spotify.

The story of DESIGN §2: take the lock; stop at once if Spotify told us to wait; fetch each
source (a broken one is skipped, never allowed to empty anything); store and resolve the new
charts; rank each playlist's window; reconcile each with Spotify; record the run.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

from spotify_tophits import ranking
from spotify_tophits.actions.entries import written_version
from spotify_tophits.actions.export import export_changed
from spotify_tophits.budget import SearchBudget, rekey_for_policy
from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.config import PlaylistSettings, Settings
from spotify_tophits.errors import (
    AuthError,
    DataSafetyError,
    ExitCode,
    SourceError,
    TophitsError,
    UsageError,
)
from spotify_tophits.lock import run_lock
from spotify_tophits.matching import ExplicitPolicy, MatchToCheck, match_to_check
from spotify_tophits.overrides import apply_overrides, load_overrides
from spotify_tophits.playlists import Outcome, PlaylistOutcome, PlaylistSync
from spotify_tophits.ranking import RankedRow
from spotify_tophits.retry import honour_not_before
from spotify_tophits.services import Services
from spotify_tophits.sources.base import capped
from spotify_tophits.sources.registry import build_sources
from spotify_tophits.spotify import ReadOnlyGateway, SpotifyGateway, Track
from spotify_tophits.store import PlaylistState, RunResult, Store, WrittenVersion

logger = logging.getLogger(__name__)


class SourceStatus(enum.StrEnum):
    """How a source did this run: its chart fetched, already stored today (cached), or failed."""

    FETCHED = "fetched"
    CACHED = "cached"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class SourceReport:
    """How one source did this run."""

    name: str
    status: SourceStatus
    rows: int = 0
    matched: int = 0
    message: str = ""


@dataclasses.dataclass
class UpdateResult:
    """The whole run, for rendering and for the run record."""

    run_id: int | None
    today: datetime.date
    sources: list[SourceReport] = dataclasses.field(default_factory=list)
    playlists: list[PlaylistOutcome] = dataclasses.field(default_factory=list)
    unmatched: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    low_confidence: list[MatchToCheck] = dataclasses.field(default_factory=list)
    # Rows left out under `[matching] explicit = "clean-only"`: Spotify has them, but only explicit.
    no_clean_twin: int = 0
    overrides: list[str] = dataclasses.field(default_factory=list)
    rows_new: int = 0
    rows_matched: int = 0
    searches: int = 0
    deferred: int = 0
    requests: dict[str, Any] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    dry_run: bool = False

    @property
    def refused(self) -> bool:
        """Whether a playlist was refused a list that would shrink it below half (exit 6)."""
        return any(outcome.status == Outcome.REFUSED for outcome in self.playlists)

    @property
    def exit_code(self) -> int:
        """The run's exit code: data safety when a playlist was refused, else success."""
        return int(DataSafetyError.exit_code) if self.refused else int(ExitCode.OK)

    @property
    def match_rate(self) -> float | None:
        return None if not self.rows_new else round(self.rows_matched / self.rows_new, 4)

    def summary(self) -> dict[str, Any]:
        """Return the JSON-ready record of this run."""
        return {
            "today": self.today.isoformat(),
            "sources": [dataclasses.asdict(report) for report in self.sources],
            "playlists": [dataclasses.asdict(outcome) for outcome in self.playlists],
            "rows_new": self.rows_new,
            "rows_matched": self.rows_matched,
            "match_rate": self.match_rate,
            "unmatched": len(self.unmatched),
            "low_confidence": len(self.low_confidence),
            "no_clean_twin": self.no_clean_twin,
            "searches": self.searches,
            "deferred": self.deferred,
            "requests": self.requests,
            "warnings": self.warnings,
        }


class _Run:
    """State shared by the steps of one update run."""

    def __init__(self, services: Services, store: Store, now: datetime.datetime, dry_run: bool, force: bool):
        self.services = services
        self.settings: Settings = services.settings
        self.store = store
        self.now = now
        # Miss back-offs count local days, so resolving is given the time in the configured zone.
        self.local_now = now.astimezone(self.settings.zone)
        self.today = self.local_now.date()
        self.dry_run = dry_run
        self.force = force
        # One retry budget for every request of this run, Spotify's and the chart sources' (DESIGN §5).
        self.budget = services.retry_budget()
        self._gateway: SpotifyGateway | None = None
        # Every search of this run draws from this one budget; rows past it wait for the next run.
        self.search_budget = SearchBudget(self.settings.search_budget)
        self._rows: tuple[datetime.date, datetime.date, list[RankedRow]] | None = None
        self._left_out: set[str] = set()
        self.clean_only = self.settings.explicit is ExplicitPolicy.CLEAN_ONLY
        self.result = UpdateResult(run_id=None, today=self.today, dry_run=dry_run)
        self.overrides = load_overrides(self.settings.paths.config_dir / "overrides.toml")
        self.result.overrides = self.overrides.describe()
        self.playlists = PlaylistSync(
            self.settings,
            store,
            lambda: self.gateway,
            now,
            dry_run=dry_run,
            force=force,
            warnings=self.result.warnings,
        )

    def sync(self, playlist: PlaylistSettings, window: ranking.Window) -> tuple[PlaylistOutcome, ranking.Ranking]:
        """Rank one playlist's window and bring the playlist on Spotify to that list.

        A window without a single chart day (tophits was not running) says nothing about what the
        playlist should hold: it is kept as it is (a final one is finalised with what it holds).
        """
        rows = self.rows(window)
        if self.clean_only:  # matches left out as not known to be clean, each counted once a run
            self.result.no_clean_twin -= len(self._left_out)
            self._left_out |= self.store.unrated_matches(window.start, window.end)
            self.result.no_clean_twin += len(self._left_out)
        ranked = ranking.rank_window(rows, window, playlist.size, self.settings.max_per_artist, self.settings.weights)
        if not rows:
            return self.playlists.keep(playlist, window), ranked
        return self.playlists.sync(playlist, window, ranked.track_ids), ranked

    @property
    def gateway(self) -> SpotifyGateway:
        # Built on first use: a run that needs nothing from Spotify never imports spotipy.
        if self._gateway is None:
            gateway = self.services.gateway(self.store, lambda: self.now, self.budget)
            # A dry run's gateway refuses every write, so no step can forget to check the flag.
            self._gateway = ReadOnlyGateway(gateway) if self.dry_run else gateway
        return self._gateway

    def request_summary(self) -> dict[str, Any]:
        """Return the run's Spotify request figures (none when it never needed Spotify)."""
        return self._gateway.stats.summary() if self._gateway is not None else {"total": 0}

    def search(self, query: str) -> Sequence[Track]:
        self.search_budget.spend()
        self.result.searches += 1
        return self.gateway.search_tracks(query)

    # -- step 2: fetch ------------------------------------------------------------------------------
    def fetch_charts(self) -> list[Chart]:
        """Fetch today's chart from each source not fetched yet today; raise SourceError if all fail."""
        charts = []
        session = self.services.http_session()
        sources = build_sources(
            self.settings,
            self.store,
            session,
            lambda: self.gateway,
            clock=lambda: self.local_now,
            sleep=self.services.sleep,
            monotonic=self.services.monotonic,
            budget=self.budget,
        )
        for source in sources:
            if self.store.has_observation(source.name, source.chart_id, self.today):
                self.result.sources.append(SourceReport(source.name, SourceStatus.CACHED))
                continue
            try:
                chart = source.fetch(self.today)
            except SourceError as error:
                self.result.sources.append(SourceReport(source.name, SourceStatus.FAILED, message=error.message))
                self.result.warnings.append(error.message)
                self.store.record_source(source.name, self.now, error.message)
                continue
            self.store.record_source(source.name, self.now, None)
            charts.append(capped(chart, self.settings.chart_row_cap(source.name)))
        failed = [report.status == SourceStatus.FAILED for report in self.result.sources]
        if failed and all(failed) and not charts:
            raise SourceError(
                "every chart source failed ("
                + "; ".join(report.message for report in self.result.sources)
                + "); no playlist was touched"
            )
        return charts

    # -- step 3 and 4: store and resolve ------------------------------------------------------------------
    def resolve_row(self, row: ChartRow, source: str) -> dict[str, Any]:
        """Resolve one chart row and return it as the store saves it, counting matches for the run."""
        outcome = self.search_budget.resolve(self.search, row, self.store, self.local_now, self.settings.explicit)
        self.result.rows_new += 1
        if outcome.method == "unresolved":
            self.result.deferred += 1
        elif outcome.spotify_id:
            self.result.rows_matched += 1
            if (check := match_to_check(source, row, outcome)) is not None:
                self.result.low_confidence.append(check)
        else:
            self.result.no_clean_twin += outcome.method == "no-clean-twin"
            self.result.unmatched.append((source, ", ".join(row.artists), row.title))
        return row.stored_values(outcome.key) | {"matched": outcome.spotify_id is not None}

    def store_charts(self, charts: Sequence[Chart]) -> None:
        """Resolve rows earlier runs left unresolved (oldest charts first; with those a policy switch moved to
        new keys), then store and resolve new charts."""
        year_start = datetime.date(self.today.year, 1, 1)
        rekey_for_policy(self.store, year_start, self.settings.explicit)
        for values in self.store.unresolved_rows(year_start, self.search_budget.remaining):
            outcome = self.search_budget.resolve(
                self.search, ChartRow(**values), self.store, self.local_now, self.settings.explicit
            )
            self.result.no_clean_twin += outcome.method == "no-clean-twin"
        for chart in charts:
            rows = [self.resolve_row(row, chart.source) for row in chart.rows]
            matched = sum(1 for row in rows if row.pop("matched"))
            self.store.save_observation(chart.source, chart.chart_id, chart.chart_date, self.now, rows)
            self.result.sources.append(
                SourceReport(chart.source, SourceStatus.FETCHED, rows=len(rows), matched=matched)
            )
        if self.result.deferred:
            self.result.warnings.append(self.search_budget.describe_waiting(self.result.deferred))

    def retry_misses(self, plans: Sequence[tuple[PlaylistSettings, ranking.Window | None]]) -> None:
        """Retry cached misses whose back-off has passed, for charts that can still reach a playlist.

        That is this year's, and those of any window this run ranks: on 1 January, December's
        misses are retried before the December and yearly playlists are finalised.
        """
        since = min([datetime.date(self.today.year, 1, 1)] + [window.start for _, window in plans if window])
        for values in self.store.due_misses(since, self.now):
            row = ChartRow(**values)
            outcome = self.search_budget.resolve(self.search, row, self.store, self.local_now, self.settings.explicit)
            if outcome.spotify_id:
                logger.info("resolved on retry: %s – %s", ", ".join(row.artists), row.title)

    # -- step 5: windows and targets ------------------------------------------------------------------------
    def windows(self, only: Sequence[str]) -> list[tuple[PlaylistSettings, ranking.Window | None]]:
        """Return each enabled playlist's current window, after the finalising windows of earlier periods."""
        earliest = self.store.earliest_chart_date()
        latest = self.store.latest_chart_date(self.today)
        plans: list[tuple[PlaylistSettings, ranking.Window | None]] = []
        for playlist in self.settings.enabled_playlists():
            if only and playlist.key not in only:
                continue
            if playlist.key in ranking.PERIODIC:
                current_period = ranking.period_of(playlist.key, self.today)
                for record in self.store.managed_playlists(playlist.key):
                    if record.status == PlaylistState.ACTIVE and record.period < current_period:
                        plans.append((playlist, ranking.final_window(playlist.key, record.period)))
            plans.append((playlist, ranking.current_window(playlist.key, self.today, earliest, latest)))
        return plans

    # -- step 6: reconcile ---------------------------------------------------------------------------------------
    def rows(self, window: ranking.Window) -> list[RankedRow]:
        """Return the chart rows (overrides applied) for a window, reading the DB once for all windows."""
        if self._rows is None or not (self._rows[0] <= window.start and window.end <= self._rows[1]):
            start = min(window.start, datetime.date(window.end.year, 1, 1))
            rows = self.store.ranked_rows(start, window.end, clean_only=self.clean_only)
            self._rows = (start, window.end, apply_overrides(rows, self.overrides))
        return [row for row in self._rows[2] if window.start <= row.chart_date <= window.end]


def run_update(
    services: Services,
    now: datetime.datetime | None = None,
    *,
    only: Sequence[str] = (),
    dry_run: bool = False,
    force: bool = False,
) -> UpdateResult:
    """Run one update under the run lock and return what it did. Raise TophitsError on failure (recorded).

    A dry run happens inside one transaction that is always rolled back, with a gateway that
    refuses writes: the state DB and Spotify are left exactly as they were.
    """
    settings = services.settings
    now = now or services.clock()
    unknown = [key for key in only if key not in settings.playlists]
    if unknown:
        raise UsageError(f"unknown playlist {', '.join(unknown)}; choose from daily, weekly, monthly, yearly")
    # Fail before any network traffic when the run could not reach Spotify anyway.
    settings.require_credentials()
    if not settings.paths.token_file.exists():
        raise AuthError(f"no Spotify authorisation at {settings.paths.token_file}; run `tophits auth`")
    with run_lock(settings.paths.lock_file):
        store = services.open_state()
        try:
            with store.failing_run_on_database_error(now):  # a full disk or a damaged DB: exit 5 or 6
                if dry_run:
                    with store.rolled_back():
                        return _update(services, store, now, only, dry_run, force)
                result = _update(services, store, now, only, dry_run, force)
        finally:
            store.close()
        result.warnings += export_changed(settings, result.playlists, now)
        return result


def _update(
    services: Services, store: Store, now: datetime.datetime, only: Sequence[str], dry_run: bool, force: bool
) -> UpdateResult:
    not_before = honour_not_before(store.get_meta("not_before"), now)
    started = time.monotonic()
    run = _Run(services, store, now, dry_run, force)
    result = run.result
    if not dry_run:
        result.run_id = store.start_run("update", now)
    versions: list[WrittenVersion] = []
    syncing: tuple[str, str] | None = None
    try:
        run.store_charts(run.fetch_charts())
        plans = run.windows(only)
        run.retry_misses(plans)
        for playlist, window in plans:
            if window is None:
                result.playlists.append(run.playlists.no_history(playlist, run.today))
                continue
            syncing = (playlist.key, window.period)
            outcome, ranked = run.sync(playlist, window)
            syncing = None
            result.playlists.append(outcome)
            if outcome.status in (Outcome.REFUSED, Outcome.KEPT):
                result.warnings.append(f"{outcome.name}: {outcome.message}")
            version = written_version(store, window, ranked, run.overrides) if outcome.writes and not dry_run else None
            if version is not None:
                versions.append(version)
    except TophitsError as error:
        failed = store.get_playlist(*syncing) if syncing and not dry_run else None
        if failed is not None:
            # status shows why the last attempt at this playlist failed until a run succeeds.
            store.save_playlist(dataclasses.replace(failed, last_error=error.message))
        result.requests = run.request_summary()
        if result.run_id is not None:
            # systemd's id of this invocation (unset outside a unit): the failure alert quotes this
            # record only for the invocation that wrote it, however close together two runs fail.
            summary = result.summary() | {"error": error.message, "invocation": os.environ.get("INVOCATION_ID", "")}
            finished = now + datetime.timedelta(seconds=time.monotonic() - started)
            # What was written before the failure is on Spotify: its versions are recorded too.
            store.finish_run(
                result.run_id,
                now=finished,
                result=RunResult.FAILED,
                exit_code=int(error.exit_code),
                summary=summary,
                versions=versions,
            )
        raise
    result.requests = run.request_summary()
    if result.run_id is not None:
        if not_before:
            store.set_meta("not_before", None)
        store.finish_run(
            result.run_id,
            now=now + datetime.timedelta(seconds=time.monotonic() - started),
            result=RunResult.REFUSED if result.refused else RunResult.OK,
            exit_code=result.exit_code,
            summary=result.summary(),
            versions=versions,
        )
    return result
