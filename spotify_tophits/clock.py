"""Time helpers: one place that reads the wall clock, and durations in words."""

from __future__ import annotations

import datetime


def utc_now() -> datetime.datetime:
    """Return the current time in UTC: the default clock of `Services`; actions take the clock they are given."""
    return datetime.datetime.now(datetime.UTC)


def describe_duration(seconds: float) -> str:
    """Given a duration in seconds, return it in words a person reads at a glance: '13 h 53 min'."""
    seconds = max(0, round(seconds))
    days, remainder = divmod(seconds, 86400)
    hours, remainder = divmod(remainder, 3600)
    minutes, seconds = divmod(remainder, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    if not days and not hours:
        parts.append(f"{seconds} s" if seconds or not minutes else "")
    return " ".join(part for part in parts if part) or "0 s"


def parse_utc(text: str) -> datetime.datetime:
    """Parse an ISO timestamp written by tophits (always with an offset) into an aware datetime."""
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
