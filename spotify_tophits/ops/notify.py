"""Notifications and dead-man's-switch pings. A failing notification never fails the job it reports on.

Channels are routed by severity (critical, warning, info). A `webhook` channel gets a JSON POST
and needs nothing extra; an `apprise` channel (Slack, e-mail, ntfy, Telegram, SMS gateways, ...)
needs the optional extra `spotify-tophits[notify]`. Pings follow healthchecks.io's convention:
`<url>/start` when a job starts, `<url>` on success, `<url>/fail` with a short log on failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from spotify_tophits.config import Channel, Settings
from spotify_tophits.config.notify import SEVERITIES
from spotify_tophits.errors import ConfigError, ExitCode, TophitsError, UsageError
from spotify_tophits.ops import health

if TYPE_CHECKING:
    from spotify_tophits.actions.update import UpdateResult

logger = logging.getLogger(__name__)
T = TypeVar("T")
TIMEOUT = 10
EXIT_MEANINGS = {
    1: ("an internal error (a bug)", "journalctl -u {unit} -n 50, then report it"),
    2: ("a usage error in the unit's command line", "tophits systemd install (re-renders the units)"),
    3: ("configuration or credentials missing or invalid", "tophits doctor"),
    4: ("Spotify authorisation needed", "tophits auth"),
    5: (
        "a temporary problem (network, rate limit, source down, lock held)",
        "nothing: the timer retries; see tophits status",
    ),
    6: (
        "a data-safety refusal (corrupt state, unsafe archive, or a list that would shrink a playlist)",
        "tophits doctor",
    ),
}


@dataclasses.dataclass(frozen=True)
class Message:
    """One notification."""

    severity: str
    title: str
    body: str
    findings: tuple[health.Finding, ...] = ()


@dataclasses.dataclass
class Delivery:
    """What sending did: channels reached and channels that failed (with the reason, never the URL)."""

    sent: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)


def _payload(message: Message, now: datetime.datetime) -> dict[str, Any]:
    return {
        "source": "tophits",
        "host": socket.gethostname(),
        "time": now.astimezone(datetime.UTC).isoformat(timespec="seconds"),
        "severity": message.severity,
        "title": message.title,
        "message": message.body,
        "findings": [dataclasses.asdict(finding) for finding in message.findings],
    }


def _label(channel: Channel, index: int) -> str:
    return f"{channel.kind} channel {index + 1}"


def _send_one(channel: Channel, message: Message, now: datetime.datetime) -> None:
    if channel.kind == "webhook":
        import requests

        response = requests.post(channel.url, json=_payload(message, now), timeout=TIMEOUT)
        if response.status_code >= 300:
            raise RuntimeError(f"HTTP {response.status_code}")
        return
    try:
        import apprise  # type: ignore[import-not-found]
    except ImportError:
        raise RuntimeError("Apprise is not installed; pip install 'spotify-tophits[notify]'") from None
    sender = apprise.Apprise()
    if not sender.add(channel.url):
        raise RuntimeError("Apprise does not understand the URL")
    if not sender.notify(title=message.title, body=message.body):
        raise RuntimeError("Apprise reported a failed delivery")


def send(settings: Settings, message: Message, now: datetime.datetime) -> Delivery:
    """Send message (dated `now`) to every channel that takes its severity. Never raises; failures are logged
    and returned."""
    delivery = Delivery()
    if settings.paths.profile:  # one household, several accounts: say whose playlists this is about
        message = dataclasses.replace(
            message, title=message.title.replace("tophits", f"tophits ({settings.paths.profile})", 1)
        )
    for index, channel in enumerate(settings.notify.channels):
        if message.severity not in channel.severities:
            continue
        label = _label(channel, index)
        try:
            _send_one(channel, message, now)
        except Exception as error:  # noqa: BLE001 - a dead channel must not fail the job
            reason = f"{label}: {type(error).__name__}: {error}"
            logger.warning("notification not delivered (%s)", reason)
            delivery.failed.append(reason)
        else:
            delivery.sent.append(label)
    return delivery


def ping(settings: Settings, job: str, event: str, log: str = "") -> bool:
    """Ping the job's dead-man's-switch URL: event is start, success or fail. Never raises."""
    base = settings.notify.ping.get(job)
    if not base:
        return False
    import requests

    url = base + {"start": "/start", "success": "", "fail": "/fail"}[event]
    try:
        response = requests.post(url, data=log[-10000:].encode("utf-8"), timeout=TIMEOUT)
    except requests.RequestException as error:
        logger.warning("dead-man's-switch ping for %s failed (%s)", job, type(error).__name__)
        return False
    if response.status_code >= 300:
        logger.warning("dead-man's-switch ping for %s answered HTTP %s", job, response.status_code)
        return False
    return True


@contextlib.contextmanager
def job_hooks(settings: Settings, job: str) -> Iterator[None]:
    """Keep the channels that loaded, ping start / success / fail around a job, refresh the metrics file after."""
    from spotify_tophits.ops.fallback import remember

    remember(settings)
    ping(settings, job, "start")
    try:
        yield
    except TophitsError as error:
        ping(settings, job, "fail", f"exit {int(error.exit_code)}: {error.message}")
        raise
    except BaseException as error:
        ping(settings, job, "fail", f"{type(error).__name__}")
        raise
    else:
        ping(settings, job, "success")
    finally:
        from spotify_tophits.ops.metrics import write_metrics

        write_metrics(settings)


def run_job(settings: Settings, job: str, action: Callable[[], T]) -> T:
    """Run one job (update, backup) inside its hooks: pings around it, the metrics file after it."""
    with job_hooks(settings, job):
        return action()


def update_summary(result: UpdateResult) -> Message:
    """Return the info message after an update: one line per playlist, the match rate, the warnings."""
    lines = [f"{o.name}: {o.tracks}/{o.size} tracks, +{o.added} -{o.removed}, {o.status}" for o in result.playlists]
    rate = "-" if result.match_rate is None else f"{result.match_rate:.0%}"
    lines.append(
        f"match rate {rate}, {len(result.unmatched)} unmatched, {result.requests.get('total', 0)} Spotify requests"
    )
    body = "\n".join(lines + [f"warning: {warning}" for warning in result.warnings])
    return Message("info", "tophits: playlists updated", body)


# The run record each unit writes (the command name in the runs table); other units write none.
UNIT_COMMANDS = {"tophits-update.service": "update"}


def matching_run(
    runs: Sequence[dict[str, Any]],
    unit: str,
    status: int | None,
    started: datetime.datetime | None,
    invocation: str = "",
) -> dict[str, Any] | None:
    """Return the run record of this failure: the unit's command and exit code, from this invocation.

    A run that failed before it recorded anything (no token: exit 4) must not be explained by an
    older run's error. The invocation id decides when both sides have one; otherwise the record must
    have started no earlier than the unit's process (records keep whole seconds, so the second counts).
    """
    command = UNIT_COMMANDS.get(unit)
    if command is None or status is None or started is None:
        return None
    newest = next((run for run in runs if run.get("command") == command), None)
    if newest is None or newest.get("exit_code") != status:
        return None
    recorded = newest.get("summary", {}).get("invocation", "")
    if recorded and invocation:
        return newest if recorded == invocation else None
    from spotify_tophits.clock import parse_utc

    if parse_utc(newest["started_at"]) < started.replace(microsecond=0):
        return None
    return newest


def failed_unit_message(
    settings: Settings,
    unit: str,
    status: int | None,
    result: str,
    tail: str,
    started: datetime.datetime | None = None,
    invocation: str = "",
) -> Message:
    """Compose the alert for a failed unit: what failed, why in words, this failure's error or log, and the fix."""
    from spotify_tophits.store import open_reader

    meaning, fix = EXIT_MEANINGS.get(status or 0, ("an unexpected failure", "journalctl -u {unit} -n 50"))
    severity = health.CRITICAL if status != ExitCode.TEMPORARY else health.WARNING
    findings: list[health.Finding] = []
    runs: list[dict[str, Any]] = []
    try:
        store = open_reader(settings.paths.state_db)
        try:
            runs = store.recent_runs(20)
        finally:
            store.close()
        findings = health.run_findings(runs)
    except TophitsError:
        pass  # no readable state: the message still says what failed and how to fix it
    if any(finding.severity == health.CRITICAL for finding in findings):
        severity = health.CRITICAL
    code = f"exit {status}" if status is not None else (result or "failed")
    lines = [f"{unit} failed ({code}: {meaning})."]
    record = matching_run(runs, unit, status, started, invocation)
    last_error = (record or {}).get("summary", {}).get("error", "")
    if last_error:
        lines.append(f"Last error: {last_error}")
    else:
        if record is None and unit in UNIT_COMMANDS:
            lines.append("No run record for this failure (it failed before recording one).")
        if tail.strip():
            lines.append("Last log lines:\n" + "\n".join(tail.strip().splitlines()[-5:]))
    lines.append(f"Fix: {fix.format(unit=unit)}")
    return Message(severity, f"tophits: {unit} failed", "\n".join(lines), tuple(findings))


