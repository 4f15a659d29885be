"""Bring one playlist on Spotify to its target list with the fewest requests (DESIGN §4).

- Spotify still has our snapshot and the target did not change: no read, no write.
- Spotify has our snapshot but the target changed: we know the contents, so write at once.
- Otherwise read the items (pages of 50); if they already equal the target, just record that.
- A write is one PUT of the first 100 and one POST per further 100: the minimum for an ordered
  list. A failed POST is never retried blindly (its answer may be lost after Spotify applied it):
  the playlist is read once more and the writes planned again from what it holds, in the same
  run. Only if that fails too does the error reach the run (exit 5); the next run re-reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from spotify_tophits.errors import RateLimitedError, TemporaryError
from spotify_tophits.spotify.models import WRITE_CHUNK

if TYPE_CHECKING:
    from spotify_tophits.spotify import PlaylistInfo, SpotifyGateway


@dataclasses.dataclass(frozen=True)
class Write:
    """One write request: replace the playlist with `track_ids` (PUT) or append them (POST)."""

    kind: str  # "replace" or "add"
    track_ids: tuple[str, ...]


def plan_writes(current: Sequence[str] | None, target: Sequence[str]) -> list[Write]:
    """Return the writes that turn `current` (None: unknown) into `target`; none if they are equal."""
    if current is not None and list(current) == list(target):
        return []
    writes = [Write("replace", tuple(target[:WRITE_CHUNK]))]
    for start in range(WRITE_CHUNK, len(target), WRITE_CHUNK):
        writes.append(Write("add", tuple(target[start : start + WRITE_CHUNK])))
    return writes


@dataclasses.dataclass(frozen=True)
class ReconcileResult:
    """What reconciling one playlist did."""

    snapshot_id: str | None  # None: unknown (a write's answer was lost), so the next run reads the items
    before: tuple[str, ...] | None
    read: bool
    writes: int


def reconcile(
    gateway: SpotifyGateway,
    info: PlaylistInfo,
    known_snapshot: str | None,
    known_contents: Sequence[str] | None,
    target: Sequence[str],
    *,
    dry_run: bool = False,
) -> ReconcileResult:
    """Make the playlist `info` hold exactly `target`, reading and writing only what is needed."""
    if known_snapshot is not None and info.snapshot_id == known_snapshot and known_contents is not None:
        before: tuple[str, ...] = tuple(known_contents)
        read = False
    else:
        before = tuple(gateway.playlist_track_ids(info.id))
        read = True
    writes = plan_writes(before, target)
    snapshot = info.snapshot_id
    if dry_run:
        return ReconcileResult(snapshot, before, read, 0)
    try:
        return ReconcileResult(_send(gateway, info.id, writes, snapshot), before, read, len(writes))
    except TemporaryError as error:
        if isinstance(error, RateLimitedError):
            raise  # Spotify asked us to stop: not_before is set, nothing more is sent this run
    # DESIGN §4: after a failed write, read the playlist again and reconcile once more.
    again = plan_writes(gateway.playlist_track_ids(info.id), target)
    return ReconcileResult(_send(gateway, info.id, again, None), before, True, len(writes) + len(again))


def _send(gateway: SpotifyGateway, playlist_id: str, writes: Sequence[Write], snapshot: str | None) -> str | None:
    """Send the writes in order and return the last snapshot id (`snapshot` when there are none)."""
    for write in writes:
        if write.kind == "replace":
            snapshot = gateway.replace_items(playlist_id, write.track_ids)
        else:
            snapshot = gateway.add_items(playlist_id, write.track_ids)
    return snapshot
