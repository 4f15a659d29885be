"""Content ratings end to end: a chart's rating picks the twin, `[matching] explicit` chooses a policy, and
`update -v` lists each new match to check with the row, the track and why it was accepted."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

import pytest
from conftest import CHART_DAY, TophitsRunner, at, write_config

from spotify_tophits.cli import app
from spotify_tophits.config import load_settings
from spotify_tophits.errors import ConfigError
from spotify_tophits.sandbox.world import CatalogTrack, stable_id
from spotify_tophits.sources.csvfile import parse_csv

runner = TophitsRunner()


def chart_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """Write a plain CSV chart `rank,artist,title,explicit`."""
    lines = ["rank,artist,title,explicit"] + [
        f'{rank},"{artist}","{title}",{rating}' for rank, (artist, title, rating) in enumerate(rows, start=1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_csv_explicit_column_gives_each_row_its_rating_and_a_bad_value_names_the_line():
    rows = parse_csv("csv:x", "rank,artist,title,explicit\n1,A,T,true\n2,B,U,false\n3,C,V,\n", 1)

    assert [row.explicit for row in rows] == [True, False, None]
    with pytest.raises(Exception, match="line 2: explicit 'maybe' must be true, false or empty"):
        parse_csv("csv:x", "rank,artist,title,explicit\n1,A,T,maybe\n", 1)


def test_an_unknown_explicit_policy_names_the_choices(environment):
    write_config(environment, '[matching]\nexplicit = "family"\n')

    with pytest.raises(ConfigError) as raised:
        load_settings(environment)

    assert "matching.explicit" in raised.value.message
    assert '"as-charted", "prefer-clean", "clean-only"' in raised.value.message


@pytest.fixture
def twins(emulator, world):  # type: ignore[no-untyped-def]
    """Chart songs, one of which gets a clean twin on Spotify; returns (songs, the twin's id)."""
    songs = [song for song in world.chart(CHART_DAY) if song.spotify_id][:14]
    explicit_song = next(song for song in songs if song.explicit)
    twin_id = stable_id("clean-twin", explicit_song.number)
    emulator.add_track(
        CatalogTrack(
            twin_id,
            explicit_song.title,
            explicit_song.artists,
            f"QC{explicit_song.isrc[2:]}",
            explicit_song.duration_ms,
            False,
            f"{explicit_song.title} (Clean)",
            "single",
        )
    )
    return songs, explicit_song, twin_id


def test_update_v_lists_a_match_of_another_rating_than_the_charts_with_the_row_the_track_and_why(
    authorised, environment, emulator, twins, tmp_path
):
    songs, _, _ = twins
    clean_song = next(song for song in songs if not song.explicit)
    rows = [(song.artists[0], song.title, "true" if song is clean_song else "") for song in songs]
    path = chart_csv(tmp_path / "chart.csv", rows)
    write_config(environment, f'timezone = "UTC"\nsources = ["csv:{path}"]\n')

    result = runner.invoke(app, ["-v", "update"])

    assert result.exit_code == 0, result.output
    rank = songs.index(clean_song) + 1
    assert "matches to check (lower confidence, or not the chart's rating):" in result.output
    assert f"  csv:{path} #{rank}: {clean_song.artists[0]} – {clean_song.title} (explicit)\n" in result.output
    assert (
        f"    → {', '.join(clean_song.artists)} – {clean_song.title} (clean), confidence 0.95:"
        " no duration to compare; rated clean, the chart's is explicit\n"
    ) in result.output


@pytest.mark.parametrize(
    ("policy", "in_playlist"),
    [("as-charted", "explicit"), ("prefer-clean", "twin"), ("clean-only", "twin")],
)
def test_the_explicit_policy_chooses_the_twin_that_goes_in_the_playlist(
    authorised, environment, emulator, twins, tmp_path, policy, in_playlist
):
    songs, explicit_song, twin_id = twins
    rows = [(song.artists[0], song.title, "true" if song.explicit else "false") for song in songs]
    path = chart_csv(tmp_path / "chart.csv", rows)
    write_config(environment, f'timezone = "UTC"\nsources = ["csv:{path}"]\n[matching]\nexplicit = "{policy}"\n')

    result = runner.invoke(app, ["-v", "update"])

    assert result.exit_code == 0, result.output
    (daily,) = [playlist for playlist in emulator.user_playlists() if "Daily" in playlist.name]
    wanted = explicit_song.spotify_id if in_playlist == "explicit" else twin_id
    other = twin_id if in_playlist == "explicit" else explicit_song.spotify_id
    assert wanted in daily.items and other not in daily.items
    explicit_left = [song for song in songs if song.explicit and song is not explicit_song]
    if policy == "clean-only":
        # Every other explicit song has no clean twin on Spotify: left out, and counted.
        assert not {song.spotify_id for song in explicit_left} & set(daily.items)
        assert f"{len(explicit_left)} rows left out: Spotify has them only explicit" in result.output
    else:
        assert {song.spotify_id for song in explicit_left} <= set(daily.items)


@pytest.mark.parametrize("ratings_kept", [True, False], ids=["with-ratings", "before-ratings-were-kept"])
def test_a_switch_to_clean_only_takes_every_explicit_track_out_on_the_next_update_within_the_search_budget(
    authorised, environment, emulator, twins, tmp_path, ratings_kept
):
    songs, _, twin_id = twins
    rows = [(song.artists[0], song.title, "true" if song.explicit else "false") for song in songs]
    path = chart_csv(tmp_path / "chart.csv", rows)
    config = f'timezone = "UTC"\nsources = ["csv:{path}"]\n'
    write_config(environment, config)
    assert runner.invoke(app, ["update"]).exit_code == 0
    explicit_ids = {song.spotify_id for song in songs if song.explicit}
    (daily,) = [playlist for playlist in emulator.user_playlists() if "Daily" in playlist.name]
    assert explicit_ids <= set(daily.items)  # as charted: the explicit recordings are in
    if not ratings_kept:  # as an older tophits left them: no rating with any resolution
        with sqlite3.connect(authorised.paths.state_db) as connection:
            connection.execute("UPDATE resolutions SET explicit = NULL")
        connection.close()

    write_config(environment, config + '[matching]\nexplicit = "clean-only"\n')
    emulator.reset_counts()
    result = runner.invoke(app, ["-v", "update"])

    assert result.exit_code == 0, result.output
    # One text search (these rows carry no ISRC) per row whose track is not known to be clean; none for the rest.
    assert emulator.count("GET /search") == (len(songs) if not ratings_kept else len(explicit_ids))
    for playlist in emulator.user_playlists():
        assert not explicit_ids & set(playlist.items), playlist.name
    (daily,) = [playlist for playlist in emulator.user_playlists() if "Daily" in playlist.name]
    clean_ids = {song.spotify_id for song in songs if not song.explicit}
    assert set(daily.items) == clean_ids | {twin_id}
    assert f"{len(explicit_ids) - 1} rows left out: Spotify has them only explicit" in result.output
    # A repeat run finds every answer cached: no search.
    emulator.reset_counts()
    assert runner.invoke(app, ["update"]).exit_code == 0
    assert emulator.count("GET /search") == 0
    # The next day's chart is keyed under clean-only: the clean songs' as-charted matches are reused without a
    # search; only the songs left out (a cached miss, due again after a day) are searched for.
    emulator.reset_counts()
    assert TophitsRunner(at(CHART_DAY + datetime.timedelta(days=1), 7)).invoke(app, ["update"]).exit_code == 0
    assert emulator.count("GET /search") == len(explicit_ids) - 1
    for playlist in emulator.user_playlists():
        assert not explicit_ids & set(playlist.items), playlist.name
