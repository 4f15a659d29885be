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
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from spotify_tophits import health
from spotify_tophits.config import Channel, Settings
from spotify_tophits.errors import ExitCode, TophitsError

logger = logging.getLogger(__name__)
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


def _payload(message: Message) -> dict[str, Any]:
    return {
        "source": "tophits",
        "host": socket.gethostname(),
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "severity": message.severity,
        "title": message.title,
        "message": message.body,
        "findings": [dataclasses.asdict(finding) for finding in message.findings],
    }


def _label(channel: Channel, index: int) -> str:
    return f"{channel.kind} channel {index + 1}"


def _send_one(channel: Channel, message: Message) -> None:
    if channel.kind == "webhook":
        import requests

        response = requests.post(channel.url, json=_payload(message), timeout=TIMEOUT)
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


def send(settings: Settings, message: Message) -> Delivery:
    """Send message to every channel that takes its severity. Never raises; failures are logged and returned."""
    delivery = Delivery()
    for index, channel in enumerate(settings.notify.channels):
        if message.severity not in channel.severities:
            continue
        label = _label(channel, index)
        try:
            _send_one(channel, message)
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
    """Ping start / success / fail around a job and refresh the metrics file afterwards."""
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
        from spotify_tophits.metrics import write_metrics

        write_metrics(settings)


def unit_result(unit: str) -> tuple[str, int | None, str]:
    """Return (Result, ExecMainStatus, journal tail) of a systemd unit; unknowns as empty/None."""
    result, status, tail = "", None, ""
    scopes: Sequence[Sequence[str]] = (("systemctl",), ("systemctl", "--user"))
    for systemctl in scopes:
        try:
            shown = subprocess.run(
                [*systemctl, "show", unit, "-p", "Result,ExecMainStatus"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        properties = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
        if properties.get("ExecMainStatus", "0") not in ("", "0") or properties.get("Result", "success") != "success":
            result = properties.get("Result", "")
            status = int(properties["ExecMainStatus"]) if properties.get("ExecMainStatus", "").isdigit() else None
            journal = [
                "journalctl",
                *(("--user",) if "--user" in systemctl else ()),
                "-u",
                unit,
                "-n",
                "15",
                "-o",
                "cat",
                "--no-pager",
            ]
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                tail = subprocess.run(journal, capture_output=True, text=True, timeout=5, check=False).stdout
            break
    return result, status, tail


def failed_unit_message(settings: Settings, unit: str, status: int | None, result: str, tail: str) -> Message:
    """Compose the alert for a failed unit: what failed, why in words, the last error, and the fix."""
    from spotify_tophits.store import open_reader

    meaning, fix = EXIT_MEANINGS.get(status or 0, ("an unexpected failure", "journalctl -u {unit} -n 50"))
    severity = health.CRITICAL if status != ExitCode.TEMPORARY else health.WARNING
    findings: list[health.Finding] = []
    last_error = ""
    try:
        store = open_reader(settings.paths.state_db)
        try:
            runs = store.recent_runs(20)
        finally:
            store.close()
        findings = health.run_findings(runs)
        if runs and runs[0].get("summary", {}).get("error"):
            last_error = runs[0]["summary"]["error"]
    except TophitsError:
        pass  # no readable state: the message still says what failed and how to fix it
    if any(finding.severity == health.CRITICAL for finding in findings):
        severity = health.CRITICAL
    code = f"exit {status}" if status is not None else (result or "failed")
    lines = [f"{unit} failed ({code}: {meaning})."]
    if last_error:
        lines.append(f"Last error: {last_error}")
    elif tail.strip():
        lines.append("Last log lines:\n" + "\n".join(tail.strip().splitlines()[-5:]))
    lines.append(f"Fix: {fix.format(unit=unit)}")
    return Message(severity, f"tophits: {unit} failed", "\n".join(lines), tuple(findings))


def notify_findings(
    settings: Settings, checks: Sequence[Any], today: datetime.date, memory: Path | None = None
) -> Delivery:
    """Send doctor's ✗ (critical) and ! (warning) lines with their fixes, each at most once a day.

    `checks` are doctor checks (category, level, message, fix). What was sent today is remembered
    in `notified.json` in the state directory, so a lasting problem is not repeated until tomorrow.
    """
    import json

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
        result = send(
            settings, Message(severity, f"tophits doctor: {len(fresh)} {severity} finding(s)", body, findings)
        )
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
