"""`tophits update`: charts → observations → resolved tracks → ranked targets → playlists on Spotify.

The story of DESIGN §2: take the lock; stop at once if Spotify told us to wait; fetch each
source (a broken one is skipped, never allowed to empty anything); store and resolve the new
charts; rank each playlist's window; reconcile each with Spotify; record the run.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Sequence
from typing import Any

from spotify_tophits import ranking
from spotify_tophits.actions import Services, open_state
from spotify_tophits.clock import describe_duration, parse_utc
from spotify_tophits.config import PlaylistSettings, Settings, render_playlist_name
from spotify_tophits.errors import AuthError, ConfigError, RateLimitedError, SourceError, TophitsError, UsageError
from spotify_tophits.lock import run_lock
from spotify_tophits.matching import primary_artist, resolve, song_key
from spotify_tophits.overrides import apply_overrides, load_overrides
from spotify_tophits.reconcile import reconcile
from spotify_tophits.sources import Chart, ChartRow, build_sources
from spotify_tophits.spotify import PlaylistInfo, SpotifyGateway, Track
from spotify_tophits.store import ManagedPlaylist, RankedRow, Store

logger = logging.getLogger(__name__)
# Text matches under this confidence are listed by `update -v` for a person to check.
LOW_CONFIDENCE = 0.9


@dataclasses.dataclass(frozen=True)
class SourceReport:
    """How one source did this run."""

    name: str
    status: str  # "fetched", "cached" (already have today's chart) or "failed"
    rows: int = 0
    matched: int = 0
    message: str = ""


@dataclasses.dataclass(frozen=True)
class PlaylistOutcome:
    """What happened to one playlist this run."""

    key: str
    period: str
    name: str
    spotify_id: str | None
    window: str
    tracks: int
    size: int
    added: int
    removed: int
    status: str  # unchanged, written, created, recreated, finalised, refused, empty, dry-run
    writes: int
    message: str = ""

    @property
    def url(self) -> str | None:
        return f"https://open.spotify.com/playlist/{self.spotify_id}" if self.spotify_id else None


@dataclasses.dataclass
class UpdateResult:
    """The whole run, for rendering and for the run record."""

    run_id: int | None
    today: datetime.date
    sources: list[SourceReport] = dataclasses.field(default_factory=list)
    playlists: list[PlaylistOutcome] = dataclasses.field(default_factory=list)
    unmatched: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    low_confidence: list[tuple[str, str, str, float]] = dataclasses.field(default_factory=list)
    overrides: list[str] = dataclasses.field(default_factory=list)
    rows_new: int = 0
    rows_matched: int = 0
    searches: int = 0
    requests: dict[str, Any] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    exit_code: int = 0
    dry_run: bool = False

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
            "searches": self.searches,
            "requests": self.requests,
            "warnings": self.warnings,
        }


def describe_playlist(playlist: PlaylistSettings, window: ranking.Window, sources: Sequence[str]) -> str:
    """Return the playlist description: stable from day to day, so it costs no extra write."""
    origin = ", ".join(sources)
    if window.final:
        label = f"{window.period_start:%B %Y}" if window.key == "monthly" else str(window.period_start.year)
        return f"Final: the top {playlist.size} of {label} from {origin}. Ranked by tophits; no longer updated."
    cadence = {"daily": "the latest chart day", "weekly": "last week", "monthly": "this month so far"}
    return f"The top {playlist.size} of {cadence.get(window.key, 'this year so far')} from {origin}. Ranked by tophits."


class _Run:
    """State shared by the steps of one update run."""

    def __init__(self, services: Services, store: Store, now: datetime.datetime, dry_run: bool, force: bool):
        self.services = services
        self.settings: Settings = services.settings
        self.store = store
        self.now = now
        self.today = now.astimezone(self.settings.zone).date()
        self.dry_run = dry_run
        self.force = force
        self._gateway: SpotifyGateway | None = None
        self._listing: dict[str, PlaylistInfo] | None = None
        self._user_id: str | None = None
        self._rows: tuple[datetime.date, datetime.date, list[RankedRow]] | None = None
        self.result = UpdateResult(run_id=None, today=self.today, dry_run=dry_run)
        self.overrides = load_overrides(self.settings.paths.config_dir / "overrides.toml")
        self.result.overrides = self.overrides.describe()

    @property
    def gateway(self) -> SpotifyGateway:
        # Built on first use: a run that needs nothing from Spotify never imports spotipy.
        if self._gateway is None:
            self._gateway = self.services.gateway(self.store, lambda: self.now)
        return self._gateway

    def request_summary(self) -> dict[str, Any]:
        """Return the run's Spotify request figures (none when it never needed Spotify)."""
        return self._gateway.stats.summary() if self._gateway is not None else {"total": 0}

    def search(self, query: str) -> Sequence[Track]:
        self.result.searches += 1
        return self.gateway.search_tracks(query)

    # -- step 2: fetch ------------------------------------------------------------------------------
    def fetch_charts(self) -> list[Chart]:
        """Fetch today's chart from each source not fetched yet today; raise SourceError if all fail."""
        charts = []
        session = self.services.http_session()
        for source in build_sources(self.settings, self.store, session, lambda: self.gateway):
            if self.store.has_observation(source.name, source.chart_id, self.today):
                self.result.sources.append(SourceReport(source.name, "cached"))
                continue
            try:
                chart = source.fetch(self.today)
            except SourceError as error:
                self.result.sources.append(SourceReport(source.name, "failed", message=error.message))
                self.result.warnings.append(error.message)
                if not self.dry_run:
                    self.store.record_source(source.name, self.now, error.message)
                continue
            if not self.dry_run:
                self.store.record_source(source.name, self.now, None)
            charts.append(chart)
        if self.result.sources and all(report.status == "failed" for report in self.result.sources) and not charts:
            raise SourceError(
                "every chart source failed ("
                + "; ".join(report.message for report in self.result.sources)
                + "); no playlist was touched"
            )
        return charts

    # -- step 3 and 4: store and resolve ------------------------------------------------------------------
    def resolve_row(self, row: ChartRow, source: str) -> dict[str, Any]:
        """Resolve one chart row and return it as the store saves it, counting matches for the run."""
        outcome = resolve(row, self.search, self.store, self.now)
        self.result.rows_new += 1
        if outcome.spotify_id:
            self.result.rows_matched += 1
            if outcome.confidence < LOW_CONFIDENCE and not outcome.cached:
                self.result.low_confidence.append((source, ", ".join(row.artists), row.title, outcome.confidence))
        else:
            self.result.unmatched.append((source, ", ".join(row.artists), row.title))
        return {
            "rank": row.rank,
            "title": row.title,
            "artists": list(row.artists),
            "isrc": row.isrc,
            "source_track_id": row.source_track_id,
            "spotify_id": row.spotify_id,
            "duration_ms": row.duration_ms,
            "resolution_key": outcome.key,
            "song_key": song_key(row.title, row.artists),
            "artist_key": primary_artist(row.artists),
            "matched": outcome.spotify_id is not None,
        }

    def store_charts(self, charts: Sequence[Chart]) -> None:
        """Store and resolve new charts, then retry cached misses whose back-off has passed."""
        for chart in charts:
            rows = [self.resolve_row(row, chart.source) for row in chart.rows]
            matched = sum(1 for row in rows if row.pop("matched"))
            self.store.save_observation(chart.source, chart.chart_id, chart.chart_date, self.now, rows)
            self.result.sources.append(SourceReport(chart.source, "fetched", rows=len(rows), matched=matched))
        # Misses are retried once their back-off passes (1 day doubling to 30), for charts that
        # can still reach a playlist (this year's).
        for values in self.store.due_misses(datetime.date(self.today.year, 1, 1), self.now):
            row = ChartRow(**values)
            outcome = resolve(row, self.search, self.store, self.now)
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
                    if record.status == "active" and record.period < current_period:
                        plans.append((playlist, ranking.final_window(playlist.key, record.period)))
            plans.append((playlist, ranking.current_window(playlist.key, self.today, earliest, latest)))
        return plans

    # -- step 6: reconcile ---------------------------------------------------------------------------------------
    def rows(self, window: ranking.Window) -> list[RankedRow]:
        """Return the chart rows (overrides applied) for a window, reading the DB once for all windows."""
        if self._rows is None or not (self._rows[0] <= window.start and window.end <= self._rows[1]):
            start = min(window.start, datetime.date(window.end.year, 1, 1))
            self._rows = (start, window.end, apply_overrides(self.store.ranked_rows(start, window.end), self.overrides))
        return [row for row in self._rows[2] if window.start <= row.chart_date <= window.end]

    def listing(self) -> dict[str, PlaylistInfo]:
        """Return the user's playlists by id, read once per run (the snapshot check)."""
        if self._listing is None:
            self._listing = {info.id: info for info in self.gateway.my_playlists()}
        return self._listing

    def user_id(self) -> str:
        """Return the authorised user's id (stored at `tophits auth`, else asked once)."""
        if self._user_id is None:
            self._user_id = self.store.get_meta("user_id")
            if self._user_id is None:
                self._user_id = self.gateway.current_user().id
                self.store.set_meta("user_id", self._user_id)
        return self._user_id

    def adopt(self, playlist: PlaylistSettings, window: ranking.Window, name: str, description: str) -> ManagedPlaylist:
        """Take over the playlist named by `spotify_id` in the config, after checking it is ours."""
        spotify_id = playlist.spotify_id
        info = self.listing().get(spotify_id or "")
        if info is None or info.owner_id != self.user_id():
            raise ConfigError(
                f"playlists.{playlist.key}.spotify_id = {spotify_id!r} is not a playlist in your library that you"
                " own (Spotify-owned playlists answer 404 to Development Mode apps); remove the setting and"
                " tophits creates its own"
            )
        return ManagedPlaylist(
            playlist.key,
            window.period,
            spotify_id,
            None,
            name,
            description,
            None,
            "active",
            self.now.isoformat(),
            None,
            None,
        )

    def sync(self, playlist: PlaylistSettings, window: ranking.Window) -> PlaylistOutcome:
        """Rank one playlist's window and reconcile it with Spotify; return what happened."""
        rows = self.rows(window)
        target = ranking.rank_tracks(rows, window, playlist.size, self.settings.max_per_artist, self.settings.weights)
        record = self.store.get_playlist(playlist.key, window.period)
        name = render_playlist_name(playlist.name, self.settings.prefix, window.period_start)
        description = describe_playlist(playlist, window, self.settings.sources)

        def outcome(
            status: str, spotify_id: str | None, before: Sequence[str] | None, writes: int, message: str = ""
        ) -> PlaylistOutcome:
            previous = set(before or ())
            return PlaylistOutcome(
                key=playlist.key,
                period=window.period,
                name=name,
                spotify_id=spotify_id,
                window=window.describe(),
                tracks=len(target),
                size=playlist.size,
                added=len(set(target) - previous),
                removed=len(previous - set(target)),
                status=status,
                writes=writes,
                message=message,
            )

        known = record.contents if record else None
        if not target and record is None:
            return outcome("empty", None, None, 0, "no resolved chart rows in this window yet")
        if known and len(target) < len(known) / 2 and not self.force:
            message = (
                f"refused: the new list has {len(target)} tracks, under half of the {len(known)} it has now;"
                " check the sources, or run `tophits update --force` to accept it"
            )
            return outcome("refused", record.spotify_id if record else None, known, 0, message)

        if record is None and playlist.spotify_id:
            record = self.adopt(playlist, window, name, description)
        info = self.listing().get(record.spotify_id) if record and record.spotify_id else None
        if info is not None and info.owner_id != self.user_id():
            info = None
        status = "unchanged"
        if info is None:
            status = "recreated" if record is not None and record.spotify_id else "created"
            if self.dry_run:
                return outcome(f"would be {status}", None, None, 0)
            info = self.gateway.create_playlist(name, description, playlist.public)
            self.listing()[info.id] = info
            record = ManagedPlaylist(
                key=playlist.key,
                period=window.period,
                spotify_id=info.id,
                # A playlist we just created is empty at this snapshot: no need to read it.
                snapshot_id=info.snapshot_id,
                name=name,
                description=description,
                contents=(),
                status="active",
                created_at=self.now.isoformat(),
                updated_at=None,
                last_error=None,
            )
            # Saved before any item is written, so a crash here never creates a second playlist.
            self.store.save_playlist(record)
            if status == "recreated":
                self.result.warnings.append(f"{name}: the playlist was gone from your library; recreated it")
        assert record is not None
        renamed = info.name != name or info.description != description
        if renamed and not self.dry_run:
            self.gateway.change_details(info.id, name, description)
        snapshot = record.snapshot_id if record.spotify_id == info.id else None
        done = reconcile(self.gateway, info, snapshot, record.contents, target, dry_run=self.dry_run)
        if done.writes and status == "unchanged":
            status = "written"
        if window.final:
            status = "finalised"
        if self.dry_run:
            changed = done.before is None or list(done.before) != target
            return outcome("would be written" if changed else "unchanged", info.id, done.before, 0)
        self.store.save_playlist(
            dataclasses.replace(
                record,
                spotify_id=info.id,
                snapshot_id=done.snapshot_id,
                name=name,
                description=description,
                contents=tuple(target),
                status="final" if window.final else "active",
                updated_at=self.now.isoformat(),
                last_error=None,
            )
        )
        self.listing()[info.id] = dataclasses.replace(
            info, name=name, description=description, snapshot_id=done.snapshot_id
        )
        return outcome(status, info.id, done.before, done.writes + int(renamed))