def test_messages() -> list[Message]:
    """Return one test message per severity, for `tophits notify --test`."""
    return [
        Message(severity, f"tophits: test ({severity})", f"A test {severity} notification from tophits.")
        for severity in SEVERITIES
    ]


def failed_unit_alert(settings: Settings, unit: str, manager: str | None = None) -> Message:
    """Return the alert for a systemd unit that failed, from what its manager (system or user; None: ask
    both) and the run records say."""
    from spotify_tophits.ops.scheduler import SCOPES, unit_result

    if manager is not None and manager not in SCOPES:
        raise UsageError(f"--manager {manager!r}: give system or user")
    ended = unit_result(unit, (manager,) if manager else ("system", "user"))
    return failed_unit_message(settings, unit, ended.status, ended.result, ended.tail, ended.started, ended.invocation)


def notifications(settings: Settings, failed_unit: str | None, test: bool, manager: str | None = None) -> list[Message]:
    """Return what `tophits notify` sends: test messages, or the alert for a failed unit.

    Raise UsageError when neither is asked for, ConfigError when there is no channel to send to.
    """
    if not test and not failed_unit:
        raise UsageError("give --failed-unit UNIT or --test")
    messages = test_messages() if test else [failed_unit_alert(settings, str(failed_unit), manager)]
    if not settings.notify.channels:
        raise ConfigError("no notification channels in config.toml ([[notify.channels]])")
    return messages


