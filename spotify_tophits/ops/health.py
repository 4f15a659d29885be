"""Findings derived from local state: what `status` alerts on and what `doctor` reports.

Pure functions of the data they are given and the time passed in, so the same rule speaks the
same way in `status`, `status --check`, `doctor` and notifications.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from spotify_tophits import ranking
from spotify_tophits.clock import describe_duration, parse_utc
from spotify_tophits.store import ManagedPlaylist, PlaylistState, RunResult


class Severity(enum.StrEnum):
    """How urgently a finding needs a person; OK is the level when nothing does."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


CRITICAL = Severity.CRITICAL
WARNING = Severity.WARNING
# How often each playlist is expected to change; stale beyond twice that.
CADENCE = {
    "daily": datetime.timedelta(days=1),
    "weekly": datetime.timedelta(days=7),
    "monthly": datetime.timedelta(days=1),
    "yearly": datetime.timedelta(days=1),
}
FAILED_RUNS_WARNING = 2
FAILED_RUNS_CRITICAL = 3
SOURCE_BROKEN_RUNS = 3
MATCH_RATE_DROP = 0.20
TOKEN_WARNING_DAYS = 30
TOKEN_CRITICAL_DAYS = 7


@dataclasses.dataclass(frozen=True)
class Finding:
    """Something that needs a person, with the exact fix."""

    severity: Severity
    code: str
    message: str
    fix: str


def token_findings(expires_at: datetime.datetime | None, present: bool, now: datetime.datetime) -> list[Finding]:
    """Refresh tokens die 6 months after authorisation: warn 30 days before, critical 7 days before."""
    if not present:
        return [Finding(CRITICAL, "auth-missing", "no Spotify authorisation", "tophits auth")]
    if expires_at is None:
        return []
    left = expires_at - now
    if left <= datetime.timedelta(0):
        return [
            Finding(CRITICAL, "auth-expired", f"the refresh token expired on {expires_at:%Y-%m-%d}", "tophits auth")
        ]
    if left < datetime.timedelta(days=TOKEN_CRITICAL_DAYS):
        return [
            Finding(
                CRITICAL,
                "auth-expiring",
                f"the refresh token expires in {describe_duration(left.total_seconds())}",
                "tophits auth",
            )
        ]
    if left < datetime.timedelta(days=TOKEN_WARNING_DAYS):
        return [
            Finding(
                WARNING,
                "auth-expiring",
                f"the refresh token expires in {left.days} days ({expires_at:%Y-%m-%d})",
                "tophits auth",
            )
        ]
    return []


def playlist_findings(
    records: Iterable[ManagedPlaylist],
    enabled: Iterable[str],
    now: datetime.datetime,
    today: datetime.date,
    kept: Iterable[str] = (),
) -> list[Finding]:
    """Stale playlists and rollovers that should have happened.

    `kept`: keys the latest update left as they were because their window had no chart days
    (`kept_playlists`); run_findings warns about those, so they are not also called stale.
    """
    findings = []
    wanted = set(enabled)
    without_data = set(kept)
    for record in records:
        if record.key not in wanted:
            continue
        if (
            record.status == PlaylistState.ACTIVE
            and record.key in ranking.PERIODIC
            and record.period < ranking.period_of(record.key, today)
        ):
            findings.append(
                Finding(
                    WARNING,
                    "rollover-pending",
                    f"{record.name} belongs to {record.period} and was not finalised yet",
                    "tophits update",
                )
            )
            continue
        if record.status != PlaylistState.ACTIVE or not record.updated_at or record.key in without_data:
            continue
        age = now - parse_utc(record.updated_at)
        if age > 2 * CADENCE[record.key]:
            findings.append(
                Finding(
                    CRITICAL,
                    "playlist-stale",
                    f"{record.name} last changed {describe_duration(age.total_seconds())} ago",
                    "tophits update -v",
                )
            )
    return findings


