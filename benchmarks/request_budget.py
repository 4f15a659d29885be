"""Spotify requests per day over 60 simulated days, against DESIGN §4's minimum and a naive strategy.

Run by hand: `python benchmarks/request_budget.py [days]`. Uses the emulator's request counters.

- minimum: one search per chart row never seen before (two when the ISRC search finds nothing and
  a text search follows), one create per new playlist, and ceil(n/100) writes per playlist whose
  contents changed; zero for an unchanged one.
- naive: re-resolve every row every day (one search each) and clear and re-add every playlist
  every day (one PUT to clear, one POST per 100 tracks), plus one listing.
"""

from __future__ import annotations

import datetime
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from spotify_tophits.actions.auth import authorise
from spotify_tophits.actions.demo import DEMO_CONFIG, follow_authorise_redirect
from spotify_tophits.actions.update import run_update
from spotify_tophits.config import load_settings
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World
from spotify_tophits.services import Services

FIRST_DAY = datetime.date(2026, 3, 1)
# Chart-source requests go to Deezer, Apple and iTunes, not to Spotify's quota.
CHART_PATHS = ("/deezer", "/apple", "/itunes", "/spotify-charts")


def simulate(days: int) -> list[dict[str, float]]:
    """Run `days` daily updates and return, per day, tophits' requests, the minimum and the naive count."""
    world = World(start=FIRST_DAY)
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as directory, Emulator(world) as emulator:
        environment = emulator.environment() | {
            "TOPHITS_CONFIG_DIR": f"{directory}/config",
            "TOPHITS_STATE_DIR": f"{directory}/state",
        }
        Path(directory, "config").mkdir()
        Path(directory, "config", "config.toml").write_text(DEMO_CONFIG)
        settings = load_settings(environment)
        start = datetime.datetime.combine(FIRST_DAY, datetime.time(6), tzinfo=datetime.UTC)
        authorise(settings, follow_authorise_redirect, start, time.sleep)
        services = Services(settings)
        for offset in range(days):
            day = FIRST_DAY + datetime.timedelta(days=offset)
            emulator.publish_day(day)
            emulator.reset_counts()
            result = run_update(services, datetime.datetime.combine(day, datetime.time(6), tzinfo=datetime.UTC))
            spotify = Counter(
                {
                    endpoint: n
                    for endpoint, n in emulator.requests.items()
                    if not endpoint.split(" ")[1].startswith(CHART_PATHS)
                }
            )
            creates = sum(1 for o in result.playlists if o.status in ("created", "recreated"))
            changed_writes = sum(math.ceil(max(1, o.tracks) / 100) for o in result.playlists if o.writes)
            naive = len(world.chart(day)) + 1 + sum(1 + math.ceil(o.tracks / 100) for o in result.playlists)
            rows.append(
                {
                    "day": offset + 1,
                    "tophits": float(sum(spotify.values())),
                    "minimum": float(result.searches + creates + changed_writes),
                    "naive": float(naive),
                    "writes": float(sum(n for e, n in spotify.items() if e.startswith(("PUT", "POST", "DELETE")))),
                    "searches": float(spotify["GET /search"]),
                    "listings": float(spotify["GET /me/playlists"]),
                    "item reads": float(spotify["GET /playlists/{id}/items"]),
                }
            )
        emulator.reset_counts()
        repeat = run_update(services, datetime.datetime.combine(day, datetime.time(7), tzinfo=datetime.UTC))
        rows.append(
            {
                "day": 0,
                "tophits": float(emulator.count("") - sum(emulator.count(f"GET {path}") for path in CHART_PATHS)),
                "minimum": 0.0,
                "naive": 0.0,
                "writes": float(emulator.count("PUT") + emulator.count("POST")),
                "searches": float(emulator.count("GET /search")),
                "listings": float(emulator.count("GET /me/playlists")),
                "item reads": float(emulator.count("GET /playlists/{id}/items")),
            }
        )
        assert repeat.exit_code == 0
    return rows


def main() -> None:
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    rows = simulate(days)
    daily, repeat = rows[:-1], rows[-1]
    columns = ["day", "tophits", "minimum", "naive", "writes", "searches", "listings", "item reads"]
    print(" ".join(f"{c:>10}" for c in columns))
    for row in daily[:3] + daily[-3:]:
        print(" ".join(f"{row[c]:>10.0f}" for c in columns))
    totals = {c: sum(row[c] for row in daily) for c in columns[1:]}
    print(" ".join([f"{'total':>10}"] + [f"{totals[c]:>10.0f}" for c in columns[1:]]))
    steady = daily[1:]
    steady_ratio = sum(r["tophits"] for r in steady) / sum(r["minimum"] for r in steady)
    print(f"ratio to minimum, all days: {totals['tophits'] / totals['minimum']:.3f} (goal <= 1.10)")
    print(f"ratio to minimum, after day 1: {steady_ratio:.3f}")
    print(f"ratio to naive: {totals['tophits'] / totals['naive']:.3f}")
    print(
        f"repeat run on the last day: {repeat['writes']:.0f} writes, {repeat['searches']:.0f} searches,"
        f" {repeat['item reads']:.0f} item reads, {repeat['listings']:.0f} listing"
    )


if __name__ == "__main__":
    main()
