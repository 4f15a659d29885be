"""What every chart source shares: the protocol, row validation, Deezer-style pacing and a JSON GET.

Validation (shape, minimum row count) happens here so a broken or empty feed can never empty a
playlist downstream.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.errors import SourceError

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)
USER_AGENT = "tophits/0.1 (+https://github.com/; self-hosted playlist bot)"
ATTEMPTS = 3


class ChartSource(Protocol):
    """What every source offers: a stable name, the chart it reads, and a fetch."""

    name: str
    chart_id: str

    def fetch(self, today: datetime.date) -> Chart: ...

    def probe(self) -> int:
        """Check the source is reachable and answers in a valid shape; return its row count. Cheap."""
        ...


def capped(chart: Chart, cap: int) -> Chart:
    """Return the chart cut to its best `cap` rows (rows are sorted by rank), so one search per row stays bounded."""
    if len(chart.rows) <= cap:
        return chart
    logger.info("%s: chart has %d rows; kept the best %d ([chart_rows] sets this)", chart.source, len(chart.rows), cap)
    return dataclasses.replace(chart, rows=chart.rows[:cap])


def validate_rows(source: str, rows: list[ChartRow], minimum: int) -> tuple[ChartRow, ...]:
    """Return rows sorted by rank, or raise SourceError if the chart is too short or ranks repeat."""
    if len(rows) < minimum:
        raise SourceError(f"{source}: chart has {len(rows)} rows, fewer than the minimum {minimum}; skipped")
    ranks = [row.rank for row in rows]
    if len(set(ranks)) != len(ranks) or min(ranks) < 1:
        raise SourceError(f"{source}: chart ranks are repeated or not positive; skipped")
    return tuple(sorted(rows, key=lambda row: row.rank))


class Pacer:
    """Keep at most `requests` requests inside any `seconds` window (Deezer allows 50 per 5 s per IP)."""

    def __init__(
        self,
        requests: int,
        seconds: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests = requests
        self.seconds = seconds
        self.sleep = sleep
        self.clock = clock
        self.sent: deque[float] = deque()

    def wait(self) -> None:
        """Block until one more request fits in the window, then count it."""
        now = self.clock()
        while self.sent and now - self.sent[0] >= self.seconds:
            self.sent.popleft()
        if len(self.sent) >= self.requests:
            self.sleep(self.seconds - (now - self.sent[0]))
            self.sent.popleft()
        self.sent.append(self.clock())


def get_json(
    session: requests.Session,
    source: str,
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    sleep: Callable[[float], None],
) -> Any:
    """GET url and return its JSON, raising SourceError for network trouble, HTTP errors or non-JSON.

    Network errors and 5xx are tried three times in all, `sleep` (the services' sleep) waiting 0.2 s, then 0.4 s.
    """
    import requests

    last_error = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(0.2 * 2 ** (attempt - 1))
        try:
            response = session.get(url, params=params, timeout=15, headers={"User-Agent": USER_AGENT})
        except requests.RequestException as error:
            last_error = type(error).__name__
            continue
        if response.status_code >= 500:
            last_error = f"HTTP {response.status_code}"
            continue
        if response.status_code != 200:
            raise SourceError(f"{source}: {url} answered HTTP {response.status_code}; skipped")
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"{source}: {url} did not return JSON (the feed may have moved); skipped") from None
    raise SourceError(f"{source}: {url} unreachable ({last_error}); skipped")
