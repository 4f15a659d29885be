"""Counting every request a run makes: by endpoint and status, with latencies (DESIGN §4's budget).

The counting happens in the HTTP session itself, so requests spotipy makes on its own (token
refreshes included) are counted too.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests


@dataclasses.dataclass
class RequestStats:
    """Per-run request counts and latencies, for the run record and the request budget tests."""

    counts: Counter[str] = dataclasses.field(default_factory=Counter)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    latencies: list[float] = dataclasses.field(default_factory=list)
    rate_limited: int = 0
    retries: int = 0

    def record(self, endpoint: str, status: int | None, seconds: float) -> None:
        """Count one request to endpoint ('METHOD /path'), its status (None: no answer) and latency."""
        self.counts[endpoint] += 1
        if status is not None:
            self.statuses[status] += 1
        self.latencies.append(seconds)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready summary: counts by endpoint, latency percentiles in ms, 429s and retries."""
        return {
            "total": self.total,
            "by_endpoint": dict(sorted(self.counts.items())),
            "by_status": {str(status): count for status, count in sorted(self.statuses.items())},
            "latency_ms": latency_percentiles(self.latencies),
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            # Kept so status can compute percentiles over a week of runs, not averages of averages.
            "latencies_ms": [round(seconds * 1000, 1) for seconds in self.latencies],
        }


def latency_percentiles(latencies: Sequence[float]) -> dict[str, float]:
    """Given latencies in seconds, return p50/p95/p99 in milliseconds (empty when there are none)."""
    if not latencies:
        return {}
    if len(latencies) == 1:
        value = round(latencies[0] * 1000, 1)
        return {"p50": value, "p95": value, "p99": value}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {name: round(cuts[index] * 1000, 1) for name, index in (("p50", 49), ("p95", 94), ("p99", 98))}


_ID_SEGMENT = re.compile(r"/(playlists|tracks|users)/[^/]+")


def endpoint_name(method: str, url: str) -> str:
    """Return 'METHOD /path' with ids replaced by placeholders, e.g. 'PUT /playlists/{id}/items'."""
    path = urllib.parse.urlsplit(url).path
    path = re.sub(r"^.*?/v1(?=/)", "", path)
    path = _ID_SEGMENT.sub(lambda match: f"/{match.group(1)}/{{id}}", path)
    return f"{method} {path.rstrip('/') or '/'}"


def make_session(stats: RequestStats, timeout: float = 10.0) -> requests.Session:
    """Return a requests session without urllib3 retries that records every request in stats."""
    import requests

    class CountingSession(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", timeout)
            started = time.monotonic()
            status: int | None = None
            try:
                response = super().send(request, **kwargs)
                status = response.status_code
                return response
            finally:
                stats.record(endpoint_name(str(request.method), str(request.url)), status, time.monotonic() - started)

    return CountingSession()
