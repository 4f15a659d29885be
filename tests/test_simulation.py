"""120 unattended days (issue 19): random downtime, random Spotify faults and a lost create answer, and
still the right playlists, once each, with no alarm that was not real. Seeded, so it repeats exactly."""

from __future__ import annotations

import dataclasses
import datetime
import random

import pytest
from conftest import Simulation

from spotify_tophits import ranking
from spotify_tophits.actions.update import run_update
from spotify_tophits.errors import TemporaryError
from spotify_tophits.store import PlaylistState, open_store

SEED = 64
START = datetime.date(2026, 10, 20)
DAYS = 120
# Spotify requests that fail at random: 500, 503, dropped before or after being applied.
FAULT_SHARE = 0.05


@dataclasses.dataclass
class Schedule:
    """The days the machine ran, and the gaps (first and last day off) between them."""

    days: list[datetime.date]
    gaps: list[tuple[datetime.date, datetime.date]]


def downtime_schedule(generator: random.Random) -> Schedule:
    """Run daily, but after any day go down with a 1-in-8 chance for 1 to 30 days."""
    days: list[datetime.date] = []
    gaps: list[tuple[datetime.date, datetime.date]] = []
    day, end = START, START + datetime.timedelta(days=DAYS)
    while day < end:
        days.append(day)
        if generator.random() < 1 / 8:
            length = generator.randint(1, 30)
            day += datetime.timedelta(days=length + 1)
            if day < end:
                gaps.append((day - datetime.timedelta(days=length), day - datetime.timedelta(days=1)))
        else:
            day += datetime.timedelta(days=1)
    return Schedule(days, gaps)


def crosses(gap: tuple[datetime.date, datetime.date], first_of_period: datetime.date) -> bool:
    return gap[0] <= first_of_period <= gap[1]


@pytest.mark.slow
def test_120_days_with_downtime_and_faults_end_with_every_playlist_right_and_once(
    simulation: Simulation, authorised, emulator, capsys
):
    generator = random.Random(SEED)
    schedule = downtime_schedule(generator)
    # The seed is chosen so the downtime crosses a month end and the year end.
    month_starts = [datetime.date(2026, 11, 1), datetime.date(2026, 12, 1), datetime.date(2027, 2, 1)]
    assert any(crosses(gap, first) for gap in schedule.gaps for first in month_starts)
    assert any(crosses(gap, datetime.date(2027, 1, 1)) for gap in schedule.gaps)
    emulator.inject_random(FAULT_SHARE, seed=SEED)
    lost_create = next(day for day in schedule.days if day >= datetime.date(2027, 1, 1))

    exits: dict[datetime.date, int] = {}
    reasons: list[str] = []
    for day in schedule.days:
        if day == lost_create:
            # The first run of the year creates new playlists: the answer to the first create is lost.
            lost = emulator.inject_drop("POST", r"/v1/me/playlists", after_applying=True)
        moment = datetime.datetime.combine(
            day, datetime.time(5, generator.randrange(60), generator.randrange(60)), tzinfo=datetime.UTC
        )
        try:
            exits[day] = _run(simulation, day, moment)
        except TemporaryError as error:
            exits[day] = 5
            reasons.append(error.message)
    faults = dict(emulator.random_taken)
    requests = emulator.count("")
    # The timer's next attempt, with Spotify behaving: whatever the last run left, it converges.
    emulator.inject_random(0)
    last = schedule.days[-1]
    final_run = _run(simulation, last, datetime.datetime.combine(last, datetime.time(9), tzinfo=datetime.UTC))

    assert set(exits.values()) <= {0, 5}, exits
    assert lost.times == 0  # the lost create answer did happen
    assert final_run == 0
    library = emulator.user_playlists()
    assert len({playlist.name for playlist in library}) == len(library), sorted(p.name for p in library)
    for playlist in library:
        assert len(playlist.items) == len(set(playlist.items)), playlist.name
    store = open_store(authorised.paths.state_db)
    try:
        records = store.managed_playlists()
        earliest, latest = store.earliest_chart_date(), store.latest_chart_date(last)
        assert {record.spotify_id for record in records} == {playlist.id for playlist in library}
        for record in records:
            assert emulator.playlists[record.spotify_id].items == list(record.contents or ()), record.name
            playlist = authorised.playlists[record.key]
            if record.status == PlaylistState.FINAL:
                window = ranking.final_window(record.key, record.period)
            else:
                window = ranking.current_window(record.key, last, earliest, latest)
                assert window is not None
            rows = store.ranked_rows(window.start, window.end)
            if rows:  # a window without chart days keeps what it holds
                target = ranking.rank_tracks(rows, window, playlist.size, authorised.max_per_artist)
                assert list(record.contents or ()) == target, record.name
    finally:
        store.close()
    periods = {(record.key, record.period): record.status for record in records}
    first_month, last_month = f"{schedule.days[0]:%Y-%m}", f"{last:%Y-%m}"
    for (key, period), status in periods.items():
        current = ranking.period_of(key, last)
        assert status == (PlaylistState.ACTIVE if period in (current, key) else PlaylistState.FINAL), (key, period)
    assert ("yearly", "2026") in periods and ("yearly", "2027") in periods
    assert ("monthly", first_month) in periods and ("monthly", last_month) in periods
    finalised = sum(1 for status in periods.values() if status == PlaylistState.FINAL)
    with capsys.disabled():
        print(
            f"\nsimulation seed {SEED}: {len(schedule.gaps)} gaps "
            f"({', '.join(f'{a:%m-%d}–{b:%m-%d}' for a, b in schedule.gaps)}), {len(exits)} runs "
            f"(exit 0: {list(exits.values()).count(0)}, exit 5: {list(exits.values()).count(5)}), "
            f"{sum(faults.values())} random faults {faults}, {requests} requests to the emulator, "
            f"{len(library)} playlists ({finalised} finalised); exit 5 because: {reasons}"
        )


def _run(simulation: Simulation, day: datetime.date, moment: datetime.datetime) -> int:
    simulation.publish(day)
    return run_update(simulation.services, moment).exit_code
