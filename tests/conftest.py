"""Shared fixtures: every test runs in its own directories against a fresh emulator on 127.0.0.1.

No test reads the wall clock or sleeps through a retry: actions get their time as an argument or
from `Services`, the CLI from the `Clock` a `TophitsRunner` passes as Click's `obj`. No test leaves
the machine: every endpoint points at the emulator or at a closed port, and `network_guard` fails
any test that connects to an address that is not loopback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import ipaddress
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from spotify_tophits.actions.auth import authorise
from spotify_tophits.actions.demo import follow_authorise_redirect
from spotify_tophits.actions.update import UpdateResult, run_update
from spotify_tophits.config import Settings, load_settings
from spotify_tophits.config.settings import ENDPOINT_VARIABLES
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World
from spotify_tophits.services import Clock, Services
from spotify_tophits.sources.registry import DEEZER_CHART_PLAYLISTS
from spotify_tophits.spotify import RetryPolicy

if "libfaketime" in os.environ.get("LD_PRELOAD", ""):
    # The faketime pass of .ci/run leaves the monotonic clock real (FAKETIME_DONT_FAKE_MONOTONIC=1: a faked
    # one hangs every timed lock wait). libfaketime 0.9.10 then answers the absolute monotonic
    # clock_nanosleep behind time.sleep with EINVAL; a relative wait in select is unaffected.
    def _relative_sleep(seconds: float) -> None:
        select.select([], [], [], seconds)

    time.sleep = _relative_sleep

WORLD_START = datetime.date(2026, 10, 1)
# The day whose chart most tests publish, and the day their runs happen (see `TophitsRunner`).
CHART_DAY = WORLD_START + datetime.timedelta(days=40)
WORLDWIDE = DEEZER_CHART_PLAYLISTS["worldwide"]


def at(day: datetime.date, hour: int = 6) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


def no_sleep(seconds: float) -> None:
    """A sleep that returns at once: retries in tests are counted, never waited for."""


def fixed_clock(moment: datetime.datetime) -> Clock:
    """A clock that always says `moment` and never waits."""
    return Clock(now=lambda: moment, sleep=no_sleep)


class TophitsRunner(CliRunner):
    """Typer's CliRunner that runs every command at a fixed moment (07:00 on CHART_DAY unless told) and never
    sleeps: the CLI takes both from the `Clock` passed as Click's `obj`."""

    def __init__(self, now: datetime.datetime | None = None) -> None:
        super().__init__()
        self.now = now or at(CHART_DAY, 7)

    def invoke(  # type: ignore[override]
        self, app: Any, args: Sequence[str] = (), *, now: datetime.datetime | None = None, **options: Any
    ) -> Result:
        """Run `tophits <args>` at `now` (default: the runner's moment), unless `obj` brings another clock."""
        options.setdefault("obj", fixed_clock(now or self.now))
        return super().invoke(app, list(args), **options)


# -- no test leaves the machine --------------------------------------------------------------------------------
class OffTheMachine(OSError):
    """Raised instead of connecting to an address that is not loopback."""


