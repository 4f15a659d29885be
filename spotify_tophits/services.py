"""What an action needs from the outside world, in one object the CLI builds (and a test replaces).

The clock, the sleep used between retries, the state DB, Spotify and HTTP for the chart sources
all come from here, so no action reads the real clock or opens a connection on its own.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_tophits.clock import utc_now

if TYPE_CHECKING:
    import requests

    from spotify_tophits.config import Settings
    from spotify_tophits.retry import RetryBudget
    from spotify_tophits.spotify import RetryPolicy, SpotifyGateway
    from spotify_tophits.store import Store


def open_state(settings: Settings, now: datetime.datetime | None = None) -> Store:
    """Open the state DB; before migrating an older schema, archive it as a pre-migration copy (dated now)."""
    from spotify_tophits.archive.state import state_copy
    from spotify_tophits.store import open_store

    moment = now or utc_now()

    def pre_migration(path: Path) -> Path:
        return state_copy(settings.backup.directory, path, moment, "pre-migration")

    return open_store(settings.paths.state_db, pre_migration=pre_migration, now=moment)


@dataclasses.dataclass(frozen=True)
class Clock:
    """The wall clock and the sleep between retries: the machine's, unless a test passes its own."""

    now: Callable[[], datetime.datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep


@dataclasses.dataclass
class Services:
    """What an action needs from the outside world, built by the CLI or by a test."""

    settings: Settings
    retry_policy: RetryPolicy | None = None
    clock: Callable[[], datetime.datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    # Seconds on a clock that only moves forward, for pacing requests (a test passes virtual time).
    monotonic: Callable[[], float] = time.monotonic

    @classmethod
    def from_clock(cls, settings: Settings, clock: Clock) -> Services:
        """Return the services for settings that read the time from `clock` and sleep through it."""
        return cls(settings, clock=clock.now, sleep=clock.sleep)

    def policy(self) -> RetryPolicy:
        """Return the retry policy: the one given, else the settings' with this sleep."""
        from spotify_tophits.spotify import RetryPolicy

        if self.retry_policy is not None:
            return self.retry_policy
        return RetryPolicy(max_retry_wait=self.settings.max_retry_wait, sleep=self.sleep)

    def retry_budget(self) -> RetryBudget:
        """Return a fresh retry budget for one run: the back-off all its requests share (DESIGN §5)."""
        from spotify_tophits.retry import RetryBudget

        policy = self.policy()
        return RetryBudget(policy.sleep, policy.budget_seconds)

    def open_state(self) -> Store:
        """Open the state DB read-write, migrated (after a pre-migration copy when it is older)."""
        return open_state(self.settings, self.clock())

    def gateway(
        self, store: Store, clock: Callable[[], datetime.datetime], budget: RetryBudget | None = None
    ) -> SpotifyGateway:
        """Return a Spotify gateway that records any long rate-limit wait as `not_before` in the store.

        `budget` is the run's retry budget (a fresh one when None). While the stored `not_before`
        lies ahead, raise RateLimitedError instead (exit 5): no command calls Spotify before it.
        """
        from spotify_tophits.retry import honour_not_before
        from spotify_tophits.spotify import SpotipyGateway

        honour_not_before(store.get_meta("not_before"), clock())

        def remember(not_before: datetime.datetime) -> None:
            store.set_meta("not_before", not_before.isoformat())

        return SpotipyGateway(
            self.settings, self.policy(), on_rate_limited=remember, clock=clock, budget=budget or self.retry_budget()
        )

    def http_session(self) -> requests.Session:
        """Return a plain HTTP session for chart sources."""
        import requests

        return requests.Session()
