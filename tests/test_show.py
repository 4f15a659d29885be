"""`tophits show`: the written versions update records, movement, --explain, --json, --csv, and export files."""

from __future__ import annotations

import csv
import datetime
import io
import json
import stat
from pathlib import Path

import hypothesis
import hypothesis.strategies
import jsonschema
import pytest
from conftest import WORLDWIDE, Simulation, TophitsRunner, at, write_config
from typer.testing import Result

from spotify_tophits.actions.show import Movement, movements
from spotify_tophits.cli import app
from spotify_tophits.matching import primary_artist
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import Song, World
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


# -- a hand-made history: three chart days over a CSV source of 12 known tracks ---------------------------------
SCHEMA = json.loads((Path(__file__).parents[1] / "spotify_tophits" / "schemas" / "show.schema.json").read_text())
FIRST = datetime.date(2026, 11, 10)


def distinct_songs(world: World, count: int) -> list[Song]:
    """`count` chart songs on Spotify with different primary artists and titles, so no cap or dedupe applies."""
    chosen: list[Song] = []
    for song in world.chart(FIRST):
        keys = {(primary_artist(other.artists), other.title.lower()) for other in chosen}
        if song.spotify_id and not any(
            primary_artist(song.artists) == artist or song.title.lower() == title for artist, title in keys
        ):
            chosen.append(song)
    return chosen[:count]


# The first song's chart title needs CSV quoting both ways: a comma and double quotes.
QUOTED_TITLE = 'Comma, "Quoted" Title'


def write_chart(path: Path, songs: list[Song], first: Song) -> None:
    lines = ["rank,uri,artist_names,track_name"]
    for rank, song in enumerate(songs, start=1):
        artists = ", ".join(song.artists).replace('"', '""')
        title = (QUOTED_TITLE if song is first else song.title).replace('"', '""')
        lines.append(f'{rank},spotify:track:{song.spotify_id},"{artists}","{title}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def charted(environment, authorised, emulator: Emulator, world: World, tmp_path: Path) -> list[Song]:
    """Three daily runs of `tophits update` over hand-made charts; return the 14 songs used (s0 … s13)."""
    chart = tmp_path / "chart.csv"
    write_config(environment, f'timezone = "UTC"\nsources = ["csv:{chart}"]\n')
    s = distinct_songs(world, 14)
    days = [
        [s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11]],
        [s[1], s[0], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[12]],
        [s[2], s[0], s[1], s[11], s[3], s[4], s[5], s[6], s[7], s[8], s[13], s[12]],
    ]
    for offset, songs in enumerate(days):
        write_chart(chart, songs, s[0])
        result = TophitsRunner().invoke(app, ["update"], now=at(FIRST + datetime.timedelta(days=offset)))
        assert result.exit_code == 0, result.output
    return s


def show(*args: str) -> Result:
    return TophitsRunner().invoke(app, ["show", *args], now=at(FIRST + datetime.timedelta(days=2), 12))


