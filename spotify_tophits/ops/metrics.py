"""Prometheus metrics for node_exporter's textfile collector, written atomically after each job."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from spotify_tophits import __version__, archive
from spotify_tophits.clock import parse_utc
from spotify_tophits.config import Settings
from spotify_tophits.errors import TophitsError
from spotify_tophits.files import write_atomically
from spotify_tophits.ops import health
from spotify_tophits.spotify import TokenFile, refresh_token_expiry
from spotify_tophits.store import PlaylistState, RunResult, Store, open_reader

logger = logging.getLogger(__name__)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(
    name: str,
    kind: str,
    help_text: str,
    samples: Iterable[tuple[dict[str, str], float]],
    common: Mapping[str, str] | None = None,
) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for own, value in samples:
        labels = own | dict(common or {})
        label_text = ",".join(f'{key}="{_escape(text)}"' for key, text in sorted(labels.items()))
        lines.append(f"{name}{{{label_text}}} {value:g}" if labels else f"{name} {value:g}")
    return lines


def _timestamp(text: str | None) -> float | None:
    return parse_utc(text).timestamp() if text else None


def render_metrics(settings: Settings, store: Store) -> str:
    """Return the metrics in the Prometheus text exposition format (each sample labelled with its profile)."""
    profile = settings.paths.profile
    family = functools.partial(_family, common={"profile": profile} if profile else None)
    finished = health.finished_updates(store.recent_runs(100000))
    last = finished[0] if finished else None
    success = next((run for run in finished if RunResult(run["result"]).succeeded), None)
    failures = health.consecutive_failures(finished)
    statuses: Counter[str] = Counter()
    rate_limited = 0
    for run in finished:
        requests = (run.get("summary") or {}).get("requests") or {}
        statuses.update({status: int(count) for status, count in (requests.get("by_status") or {}).items()})
        rate_limited += int(requests.get("rate_limited") or 0)
    archives = [item for item in archive.list_archives(settings.backup.directory) if not item.label]
    token = TokenFile(settings.paths.token_file).read()
    expiry = refresh_token_expiry(token) if token else None
    lines = family("tophits_info", "gauge", "tophits version.", [({"version": __version__}, 1)])
    last_run = _timestamp(last["started_at"]) if last else None
    if last_run is not None:
        lines += family(
            "tophits_last_run_timestamp_seconds", "gauge", "Start of the last run.", [({"job": "update"}, last_run)]
        )
    success_samples = []
    if success and success.get("finished_at"):
        success_samples.append(({"job": "update"}, _timestamp(success["finished_at"]) or 0.0))
    if archives:
        success_samples.append(({"job": "backup"}, archives[0].created_at.timestamp()))
    if success_samples:
        lines += family(
            "tophits_last_success_timestamp_seconds",
            "gauge",
            "End of the last successful run of each job.",
            success_samples,
        )
    if last and last.get("finished_at"):
        duration = (parse_utc(last["finished_at"]) - parse_utc(last["started_at"])).total_seconds()
        lines += family(
            "tophits_run_duration_seconds", "gauge", "Duration of the last run.", [({"job": "update"}, duration)]
        )
    lines += family(
        "tophits_run_failures_consecutive",
        "gauge",
        "Failed runs since the last success.",
        [({"job": "update"}, failures)],
    )
    lines += family(
        "tophits_api_requests_total",
        "counter",
        "Spotify API requests by HTTP status, over all recorded runs.",
        [({"status": status}, count) for status, count in sorted(statuses.items())],
    )
    lines += family(
        "tophits_api_rate_limited_total", "counter", "Spotify 429 answers over all recorded runs.", [({}, rate_limited)]
    )
    lines += family(
        "tophits_playlist_tracks",
        "gauge",
        "Tracks in each active managed playlist.",
        [
            ({"playlist": record.key}, len(record.contents or ()))
            for record in store.managed_playlists()
            if record.status == PlaylistState.ACTIVE
        ],
    )
    if last and (last.get("summary") or {}).get("match_rate") is not None:
        lines += family(
            "tophits_match_rate",
            "gauge",
            "Share of new chart rows matched in the last run.",
            [({}, last["summary"]["match_rate"])],
        )
    if expiry is not None:
        lines += family(
            "tophits_refresh_token_expiry_timestamp_seconds",
            "gauge",
            "When the Spotify refresh token dies.",
            [({}, expiry.timestamp())],
        )
    if archives:
        lines += family(
            "tophits_last_backup_timestamp_seconds",
            "gauge",
            "Time of the newest backup archive.",
            [({}, archives[0].created_at.timestamp())],
        )
    return "\n".join(lines) + "\n"


def profile_textfile(path: Path | None, profile: str | None) -> Path | None:
    """Return a profile's own textfile, `tophits-anna.prom` for `tophits.prom`, so profiles never overwrite
    each other's (node_exporter reads every *.prom in its directory)."""
    if path is None or profile is None:
        return path
    return path.with_name(f"{path.stem}-{profile}{path.suffix}")


def write_metrics(settings: Settings) -> bool:
    """Write the textfile if `[metrics] textfile` is set. Never raises; returns whether it wrote."""
    path = profile_textfile(settings.notify.metrics_textfile, settings.paths.profile)
    if path is None:
        return False
    try:
        store = open_reader(settings.paths.state_db)
        try:
            text = render_metrics(settings, store)
        finally:
            store.close()
        # Readable by node_exporter, which runs as another user.
        write_atomically(path, text.encode("utf-8"), mode=0o644)
    except (TophitsError, OSError) as error:
        logger.warning("metrics file %s not written (%s)", path, getattr(error, "message", error))
        return False
    return True