def notify_findings(
    settings: Settings, checks: Sequence[Any], now: datetime.datetime, memory: Path | None = None
) -> Delivery:
    """Send doctor's ✗ (critical) and ! (warning) lines with their fixes, each at most once a day.

    `checks` are doctor checks (category, level, message, fix). What was sent today (in the configured
    time zone) is remembered in `notified.json` in the state directory, so a lasting problem is not
    repeated until tomorrow.
    """
    import json

    today = now.astimezone(settings.zone).date()
    memory = memory or settings.paths.state_dir / "notified.json"
    try:
        sent_before: dict[str, str] = json.loads(memory.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        sent_before = {}
    delivery = Delivery()
    remembered = {key: day for key, day in sent_before.items() if day == today.isoformat()}
    for level, severity, mark in (("error", health.CRITICAL, "✗"), ("warning", health.WARNING, "!")):
        fresh = [
            check for check in checks if check.level == level and f"{check.category}|{check.message}" not in remembered
        ]
        if not fresh:
            continue
        body = "\n".join(f"{mark} {check.category}: {check.message}\n    fix: {check.fix}" for check in fresh)
        findings = tuple(health.Finding(severity, check.category, check.message, check.fix or "") for check in fresh)
        message = Message(severity, f"tophits doctor: {len(fresh)} {severity} finding(s)", body, findings)
        result = send(settings, message, now)
        delivery.sent += result.sent
        delivery.failed += result.failed
        if result.sent:
            remembered.update({f"{check.category}|{check.message}": today.isoformat() for check in fresh})
    from spotify_tophits.files import write_atomically

    try:
        write_atomically(memory, json.dumps(remembered, indent=1, sort_keys=True).encode("utf-8"))
    except OSError as error:
        logger.warning("could not remember sent notifications (%s)", error)
    return delivery
