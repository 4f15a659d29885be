"""Reconcile planning: the writes turn any playlist into the target with the minimum of requests."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from spotify_tophits.reconcile import Write, plan_writes


def apply_plan(track_ids: list[str], writes: list[Write]) -> list[str]:
    """Model Spotify's behaviour: a replace sets the playlist, an add appends to it."""
    result = list(track_ids)
    for write in writes:
        result = list(write.track_ids) if write.kind == "replace" else result + list(write.track_ids)
    return result


track_lists = st.lists(st.sampled_from([f"t{i}" for i in range(400)]), max_size=350)


@given(track_lists, track_lists)
def test_plan_turns_any_playlist_into_the_target_with_the_minimum_of_writes(current, target):
    writes = plan_writes(current, target)

    assert apply_plan(current, writes) == target
    if current == target:
        assert writes == []
    else:
        assert len(writes) == max(1, math.ceil(len(target) / 100))
        assert writes[0].kind == "replace"
        assert all(write.kind == "add" for write in writes[1:])
        assert all(len(write.track_ids) <= 100 for write in writes)


@given(track_lists)
def test_unknown_contents_always_get_written(target):
    assert apply_plan(["stale"], plan_writes(None, target)) == target
