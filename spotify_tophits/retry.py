"""One run's retry budget: the back-off every request of the run shares (DESIGN §5).

A service that disappears mid-run (connection refused from then on) must not keep a timer run
going for minutes, request after request each retrying on its own. Every back-off, Spotify's
and the chart sources' alike, is paid from this one budget; when it is spent the run stops at
once with exit 5, naming the service that stopped answering.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping

from spotify_tophits.clock import describe_duration, parse_utc
from spotify_tophits.errors import RateLimitedError, TemporaryError

# Retry-After values above this are treated as this: a server's typo must not park the timer for years.
MAX_RETRY_AFTER = 48 * 3600.0


class RetryBudgetSpent(TemporaryError):
    """The run spent its whole retry budget on a service that kept failing (exit 5)."""


class RetryBudget:
    """The seconds of back-off one run may still sleep, shared by every request it makes."""

    def __init__(self, sleep: Callable[[float], None], seconds: float = 60.0) -> None:
        self.sleep = sleep
        self.seconds = seconds
        self.left = seconds

    def affords(self, seconds: float) -> bool:
        """Return whether a wait of `seconds` still fits in the budget."""
        return seconds <= self.left

    def wait(self, seconds: float, service: str, reason: str) -> None:
        """Sleep `seconds` before retrying `service`; raise RetryBudgetSpent when the budget cannot pay for it."""
        if not self.affords(seconds):
            raise self.spent(service, reason)
        self.left -= seconds
        self.sleep(seconds)

    def spent(self, service: str, reason: str) -> RetryBudgetSpent:
        """Return the error that ends a run whose retries on `service` used up the budget."""
        used = describe_duration(self.seconds - self.left)
        return RetryBudgetSpent(
            f"{service} stopped answering ({reason}); gave up after {used} of retries in this run"
            f" (budget {describe_duration(self.seconds)}); the timer will retry"
        )

    def charged(self, service: str) -> Callable[[float], None]:
        """Return a sleep for code that only knows `sleep(seconds)` (the chart sources), paid from this budget."""

        def sleep(seconds: float) -> None:
            self.wait(seconds, service, "its requests kept failing")

        return sleep


def retry_after_seconds(headers: Mapping[str, str] | None, now_timestamp: float | None = None) -> tuple[float, bool]:
    """Return the wait a Retry-After header asks for, in seconds, and whether it was capped.

    Spotify sends seconds; an HTTP date is understood too. Missing or unreadable means 1 s;
    negative means 0; infinite, not-a-number or above 48 h means 48 h (capped).
    """
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if value is None:
        return 1.0, False
    try:
        seconds = float(value)
    except ValueError:
        try:
            import email.utils  # with socket: only a Retry-After in date form needs it

            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return 1.0, False
        if now_timestamp is None or moment.tzinfo is None:
            return 1.0, False
        seconds = moment.timestamp() - now_timestamp
    if math.isnan(seconds) or seconds > MAX_RETRY_AFTER:
        return MAX_RETRY_AFTER, True
    return max(0.0, seconds), False


def spotify_wait(not_before: str | None, now: datetime.datetime) -> str | None:
    """Return why Spotify may not be called yet ("Spotify asked us to wait: ..."), or None when it may."""
    if not not_before:
        return None
    moment = parse_utc(not_before)
    if moment <= now:
        return None
    return (
        f"Spotify asked us to wait: retry after {describe_duration((moment - now).total_seconds())} (not before"
        f" {moment:%Y-%m-%d %H:%M} UTC); the timer will try again"
    )


def honour_not_before(not_before: str | None, now: datetime.datetime) -> str | None:
    """Raise RateLimitedError (exit 5, no request made) while Spotify's `not_before` lies ahead; else return it.

    Every command that calls Spotify asks this first (DESIGN §5), through `Services.gateway`: a
    long 429 is answered by waiting, never by a request that would only extend the lock-out.
    """
    wait = spotify_wait(not_before, now)
    if wait is not None:
        raise RateLimitedError(wait)
    return not_before
