"""`tophits show`: one playlist as a chart, read from local state only (never the network, never spotipy).

What it lists is what was last written to Spotify (the stored entries), with movement against the
previous written version whose contents differ: up, down, same, new, or a re-entry for a track
that was in an earlier version but not the previous one. `--explain` lives in `actions/explain.py`.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re
from typing import TYPE_CHECKING, Any

from spotify_tophits.config import Settings, render_playlist_name
from spotify_tophits.errors import UsageError
from spotify_tophits.ranking import period_bounds
from spotify_tophits.store import Entry, ManagedPlaylist, Store, Version, open_reader

if TYPE_CHECKING:
    from spotify_tophits.actions.explain import Explanation

PLAYLISTS = ("daily", "weekly", "monthly", "yearly")
PERIOD_FORMATS = {
    "monthly": (re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"), "2026-11"),
    "yearly": (re.compile(r"^\d{4}$"), "2026"),
}
CSV_FIELDS = (
    "position",
    "previous_position",
    "movement",
    "title",
    "artists",
    "spotify_id",
    "points",
    "chart_days",
    "peak_position",
    "sources",
    "match_method",
    "match_confidence",
)
NEXT_STEPS = (
    "tophits auth              authorise tophits with your Spotify account",
    "tophits update            fetch the charts and write the playlists",
    "tophits systemd install   run update every day",
)


class Movement(enum.StrEnum):
    """How an entry moved against the previous written version of its playlist."""

    NEW = "new"
    UP = "up"
    DOWN = "down"
    SAME = "same"
    RE_ENTRY = "re-entry"


@dataclasses.dataclass(frozen=True)
class ShowEntry:
    """One row of the chart: the entry as written, its movement and its peak in this playlist's history."""

    position: int
    previous_position: int | None
    movement: Movement
    title: str
    artists: tuple[str, ...]
    spotify_id: str
    points: float | None
    chart_days: int | None
    peak_position: int
    sources: tuple[str, ...]
    match_method: str
    match_confidence: float | None

    @property
    def movement_label(self) -> str:
        """▲3, ▼2, =, NEW or RE."""
        if self.movement == Movement.UP:
            return f"▲{(self.previous_position or 0) - self.position}"
        if self.movement == Movement.DOWN:
            return f"▼{self.position - (self.previous_position or 0)}"
        return {Movement.SAME: "=", Movement.NEW: "NEW", Movement.RE_ENTRY: "RE"}[self.movement]

    @property
    def match_label(self) -> str:
        """How the track was matched: isrc, text 0.93, spotify-id, pinned."""
        if self.match_method == "text" and self.match_confidence is not None:
            return f"text {self.match_confidence:.2f}"
        return self.match_method

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "previous_position": self.previous_position,
            "movement": str(self.movement),
            "title": self.title,
            "artists": list(self.artists),
            "spotify_id": self.spotify_id,
            "points": self.points,
            "chart_days": self.chart_days,
            "peak_position": self.peak_position,
            "sources": list(self.sources),
            "match": {"method": self.match_method, "confidence": self.match_confidence},
        }