def run_update(
    services: Services,
    now: datetime.datetime | None = None,
    *,
    only: Sequence[str] = (),
    dry_run: bool = False,
    force: bool = False,
) -> UpdateResult:
    """Run one update under the run lock and return what it did. Raise TophitsError on failure (recorded)."""
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
        store = open_state(settings)
        try:
            return _update(services, store, now, only, dry_run, force)
        finally:
            store.close()


def _update(
    services: Services, store: Store, now: datetime.datetime, only: Sequence[str], dry_run: bool, force: bool
) -> UpdateResult:
    not_before = store.get_meta("not_before")
    if not_before and parse_utc(not_before) > now:
        wait = (parse_utc(not_before) - now).total_seconds()
        raise RateLimitedError(
            f"Spotify asked us to wait: retry after {describe_duration(wait)} (not before"
            f" {parse_utc(not_before):%Y-%m-%d %H:%M} UTC); the timer will try again"
        )
    started = time.monotonic()
    run = _Run(services, store, now, dry_run, force)
    result = run.result
    if not dry_run:
        result.run_id = store.start_run("update", now)
    snapshots: list[ManagedPlaylist] = []
    syncing: tuple[str, str] | None = None
    try:
        run.store_charts(run.fetch_charts())
        for playlist, window in run.windows(only):
            if window is None:
                result.playlists.append(
                    PlaylistOutcome(
                        playlist.key,
                        playlist.key,
                        playlist.name,
                        None,
                        "-",
                        0,
                        playlist.size,
                        0,
                        0,
                        "empty",
                        0,
                        "no chart history yet",
                    )
                )
                continue
            syncing = (playlist.key, window.period)
            outcome = run.sync(playlist, window)
            syncing = None
            result.playlists.append(outcome)
            if outcome.status == "refused":
                result.exit_code = 6
                result.warnings.append(f"{outcome.name}: {outcome.message}")
            if outcome.writes and not dry_run:
                saved = store.get_playlist(outcome.key, outcome.period)
                if saved is not None:
                    snapshots.append(saved)
    except TophitsError as error:
        failed = store.get_playlist(*syncing) if syncing and not dry_run else None
        if failed is not None:
            # status shows why the last attempt at this playlist failed until a run succeeds.
            store.save_playlist(dataclasses.replace(failed, last_error=error.message))
        result.requests = run.request_summary()
        if result.run_id is not None:
            summary = result.summary() | {"error": error.message}
            finished = now + datetime.timedelta(seconds=time.monotonic() - started)
            store.finish_run(
                result.run_id, now=finished, result="failed", exit_code=int(error.exit_code), summary=summary
            )
        raise
    result.requests = run.request_summary()
    if result.run_id is not None:
        if not_before:
            store.set_meta("not_before", None)
        store.finish_run(
            result.run_id,
            now=now + datetime.timedelta(seconds=time.monotonic() - started),
            result="ok" if result.exit_code == 0 else "refused",
            exit_code=result.exit_code,
            summary=result.summary(),
            snapshots=snapshots,
        )
    return result
