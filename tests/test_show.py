"""`tophits show`: the written versions update records, movement, --explain, --json, --csv, and export files."""

from __future__ import annotations

import datetime

from conftest import Simulation

from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World
from spotify_tophits.store import open_store

DAY = datetime.date(2026, 11, 10)


def test_update_records_each_written_version_with_entries_as_written(
    simulation: Simulation, authorised, emulator: Emulator, world: World
):
    simulation.run(DAY)
    simulation.run(DAY + datetime.timedelta(days=1))

    store = open_store(authorised.paths.state_db)
    try:
        record = store.get_playlist("daily", "daily")
        versions = store.versions("daily", "daily")
        entries = store.version_entries(versions[-1].id)
    finally:
        store.close()
    assert record is not None
    assert len(versions) == 2
    assert (versions[-1].window_start, versions[-1].window_end) == (DAY + datetime.timedelta(days=1),) * 2
    assert [entry.spotify_id for entry in entries] == emulator.playlists[record.spotify_id].items
    assert [entry.position for entry in entries] == list(range(1, len(entries) + 1))
    chart = world.chart(DAY + datetime.timedelta(days=1))
    rank_of = {song.spotify_id: rank for rank, song in enumerate(chart, start=1)}
    song_of = {song.spotify_id: song for song in chart}
    for entry in entries:
        assert entry.points == round((len(chart) - rank_of[entry.spotify_id] + 1) / len(chart), 6)
        assert entry.chart_days == 1
        assert entry.sources == ("deezer:worldwide",)
        assert entry.title == song_of[entry.spotify_id].title
        assert entry.match_method in ("isrc", "text")
        assert entry.match_confidence is not None and 0 < entry.match_confidence <= 1