def test_show_json_gives_hand_computed_movement_and_peaks_and_validates_against_its_schema(charted):
    s = charted

    result = show("daily", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    entries = document["entries"]
    assert [entry["spotify_id"] for entry in entries] == [
        song.spotify_id for song in (s[2], s[0], s[1], s[11], s[3], s[4], s[5], s[6], s[7], s[8], s[13], s[12])
    ]
    assert [entry["movement"] for entry in entries] == [
        "up", "same", "down", "re-entry", "down", "down", "down", "down", "down", "down", "new", "same"
    ]  # fmt: skip
    assert [entry["previous_position"] for entry in entries] == [3, 2, 1, None, 4, 5, 6, 7, 8, 9, None, 12]
    assert [entry["peak_position"] for entry in entries] == [1, 1, 1, 4, 4, 5, 6, 7, 8, 9, 11, 12]
    third = FIRST + datetime.timedelta(days=2)
    assert document["window"] == {"start": third.isoformat(), "end": third.isoformat()}
    assert document["playlist"] == "daily" and document["name"] == "Daily Hits"
    assert [entry["points"] for entry in entries] == [round((12 - rank + 1) / 12, 6) for rank in range(1, 13)]
    assert entries[0]["match"] == {"method": "spotify-id", "confidence": 1.0}
    assert entries[0]["sources"] == [f"csv:{Path(entries[0]['sources'][0][4:])}"]
    assert entries[0]["chart_days"] == 1
    assert document["url"].startswith("https://open.spotify.com/playlist/")


def test_show_table_marks_movement_with_arrows_new_and_re(charted):
    result = show()

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Daily Hits"
    rows = [line.split() for line in lines if line.strip()[:2].strip().isdigit()]
    assert [row[1] for row in rows] == ["▲2", "=", "▼2", "RE", "▼1", "▼1", "▼1", "▼1", "▼1", "▼1", "NEW", "="]


def test_show_csv_round_trips_through_dictreader_with_the_json_fields(charted):
    as_json = json.loads(show("--json").stdout)["entries"]

    result = show("--csv")

    assert result.exit_code == 0
    text = result.stdout_bytes.decode()
    assert text.endswith("\r\n") and '"Comma, ""Quoted"" Title"' in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(as_json) == 12
    for row, entry in zip(rows, as_json, strict=True):
        assert int(row["position"]) == entry["position"]
        assert row["movement"] == entry["movement"]
        assert row["title"] == entry["title"]
        assert row["artists"].split("; ") == entry["artists"]
        assert float(row["points"]) == entry["points"]
        assert (int(row["previous_position"]) if row["previous_position"] else None) == entry["previous_position"]
        assert row["match_method"] == entry["match"]["method"]
    assert rows[1]["title"] == QUOTED_TITLE


def test_show_explain_lists_points_by_day_and_source_summing_to_the_entry(charted, authorised):
    result = show("--explain", "3")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    third = (FIRST + datetime.timedelta(days=2)).isoformat()
    day_rows = [line.split() for line in lines if line.strip().startswith(third)]
    assert len(day_rows) == 1
    _day, _source, rank, rows, points = day_rows[0]
    assert (rank, rows) == ("3", "12")
    assert float(points) == pytest.approx(10 / 12, abs=1e-4)
    assert "total 0.8333" in result.stdout
    assert "above: #2" in result.stdout and "decided by points" in result.stdout
    assert "note:" not in result.stdout


def test_show_rejects_an_unknown_playlist_a_bad_period_and_json_with_csv(charted):
    assert show("hourly").exit_code == 2
    bad_period = show("monthly", "--period", "11-2026")
    assert bad_period.exit_code == 2 and "write it like 2026-11" in bad_period.output
    assert show("daily", "--period", "2026").exit_code == 2
    assert show("--json", "--csv").exit_code == 2
    assert show("--explain", "13").exit_code == 2


def test_show_period_picks_a_monthly_playlist_by_month(charted):
    result = show("monthly", "--period", "2026-11", "--json")

    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["period"] == "2026-11" and document["name"] == "Monthly Hits — November 2026"
    assert len(document["entries"]) == 14


def test_show_on_a_fresh_install_exits_0_with_the_next_steps_and_creates_nothing(settings):
    plain = TophitsRunner().invoke(app, ["show"])
    as_json = TophitsRunner().invoke(app, ["show", "weekly", "--json"])

    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith("Daily Hits\nno state DB at ")
    for step in ("tophits auth ", "tophits update ", "tophits systemd install "):
        assert f"\n  {step}" in plain.stdout
    assert as_json.exit_code == 0
    document = json.loads(as_json.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert (document["name"], document["entries"], document["written_at"]) == ("Weekly Hits", [], None)
    assert not settings.paths.state_db.exists()


# -- [export] dir: snapshot files of the playlists an update changed ------------------------------------------------
def export_config(environment, directory: Path) -> None:
    write_config(environment, f'timezone = "UTC"\nsources = ["deezer:worldwide"]\n\n[export]\ndir = "{directory}"\n')


def update_on(emulator: Emulator, world: World, day: datetime.date, *arguments: str) -> Result:
    emulator.set_deezer_chart(WORLDWIDE, world.chart(day))
    return TophitsRunner().invoke(app, ["update", *arguments], now=at(day))


def test_update_exports_exactly_the_playlists_it_changed_with_an_index(
    environment, authorised, emulator: Emulator, world: World, tmp_path: Path
):
    exported = tmp_path / "charts"
    export_config(environment, exported)

    first = update_on(emulator, world, DAY)

    assert first.exit_code == 0, first.output
    stems = ["daily", "weekly", "monthly-2026-11", "yearly-2026"]
    assert sorted(path.name for path in exported.iterdir()) == sorted(
        [f"{stem}{suffix}" for stem in stems for suffix in (".json", ".csv")] + ["index.json"]
    )
    shown = TophitsRunner().invoke(app, ["show", "--json"], now=at(DAY, 7))
    assert (exported / "daily.json").read_text(encoding="utf-8") == shown.stdout
    shown_csv = TophitsRunner().invoke(app, ["show", "monthly", "--csv"], now=at(DAY, 7))
    assert (exported / "monthly-2026-11.csv").read_bytes() == shown_csv.stdout_bytes
    assert stat.S_IMODE((exported / "daily.csv").stat().st_mode) == 0o644
    index = json.loads((exported / "index.json").read_text(encoding="utf-8"))
    assert [(item["playlist"], item["period"], item["json"]) for item in index["playlists"]] == [
        ("daily", "daily", "daily.json"),
        ("monthly", "2026-11", "monthly-2026-11.json"),
        ("weekly", "weekly", "weekly.json"),
        ("yearly", "2026", "yearly-2026.json"),
    ]
    assert not [path for path in exported.iterdir() if path.name.startswith(".")]  # no temporary file left

    for path in exported.iterdir():
        path.unlink()
    again = update_on(emulator, world, DAY)  # the same day: nothing changes, nothing is exported
    assert again.exit_code == 0 and list(exported.iterdir()) == []

    next_day = update_on(emulator, world, DAY + datetime.timedelta(days=1), "daily")
    assert next_day.exit_code == 0, next_day.output
    assert sorted(path.name for path in exported.iterdir()) == ["daily.csv", "daily.json", "index.json"]
    daily = json.loads((exported / "daily.json").read_text(encoding="utf-8"))
    assert daily["window"]["end"] == (DAY + datetime.timedelta(days=1)).isoformat()


def test_an_export_that_cannot_be_written_is_a_warning_and_the_update_succeeds(
    environment, authorised, emulator: Emulator, world: World, tmp_path: Path
):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the export directory should be", encoding="utf-8")
    export_config(environment, blocked)

    result = update_on(emulator, world, DAY)

    assert result.exit_code == 0, result.output
    assert f"export: could not write {blocked}/daily.json/.csv" in result.output
    assert len(emulator.user_playlists()) == 4


def test_a_relative_export_directory_is_a_config_error(environment):
    write_config(environment, '[export]\ndir = "charts"\n')

    result = TophitsRunner().invoke(app, ["show"])

    assert result.exit_code == 3
    assert "must be an absolute path" in result.output


def test_explain_says_when_todays_history_would_give_another_list(charted, authorised):
    s = charted
    overrides = authorised.paths.config_dir / "overrides.toml"
    overrides.write_text(f'[ban]\ntracks = ["{s[2].spotify_id}"]\n', encoding="utf-8")

    result = show("--explain", "2")

    assert result.exit_code == 0, result.output
    assert "note: the history changed since this was written" in result.stdout
    assert "12 of 12 positions would differ" in result.stdout


def same_artist_songs(world: World) -> tuple[Song, Song, list[Song]]:
    """Two chart songs on Spotify by one primary artist, and ten others by ten other artists."""
    songs = [song for song in world.chart(FIRST) if song.spotify_id]
    by_artist: dict[str, list[Song]] = {}
    for song in songs:
        by_artist.setdefault(primary_artist(song.artists), []).append(song)
    pair = next(group for group in by_artist.values() if len({song.title.lower() for song in group}) >= 2)
    others = [group[0] for artist, group in by_artist.items() if group is not pair][:10]
    return pair[0], pair[1], others


def test_explain_names_the_artist_cap_and_lists_what_it_cut(environment, authorised, world: World, tmp_path: Path):
    chart = tmp_path / "chart.csv"
    write_config(environment, f'timezone = "UTC"\nmax_per_artist = 1\nsources = ["csv:{chart}"]\n')
    first, second, others = same_artist_songs(world)
    write_chart(chart, [first, second, *others], others[-1])
    assert TophitsRunner().invoke(app, ["update"], now=at(FIRST)).exit_code == 0

    result = TophitsRunner().invoke(app, ["show", "--explain", "1"], now=at(FIRST, 12))

    assert result.exit_code == 0, result.output
    assert f"its artist is at the cap of 1 (max_per_artist): {', '.join(second.artists)} – {second.title} was cut" in (
        result.stdout
    )
    assert "cut by the artist cap or the song dedupe, with points above the last entry's:" in result.stdout
    assert f"  {', '.join(second.artists)} – {second.title} ({11 / 12:.4f} points): artist cap" in result.stdout


@hypothesis.given(
    hypothesis.strategies.lists(
        hypothesis.strategies.lists(hypothesis.strategies.sampled_from("abcdefgh"), unique=True, max_size=6),
        min_size=1,
        max_size=6,
    )
)
def test_movement_follows_the_previous_version_with_other_contents(versions: list[list[str]]):
    *history, current = [tuple(version) for version in versions]

    before, moved, peaks = movements(current, history)

    index = next((i for i in range(len(history) - 1, -1, -1) if history[i] != current), None)
    previous = history[index] if index is not None else None
    earlier = set().union(*history[:index]) if index is not None else set()
    for position, track in enumerate(current, start=1):
        last = previous.index(track) + 1 if previous is not None and track in previous else None
        assert before[position - 1] == last
        expected = (
            (Movement.RE_ENTRY if track in earlier else Movement.NEW)
            if last is None
            else Movement.UP
            if last > position
            else Movement.DOWN
            if last < position
            else Movement.SAME
        )
        assert moved[position - 1] == expected
        assert peaks[track] == min(version.index(track) + 1 for version in [*history, current] if track in version)
