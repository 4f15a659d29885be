"""Fault injection for the emulator: 429s with any Retry-After, 5xx bursts, flaky services, dropped
connections (before or after the request takes effect) and slow answers, on requests matching a
method and a path regex."""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from collections import Counter
from typing import Any

__all__ = ["Fault", "FaultInjection"]


@dataclasses.dataclass
class Fault:
    """One injected fault: requests matching method and path (a regex) get `action` `times` times."""

    method: str
    path: str
    action: str  # "status", "drop" or "delay"
    status: int = 500
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: Any = None
    times: int = 1
    skip: int = 0
    delay: float = 0.0
    # A flaky service: every `pass_every`-th matching request goes through untouched (0: none does).
    pass_every: int = 0
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in (method, "*") and re.fullmatch(self.path, path) is not None


class FaultInjection:
    """The emulator's test controls for faults; `_take_fault` is asked once per request."""

    lock: threading.RLock
    faults: list[Fault]
    # Random faults: (share of matching requests, path regex, seeded generator); see `inject_random`.
    random_faults: tuple[float, str, random.Random] | None = None
    random_taken: Counter[str]

    def inject_random(self, share: float, path: str = r"/v1/.*", *, seed: int = 0) -> None:
        """From now on, fail `share` of the requests matching path at random (seeded, so a test repeats).

        Each is a 500 or a 503, a connection dropped before the request is applied, or one dropped
        after it was applied (the answer lost). `share` 0 stops it; `random_taken` counts each kind.
        """
        with self.lock:
            self.random_faults = (share, path, random.Random(seed)) if share else None  # noqa: S311 - a repeatable test
            self.random_taken = Counter()

    def inject(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
        skip: int = 0,
        pass_every: int = 0,
    ) -> Fault:
        """Answer the next `times` requests matching method and path (a regex) with a status.

        With `pass_every`, every pass_every-th matching request is answered normally instead: a
        service that fails most attempts but not all, so each request succeeds after retries.
        """
        fault = Fault(method, path, "status", status, headers or {}, body, times, skip, pass_every=pass_every)
        with self.lock:
            self.faults.append(fault)
        return fault

    def inject_rate_limit(self, path: str, retry_after: int, *, quota: bool = False, times: int = 1) -> Fault:
        """Answer matching requests with 429 and Retry-After (QUOTA_EXCEEDED when quota is set)."""
        error: dict[str, Any] = {"status": 429, "message": "Too many requests"}
        if quota:
            error["reason"] = "QUOTA_EXCEEDED"
        return self.inject(
            "*", path, status=429, headers={"Retry-After": str(retry_after)}, body={"error": error}, times=times
        )

    def inject_drop(
        self, method: str, path: str, *, times: int = 1, skip: int = 0, after_applying: bool = False
    ) -> Fault:
        """Close the connection without answering (after letting `skip` matching requests through).

        With `after_applying`, the request takes effect first and only the answer is lost: the
        case that makes a blind retry of a POST duplicate tracks.
        """
        fault = Fault(method, path, "drop-after" if after_applying else "drop", times=times, skip=skip)
        with self.lock:
            self.faults.append(fault)
        return fault

    def inject_delay(self, method: str, path: str, seconds: float, *, times: int = 1) -> Fault:
        fault = Fault(method, path, "delay", times=times, delay=seconds)
        with self.lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            if self.random_faults is not None and not any(
                fault.times > 0 and fault.matches(method, path) for fault in self.faults
            ):
                share, pattern, generator = self.random_faults
                if re.fullmatch(pattern, path) and generator.random() < share:
                    kind = generator.choice(("500", "503", "drop", "drop-after"))
                    self.random_taken[kind] += 1
                    if kind.startswith("drop"):
                        return Fault(method, path, kind)
                    return Fault(method, path, "status", int(kind))
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.pass_every:
                        fault.seen += 1
                        if fault.seen % fault.pass_every == 0:
                            continue
                    fault.times -= 1
                    return fault
        return None