def finished_updates(runs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Return the update runs that have finished (however they ended), in the order given."""
    return [run for run in runs if run.get("command") == "update" and run.get("result") != RunResult.RUNNING]


def kept_playlists(runs: Iterable[Mapping[str, Any]]) -> set[str]:
    """Given runs newest first, return the keys the latest finished update kept for lack of chart days."""
    updates = finished_updates(runs)
    latest = next(iter(updates), None)
    outcomes = (latest.get("summary") or {}).get("playlists") or [] if latest else []
    return {
        outcome["key"]
        for outcome in outcomes
        if isinstance(outcome, Mapping) and outcome.get("status") == "kept" and "key" in outcome
    }


def consecutive_failures(runs: Iterable[Mapping[str, Any]]) -> int:
    """Given runs newest first, return how many finished updates failed since the last one that succeeded."""
    failed = 0
    for run in finished_updates(runs):
        if RunResult(run["result"]).succeeded:
            break
        failed += 1
    return failed


def run_findings(runs: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Consecutive failed runs, and a source whose match rate dropped. runs: newest first."""
    findings = []
    updates = finished_updates(runs)
    failed = consecutive_failures(updates)
    if failed >= FAILED_RUNS_WARNING:
        severity = CRITICAL if failed >= FAILED_RUNS_CRITICAL else WARNING
        last_error = (updates[0].get("summary") or {}).get("error", "see `journalctl -u tophits-update`")
        findings.append(
            Finding(
                severity,
                "runs-failing",
                f"the last {failed} updates failed; last error: {last_error}",
                "tophits doctor",
            )
        )
    latest = (updates[0].get("summary") or {}).get("playlists") or [] if updates else []
    for outcome in latest:
        # A window without chart days (tophits was not running) kept its playlist: worth knowing, not an alarm.
        if isinstance(outcome, Mapping) and outcome.get("status") == "kept":
            findings.append(
                Finding(
                    WARNING,
                    "window-without-data",
                    f"{outcome.get('name')}: {outcome.get('message')}",
                    "nothing to do: the next window with chart days updates it",
                )
            )
    for source, rates in _source_match_rates(updates).items():
        if len(rates) < 3:
            continue
        latest, earlier = rates[0], rates[1:8]
        average = sum(earlier) / len(earlier)
        if average - latest > MATCH_RATE_DROP:
            findings.append(
                Finding(
                    WARNING,
                    "match-rate-drop",
                    f"{source}: match rate fell to {latest:.0%} from a 7-run average of {average:.0%}",
                    "tophits update -v (lists the unmatched rows)",
                )
            )
    return findings


def _source_match_rates(updates: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Return each source's match rate per run that fetched it, newest first."""
    rates: dict[str, list[float]] = {}
    for run in updates:
        for report in (run.get("summary") or {}).get("sources", []):
            if report.get("status") == "fetched" and report.get("rows"):
                rates.setdefault(report["name"], []).append(report["matched"] / report["rows"])
    return rates


def source_findings(records: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """A source that failed SOURCE_BROKEN_RUNS times in a row is broken (it is still tried every run)."""
    return [
        Finding(
            WARNING,
            "source-broken",
            f"source {record['source']} has failed {record['consecutive_failures']} times in a row"
            f" (last: {record['last_error']})",
            "tophits doctor (checks each source); it is still tried every run",
        )
        for record in records
        if record["consecutive_failures"] >= SOURCE_BROKEN_RUNS
    ]


def backup_findings(newest: datetime.datetime | None, now: datetime.datetime, max_age_hours: int) -> list[Finding]:
    """No backup, or the newest older than the policy allows."""
    if newest is None:
        return [Finding(WARNING, "backup-missing", "no backup archive yet", "tophits backup")]
    age = now - newest
    if age > datetime.timedelta(hours=max_age_hours):
        return [
            Finding(
                WARNING,
                "backup-old",
                f"the newest backup is {describe_duration(age.total_seconds())} old (policy: {max_age_hours} h)",
                "tophits backup",
            )
        ]
    return []


def backoff_findings(not_before: str | None, now: datetime.datetime) -> list[Finding]:
    """Spotify told us to wait: runs before `not_before` will exit 5 without calling it."""
    if not not_before or parse_utc(not_before) <= now:
        return []
    wait = (parse_utc(not_before) - now).total_seconds()
    return [
        Finding(
            WARNING,
            "rate-limited",
            f"Spotify rate limit: backing off for {describe_duration(wait)}"
            f" (until {parse_utc(not_before):%Y-%m-%d %H:%M} UTC)",
            "wait; the timer retries by itself",
        )
    ]


def worst(findings: Iterable[Finding]) -> Severity:
    """Return the most severe level among the findings (OK when there are none)."""
    severities = {finding.severity for finding in findings}
    return CRITICAL if CRITICAL in severities else WARNING if WARNING in severities else Severity.OK
