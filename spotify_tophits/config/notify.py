"""The `[notify]` and `[metrics]` settings: alert channels by severity, dead-man's-switch pings, the textfile."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from spotify_tophits.config.reader import TableReader

SEVERITIES = ("critical", "warning", "info")
PING_JOBS = ("update", "backup")


@dataclasses.dataclass(frozen=True)
class Channel:
    """One notification channel: a generic JSON webhook or an Apprise URL, and the severities it gets."""

    kind: str  # "webhook" or "apprise"
    url: str = dataclasses.field(repr=False)  # may embed a token (Slack, Telegram, ...)
    severities: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class NotifySettings:
    """Where alerts go, and the optional dead-man's-switch ping URLs (healthchecks-style)."""

    channels: tuple[Channel, ...]
    ping: Mapping[str, str] = dataclasses.field(repr=False)  # job ("update", "backup") -> base URL
    metrics_textfile: Path | None


def _parse_channel(reader: TableReader, index: int, raw: object) -> Channel:
    if not isinstance(raw, dict):
        raise reader.fail(f"channels[{index}]", raw, "must be a table with webhook or apprise")
    channel = TableReader(raw, reader.where, f"notify.channels[{index}].")
    channel.check_keys({"webhook", "apprise", "severities"})
    kinds = [kind for kind in ("webhook", "apprise") if kind in raw]
    if len(kinds) != 1:
        raise channel.fail(
            "webhook", raw.get("webhook"), '- give exactly one of webhook = "https://..." or apprise = "..."'
        )
    url = channel.get(kinds[0], str, "")
    if kinds[0] == "webhook" and not url.startswith(("http://", "https://")):
        raise channel.fail("webhook", "<hidden>", "must be an http(s) URL")
    severities = raw.get("severities", ["critical", "warning"])
    if not isinstance(severities, list) or not severities or any(s not in SEVERITIES for s in severities):
        raise channel.fail("severities", severities, 'must list some of "critical", "warning", "info"')
    return Channel(kinds[0], url, tuple(severities))


def parse_notify(reader: TableReader, metrics: TableReader) -> NotifySettings:
    """Return the notification settings from the `[notify]` and `[metrics]` tables."""
    reader.check_keys({"channels", *(f"ping_{job}" for job in PING_JOBS)})
    raw_channels = reader.table.get("channels", [])
    if not isinstance(raw_channels, list):
        raise reader.fail("channels", raw_channels, "must be an array of tables ([[notify.channels]])")
    channels = tuple(_parse_channel(reader, index, raw) for index, raw in enumerate(raw_channels))
    ping = {}
    for job in PING_JOBS:
        url = reader.get(f"ping_{job}", str, "")
        if url and not url.startswith(("http://", "https://")):
            raise reader.fail(f"ping_{job}", "<hidden>", "must be an http(s) URL, e.g. https://hc-ping.com/<uuid>")
        if url:
            ping[job] = url.rstrip("/")
    metrics.check_keys({"textfile"})
    textfile = metrics.get("textfile", str, "")
    return NotifySettings(channels, ping, Path(textfile) if textfile else None)