@dataclasses.dataclass(frozen=True)
class ShowResult:
    """One playlist as a chart (no entries and the next steps when nothing was written yet)."""

    playlist: str
    name: str
    period: str
    window_start: datetime.date | None
    window_end: datetime.date | None
    written_at: str | None
    url: str | None
    entries: list[ShowEntry]
    next_steps: tuple[str, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The `--json` object (schema: schemas/show.schema.json)."""
        window = None
        if self.window_start is not None and self.window_end is not None:
            window = {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()}
        return {
            "playlist": self.playlist,
            "name": self.name,
            "period": self.period,
            "window": window,
            "written_at": self.written_at,
            "url": self.url,
            "entries": [entry.to_json() for entry in self.entries],
        }


def csv_rows(result: ShowResult) -> list[dict[str, str]]:
    """Return one CSV row per entry, the `--json` fields flattened (lists joined by '; ')."""
    rows = []
    for entry in result.entries:
        values = entry.to_json()
        match = values.pop("match")
        values |= {"match_method": match["method"], "match_confidence": match["confidence"]}
        values["artists"] = "; ".join(values["artists"])
        values["sources"] = "; ".join(values["sources"])
        rows.append({field: "" if values[field] is None else str(values[field]) for field in CSV_FIELDS})
    return rows


def csv_text(result: ShowResult) -> str:
    """Return the `--csv` text: a header row and one row per entry, RFC 4180 quoting and CRLF line ends."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(csv_rows(result))
    return buffer.getvalue()


def json_text(result: ShowResult) -> str:
    """Return the `--json` text: one object, schema show.schema.json."""
    import json

    return json.dumps(result.to_json(), indent=2, ensure_ascii=False)


def check_choice(key: str, period: str | None) -> None:
    """Raise UsageError for a playlist that does not exist or a period it does not have."""
    if key not in PLAYLISTS:
        raise UsageError(f"unknown playlist {key!r}; choose from {', '.join(PLAYLISTS)}")
    if period is None:
        return
    if key not in PERIOD_FORMATS:
        raise UsageError(f"--period applies to monthly and yearly playlists only; drop it for {key}")
    pattern, example = PERIOD_FORMATS[key]
    if not pattern.match(period):
        raise UsageError(f"--period {period!r} is not a {key} period; write it like {example}")


def movements(
    contents: tuple[str, ...], history: list[tuple[str, ...]]
) -> tuple[list[int | None], list[Movement], dict[str, int]]:
    """Given the current contents and every earlier written version (oldest first), return per position the
    previous position and the movement, and each track's best position over all versions."""
    previous_index = next((i for i in range(len(history) - 1, -1, -1) if history[i] != contents), None)
    previous = {
        track: index for index, track in enumerate(history[previous_index] if previous_index is not None else (), 1)
    }
    earlier = {track for version in history[: previous_index or 0] for track in version}
    peaks: dict[str, int] = {}
    for version in [*history, contents]:
        for position, track in enumerate(version, start=1):
            if position < peaks.get(track, position + 1):
                peaks[track] = position
    before: list[int | None] = []
    moved: list[Movement] = []
    for position, track in enumerate(contents, start=1):
        last = previous.get(track)
        before.append(last)
        if last is None:
            moved.append(Movement.RE_ENTRY if track in earlier else Movement.NEW)
        else:
            moved.append(Movement.UP if last > position else Movement.DOWN if last < position else Movement.SAME)
    return before, moved, peaks


def _entries_of(store: Store, version: Version) -> list[Entry]:
    """The recorded entries, or for a version written before they were recorded, what the cache knows."""
    entries = store.version_entries(version.id)
    if entries or not version.contents:
        return entries
    facts = store.track_facts(list(version.contents))
    return [
        Entry(
            position,
            track,
            facts[track].title if track in facts else "",
            facts[track].artists if track in facts else (),
            None,
            None,
            (),
            facts[track].method if track in facts else "unknown",
            facts[track].confidence if track in facts else None,
        )
        for position, track in enumerate(version.contents, start=1)
    ]


def _chart(key: str, record: ManagedPlaylist, versions: list[Version], store: Store) -> ShowResult:
    url = f"https://open.spotify.com/playlist/{record.spotify_id}" if record.spotify_id else None
    if not versions:
        note = f"{record.name} has no written version yet; run `tophits update`"
        return ShowResult(key, record.name, record.period, None, None, None, url, [], note=note)
    current = versions[-1]
    before, moved, peaks = movements(current.contents, [version.contents for version in versions[:-1]])
    entries = [
        ShowEntry(
            position=entry.position,
            previous_position=before[entry.position - 1],
            movement=moved[entry.position - 1],
            title=entry.title,
            artists=entry.artists,
            spotify_id=entry.spotify_id,
            points=entry.points,
            chart_days=entry.chart_days,
            peak_position=peaks[entry.spotify_id],
            sources=entry.sources,
            match_method=entry.match_method,
            match_confidence=entry.match_confidence,
        )
        for entry in _entries_of(store, current)
    ]
    return ShowResult(
        key, record.name, record.period, current.window_start, current.window_end, current.taken_at, url, entries
    )


def collect_show(settings: Settings, key: str, period: str | None, today: datetime.date) -> ShowResult:
    """Read one playlist's latest written version from the state DB (read-only) and return it as a chart."""
    check_choice(key, period)
    start = period_bounds(key, period)[0] if period else today
    name = render_playlist_name(settings.playlists[key].name, settings.prefix, start)
    if not settings.paths.state_db.exists():
        note = f"no state DB at {settings.paths.state_db} yet: nothing has been written"
        return ShowResult(key, name, period or key, None, None, None, None, [], NEXT_STEPS, note)
    store = open_reader(settings.paths.state_db)
    try:
        records = store.managed_playlists(key)
        if period is not None:
            records = [record for record in records if record.period == period]
        if not records:
            missing = f"no {key} playlist for {period}" if period else f"no {key} playlist written yet"
            return ShowResult(key, name, period or key, None, None, None, None, [], NEXT_STEPS[1:], missing)
        # Records come oldest period first: without --period, the newest one.
        record = records[-1]
        return _chart(key, record, store.versions(key, record.period), store)
    finally:
        store.close()


@dataclasses.dataclass(frozen=True)
class ShowView:
    """What `show` prints: the chart as a table, JSON or CSV, or the explanation of one entry."""

    chart: ShowResult
    output: str  # "table", "json", "csv" or "explain"
    explanation: Explanation | None = None


def show_playlist(
    settings: Settings,
    key: str,
    period: str | None,
    now: datetime.datetime,
    explain: int | None = None,
    as_json: bool = False,
    as_csv: bool = False,
) -> ShowView:
    """Return what `tophits show` prints for its options; raise UsageError for options that do not fit."""
    if as_json and as_csv:
        raise UsageError("--json and --csv print the same entries; choose one")
    chart = collect_show(settings, key.lower(), period, now.astimezone(settings.zone).date())
    if explain is None:
        return ShowView(chart, "json" if as_json else "csv" if as_csv else "table")
    from spotify_tophits.actions.explain import explain_entry

    return ShowView(chart, "explain", explain_entry(settings, chart, explain))
