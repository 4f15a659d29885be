"""`tophits demo`: the real update pipeline against the built-in emulator, over simulated days.

No account and no network: the emulator plays Spotify, its accounts service and Deezer's chart
on 127.0.0.1, with a sample world whose charts change from day to day and cross a month end.
"""

from __future__ import annotations

import dataclasses
import datetime
import tempfile
from collections.abc import Callable
from pathlib import Path

import requests

from spotify_tophits.actions.auth import authorise
from spotify_tophits.actions.show import ShowResult, collect_show
from spotify_tophits.actions.update import UpdateResult, run_update
from spotify_tophits.config import load_settings
from spotify_tophits.errors import UsageError
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World
from spotify_tophits.services import Clock, Services

DEMO_CONFIG = """\
# Written by `tophits demo`: the same settings a real installation would use.
timezone = "UTC"
sources = ["deezer:worldwide", "apple:us"]

[deezer]
# The emulator has no request limit; the real Deezer allows 50 requests per 5 s per IP.
requests_per_5s = 10000
"""

# How many entries of Daily Hits the demo ends with.
DEMO_TOP = 10


@dataclasses.dataclass(frozen=True)
class DemoPlaylist:
    """One playlist on the emulator at the end of the demo."""

    name: str
    status: str
    tracks: tuple[str, ...]


@dataclasses.dataclass
class DemoResult:
    """What the demo did, for rendering."""

    directory: Path
    first_day: datetime.date
    last_day: datetime.date
    updates: list[UpdateResult]
    playlists: list[DemoPlaylist]
    requests: int
    writes: int
    daily_top: ShowResult | None = None

    def source_totals(self) -> dict[str, tuple[int, int, int]]:
        """Return, per source, the charts fetched, the rows and the rows matched over the whole demo."""
        totals: dict[str, tuple[int, int, int]] = {}
        for update in self.updates:
            for report in update.sources:
                if report.status == "fetched":
                    charts, rows, matched = totals.get(report.name, (0, 0, 0))
                    totals[report.name] = (charts + 1, rows + report.rows, matched + report.matched)
        return totals


def follow_authorise_redirect(url: str) -> str:
    """Play the user's browser: open the authorise URL and return where it redirects (the emulator approves at once)."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    return response.headers["Location"]


def run_demo(
    directory: Path | None,
    days: int,
    last_day: datetime.date,
    progress: Callable[[UpdateResult], None] | None = None,
    *,
    clock: Clock,
) -> DemoResult:
    """Run `days` simulated daily updates ending on `last_day` in `directory` (None: a temporary one, removed
    afterwards), and return the outcome. Each simulated run is at 06:00 on its day; `clock` serves the rest."""
    if directory is None:
        with tempfile.TemporaryDirectory(prefix="tophits-demo-") as temporary:
            return run_demo(Path(temporary), days, last_day, progress, clock=clock)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".tophits-demo-check").touch()
        (directory / ".tophits-demo-check").unlink()
    except OSError as error:
        raise UsageError(
            f"--dir {directory} cannot hold the demo ({error.strerror}); give a new or writable directory"
        ) from None
    first_day = last_day - datetime.timedelta(days=days - 1)
    world = World(start=first_day)
    with Emulator(world) as emulator:
        environment = emulator.environment() | {
            "TOPHITS_CONFIG_DIR": str(directory / "config"),
            "TOPHITS_STATE_DIR": str(directory / "state"),
        }
        config_file = directory / "config" / "config.toml"
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(DEMO_CONFIG, encoding="utf-8")
        settings = load_settings(environment)
        start = datetime.datetime.combine(first_day, datetime.time(6), tzinfo=datetime.UTC)
        authorise(settings, follow_authorise_redirect, start, clock.sleep)
        services = Services.from_clock(settings, clock)
        updates = []
        for offset in range(days):
            day = first_day + datetime.timedelta(days=offset)
            emulator.publish_day(day)
            result = run_update(services, datetime.datetime.combine(day, datetime.time(6), tzinfo=datetime.UTC))
            updates.append(result)
            if progress is not None:
                progress(result)
        daily = collect_show(settings, "daily", None, last_day)
        # The top of the chart, as `tophits show` prints it, with movement from the day before.
        daily_top = dataclasses.replace(daily, name=f"{daily.name}, top {DEMO_TOP}", entries=daily.entries[:DEMO_TOP])
        store = services.open_state()
        try:
            playlists = []
            for record in store.managed_playlists():
                labels = store.track_labels(record.contents or ())
                playlists.append(
                    DemoPlaylist(record.name, record.status, tuple(labels.get(i, i) for i in record.contents or ()))
                )
        finally:
            store.close()
        return DemoResult(
            directory=directory,
            first_day=first_day,
            last_day=last_day,
            updates=updates,
            playlists=playlists,
            requests=emulator.count(""),
            writes=emulator.count("PUT /playlists")
            + emulator.count("POST /playlists")
            + emulator.count("POST /me/playlists"),
            daily_top=daily_top if daily.entries else None,
        )
