"""Fault injection for the emulator: 429s with any Retry-After, 5xx bursts, flaky services, dropped
connections (before or after the request takes effect) and slow answers, on requests matching a
method and a path regex."""

from __future__ import annotations

import dataclasses
import re
import threading
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
