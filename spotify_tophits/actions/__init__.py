"""Actions: one short story per command. They take their collaborators and return results; they never print."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from spotify_tophits.clock import utc_now

if TYPE_CHECKING:
    import requests

    from spotify_tophits.config import Settings
    from spotify_tophits.spotify import RetryPolicy, SpotifyGateway
    from spotify_tophits.store import Store


def open_state(settings: Settings) -> Store:
    """Open the state DB; before migrating an older schema, archive it as a pre-migration copy."""
    from spotify_tophits.actions.backup import pre_migration_copy
    from spotify_tophits.store import open_store

    return open_store(settings.paths.state_db, pre_migration=lambda path: pre_migration_copy(settings, path))


@dataclasses.dataclass
class Services:
    """What an action needs from the outside world, built by the CLI or by a test."""

    settings: Settings
    retry_policy: RetryPolicy | None = None
    clock: Callable[[], datetime.datetime] = utc_now

    def gateway(self, store: Store, clock: Callable[[], datetime.datetime]) -> SpotifyGateway:
        """Return a Spotify gateway that records any long rate-limit wait as `not_before` in the store."""
        from spotify_tophits.spotify import SpotipyGateway

        def remember(not_before: datetime.datetime) -> None:
            store.set_meta("not_before", not_before.isoformat())

        return SpotipyGateway(self.settings, self.retry_policy, on_rate_limited=remember, clock=clock)

    def http_session(self) -> requests.Session:
        """Return a plain HTTP session for chart sources."""
        import requests

        return requests.Session()