def is_loopback(address: object) -> bool:
    """Given a socket address, return whether it stays on this machine (loopback IP, localhost, a Unix socket)."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and abstract sockets
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it already leaves the machine


@dataclasses.dataclass
class NetworkGuard:
    """The connections refused during one test, as (function, address)."""

    refused: list[tuple[str, object]] = dataclasses.field(default_factory=list)


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    """Refuse any connection to an address that is not loopback, and fail the test that tried, even if the
    code under test swallowed the error. `socket.create_connection` and every HTTP library connect through
    `socket.socket.connect`/`connect_ex`, so guarding those two covers them."""
    guard = NetworkGuard()
    for name in ("connect", "connect_ex"):
        original = getattr(socket.socket, name)

        def guarded(sock: socket.socket, address: Any, _original: Any = original, _name: str = name) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
                guard.refused.append((_name, address))
                raise OffTheMachine(f"tests stay on 127.0.0.1: refused {_name} to {address!r}")
            return _original(sock, address)

        monkeypatch.setattr(socket.socket, name, guarded)
    yield guard
    if guard.refused:
        pytest.fail(f"the test tried to leave the machine: {guard.refused}")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every tophits path at tmp_path and drop anything the developer's shell would leak in."""
    for name in list(os.environ):
        if name.startswith(("TOPHITS_", "SPOTIPY_")) or name in (
            "STATE_DIRECTORY",
            "CACHE_DIRECTORY",
            "CONFIGURATION_DIRECTORY",
            "CREDENTIALS_DIRECTORY",
            "JOURNAL_STREAM",
        ):
            monkeypatch.delenv(name, raising=False)
    # Nothing listens on port 9 (discard): a test that forgets the emulator fails at once
    # instead of reaching the internet.
    unreachable = "http://127.0.0.1:9/"
    environment = {variable: unreachable for variable in ENDPOINT_VARIABLES.values()} | {
        "TOPHITS_CONFIG_DIR": str(tmp_path / "config"),
        "TOPHITS_STATE_DIR": str(tmp_path / "state"),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@dataclasses.dataclass
class Sleeps:
    """A sleep that records what it was asked to wait instead of waiting (the HTTP stays real)."""

    calls: list[float] = dataclasses.field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@dataclasses.dataclass
class VirtualTime:
    """Monotonic seconds that pass only when something sleeps: tophits' Deezer pacer and the emulator's Deezer
    limit read the same clock, so a test sees exactly what the limit would say, without waiting."""

    now: float = 1000.0
    slept: list[float] = dataclasses.field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


@functools.cache
def shared_world(start: datetime.date) -> World:
    """The sample world starting on `start`, built once per process: it is deterministic and nothing changes it."""
    return World(start=start)


@pytest.fixture
def world() -> World:
    return shared_world(WORLD_START)


@pytest.fixture
def emulator(world: World) -> Iterator[Emulator]:
    with Emulator(world) as running:
        yield running


@pytest.fixture
def environment(
    emulator: Emulator, isolated_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The full environment of a configured installation pointed at the emulator (also set in os.environ)."""
    environment = isolated_environment | emulator.environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


def write_config(environment: dict[str, str], text: str) -> Path:
    """Write config.toml; the emulator needs no pacing, so lift Deezer's request limit unless the text sets it."""
    path = Path(environment["TOPHITS_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if "[deezer]" not in text:
        text += "\n[deezer]\nrequests_per_5s = 10000\n"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def settings(environment: dict[str, str]) -> Settings:
    write_config(environment, 'timezone = "UTC"\nsources = ["deezer:worldwide"]\n')
    return load_settings(environment)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def services(settings: Settings, sleeps: Sleeps) -> Services:
    return Services(settings, retry_policy=RetryPolicy(sleeps, max_retry_wait=30), sleep=sleeps)


@pytest.fixture
def authorised(settings: Settings, emulator: Emulator) -> Settings:
    """An installation that has run `tophits auth` against the emulator."""
    authorise(settings, follow_authorise_redirect, at(WORLD_START), no_sleep)
    emulator.reset_counts()
    return settings


@contextlib.contextmanager
def lock_held_by_another_process(path: Path) -> Iterator[int]:
    """Hold the run lock at path from a separate process; yield that process's pid."""
    # The holder waits for its stdin to close (or to be killed), not on a timer.
    code = (
        "import sys\nfrom pathlib import Path\nfrom spotify_tophits.lock import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def chart_row_values(count: int, prefix: str = "t") -> list[dict[str, object]]:
    """Rows as Store.save_observation takes them: `count` unmatched rows by artist 'a'."""
    return [
        {
            "rank": rank,
            "title": f"{prefix}{rank}",
            "artists": ["a"],
            "isrc": None,
            "source_track_id": None,
            "spotify_id": None,
            "duration_ms": None,
            "resolution_key": f"text:a|{prefix}{rank}",
            "song_key": f"a|{prefix}{rank}",
            "artist_key": "a",
        }
        for rank in range(1, count + 1)
    ]


class Simulation:
    """Drive daily updates: set the day's chart on the emulator, run update at 06:00 that day."""

    def __init__(self, emulator: Emulator, world: World, services: Services) -> None:
        self.emulator = emulator
        self.world = world
        self.services = services

    def publish(self, day: datetime.date) -> None:
        self.emulator.set_deezer_chart(WORLDWIDE, self.world.chart(day))

    def run(self, day: datetime.date, chart_day: datetime.date | None = None, **options: object) -> UpdateResult:
        """Publish the chart of `chart_day` (default: day) and run an update at 06:00 on day."""
        self.publish(chart_day or day)
        return run_update(self.services, at(day), **options)  # type: ignore[arg-type]

    def run_days(self, first: datetime.date, days: int) -> list[UpdateResult]:
        return [self.run(first + datetime.timedelta(days=offset)) for offset in range(days)]


@pytest.fixture
def simulation(emulator: Emulator, world: World, services: Services, authorised: Settings) -> Simulation:
    return Simulation(emulator, world, services)
