"""Snapshot files, opt-in with `[export] dir`: after a successful update, each playlist it changed as
`<key>.json`/`.csv` (daily, weekly) or `<key>-<period>.json`/`.csv` (monthly, yearly), the same
content as `tophits show --json/--csv`, plus `index.json` listing every exported file.

Files are written atomically (readers see the old file or the new one) with mode 0644: they are
meant to be published. Failing to write them is a warning, never a failed update.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_tophits.actions.show import ShowResult, collect_show, csv_text, json_text
from spotify_tophits.config import Settings
from spotify_tophits.errors import TophitsError
from spotify_tophits.files import write_atomically

if TYPE_CHECKING:
    from spotify_tophits.playlists import PlaylistOutcome

INDEX = "index.json"


def file_stem(key: str, period: str) -> str:
    """Return the name a playlist's files share: `daily`, or `monthly-2026-11` for a periodic one."""
    return key if period == key else f"{key}-{period}"


def _read_index(path: Path) -> list[dict[str, Any]]:
    """Return the entries of an existing index, or none when it is missing or unreadable (it is rebuilt)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("playlists", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [entry for entry in entries if isinstance(entry, dict) and {"playlist", "period"} <= set(entry)]


def _index_entry(chart: ShowResult, stem: str) -> dict[str, Any]:
    return {
        "playlist": chart.playlist,
        "period": chart.period,
        "name": chart.name,
        "written_at": chart.written_at,
        "url": chart.url,
        "entries": len(chart.entries),
        "json": f"{stem}.json",
        "csv": f"{stem}.csv",
    }


def export_charts(
    settings: Settings, changed: Sequence[tuple[str, str]], now: datetime.datetime
) -> tuple[list[Path], list[str]]:
    """Write the snapshot files of the changed (key, period) playlists and the index; return the files
    written and the warnings (a file that could not be written)."""
    directory = settings.export_dir
    if directory is None or not changed:
        return [], []
    today = now.astimezone(settings.zone).date()
    written: list[Path] = []
    warnings: list[str] = []
    index = {(entry["playlist"], entry["period"]): entry for entry in _read_index(directory / INDEX)}
    for key, period in changed:
        stem = file_stem(key, period)
        try:
            chart = collect_show(settings, key, None if period == key else period, today)
            for suffix, text in ((".json", json_text(chart) + "\n"), (".csv", csv_text(chart))):
                write_atomically(directory / f"{stem}{suffix}", text.encode("utf-8"), mode=0o644)
                written.append(directory / f"{stem}{suffix}")
        except (OSError, TophitsError) as error:
            reason = error.message if isinstance(error, TophitsError) else error.strerror or str(error)
            warnings.append(f"export: could not write {directory / stem}.json/.csv ({reason}); the update succeeded")
            continue
        index[(key, period)] = _index_entry(chart, stem)
    document = {
        "generated_at": now.astimezone(datetime.UTC).isoformat(timespec="seconds"),
        "playlists": [index[item] for item in sorted(index)],
    }
    try:
        write_atomically(directory / INDEX, (json.dumps(document, indent=2) + "\n").encode("utf-8"), mode=0o644)
        written.append(directory / INDEX)
    except OSError as error:
        warnings.append(f"export: could not write {directory / INDEX} ({error.strerror}); the update succeeded")
    return written, warnings


def export_changed(settings: Settings, outcomes: Sequence[PlaylistOutcome], now: datetime.datetime) -> list[str]:
    """After a successful update, export the playlists it wrote (with `[export] dir`); return the warnings."""
    changed = [(outcome.key, outcome.period) for outcome in outcomes if outcome.writes]
    return export_charts(settings, changed, now)[1]
