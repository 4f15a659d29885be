"""The one place that knows every kind of source: how its spec in `sources = [...]` is checked, and how it is built.

A spec is `kind` or `kind:argument` (`deezer:worldwide`, `apple:gb`, `csv:/srv/charts/today.csv`).
Adding a source means one module for the source and one entry in `KINDS` here.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from spotify_tophits.sources.base import ChartSource

if TYPE_CHECKING:
    import requests

    from spotify_tophits.config import Settings
    from spotify_tophits.retry import RetryBudget
    from spotify_tophits.sources.deezer_client import DeezerClient
    from spotify_tophits.spotify import SpotifyGateway
    from spotify_tophits.store import Store

DEFAULT_SOURCES = ["deezer:worldwide", "apple:us"]
# Deezer's editorial "Top <Country>" playlists (owned by Deezer user 637006841). The chart
# endpoint /chart/0 follows the caller's IP country, which is a surprise on a VPS, so a
# country is always named explicitly. Users can add or override entries in config.
DEEZER_CHART_PLAYLISTS = {
    "worldwide": 3155776842,
    "france": 1109890291,
    "usa": 1313621735,
    "uk": 1111142221,
    "germany": 1111143121,
    "spain": 1116190041,
    "italy": 1116187241,
    "brazil": 1111141961,
    "canada": 1652248171,
    "mexico": 1111142361,
}


@dataclasses.dataclass(frozen=True)
class BuildContext:
    """What building a source may use: the settings, the state store, an HTTP session, Spotify, the
    services' clock (to date what a source learns) and sleep (between retries, for pacing), and the one
    Deezer client every source that talks to Deezer shares (one pacer: Deezer's limit is per IP)."""

    settings: Settings
    store: Store
    session: requests.Session
    gateway: Callable[[], SpotifyGateway] | None
    clock: Callable[[], datetime.datetime]
    sleep: Callable[[float], None]
    deezer: DeezerClient
    # Pacing is not a retry: it sleeps outside the run's retry budget (None: the same as `sleep`).
    pacing_sleep: Callable[[float], None] | None = None


@dataclasses.dataclass(frozen=True)
class SourceKind:
    """One kind of source: `check` returns what is wrong with an argument (None: fine); `build` makes it."""

    check: Callable[[str, Mapping[str, int]], str | None]
    build: Callable[[str, str, BuildContext], ChartSource | None]


def _check_deezer(argument: str, deezer_playlists: Mapping[str, int]) -> str | None:
    if argument in deezer_playlists or argument.isdigit():
        return None
    return f"names an unknown Deezer chart; use one of {', '.join(sorted(deezer_playlists))}, or a playlist id"


def _build_deezer(spec: str, argument: str, context: BuildContext) -> ChartSource:
    from spotify_tophits.sources.deezer import DeezerSource

    settings = context.settings
    return DeezerSource(
        name=spec,
        playlist_id=settings.deezer_playlists.get(argument) or int(argument),
        client=context.deezer,
        store=context.store,
        minimum_rows=settings.min_chart_rows,
        clock=context.clock,
    )


def _check_csv(argument: str, deezer_playlists: Mapping[str, int]) -> str | None:
    return None if argument else "needs a path or URL, e.g. csv:/srv/charts/today.csv"


def _build_csv(spec: str, argument: str, context: BuildContext) -> ChartSource:
    from spotify_tophits.sources.csvfile import CsvSource

    return CsvSource(
        name=spec, location=argument, session=context.session, minimum_rows=context.settings.min_chart_rows
    )


def _check_apple(argument: str, deezer_playlists: Mapping[str, int]) -> str | None:
    if re.fullmatch(r"[a-z]{2}", argument):
        return None
    return "needs a two-letter Apple storefront, e.g. apple:us or apple:gb"


def _build_apple(spec: str, argument: str, context: BuildContext) -> ChartSource:
    from spotify_tophits.sources.apple import AppleSource

    settings = context.settings
    return AppleSource(
        name=spec,
        storefront=argument,
        base_url=settings.endpoints["apple_rss"],
        itunes_url=settings.endpoints["itunes_api"],
        deezer=context.deezer,
        session=context.session,
        store=context.store,
        minimum_rows=settings.min_chart_rows,
        sleep=context.sleep,
        clock=context.clock,
    )


def _check_spotify_charts(argument: str, deezer_playlists: Mapping[str, int]) -> str | None:
    if argument in ("", "global-weekly"):
        return None
    return "only the global weekly chart is public: spotify-charts:global-weekly"


def _build_spotify_charts(spec: str, argument: str, context: BuildContext) -> ChartSource:
    from spotify_tophits.sources.spotify_charts import SpotifyChartsSource

    settings = context.settings
    return SpotifyChartsSource(
        name=spec,
        base_url=settings.endpoints["spotify_charts"],
        session=context.session,
        minimum_rows=settings.min_chart_rows,
        sleep=context.sleep,
    )


def _check_me_top(argument: str, deezer_playlists: Mapping[str, int]) -> str | None:
    return "takes no argument: write me-top" if argument else None


def _build_me_top(spec: str, argument: str, context: BuildContext) -> ChartSource | None:
    from spotify_tophits.sources.me_top import MeTopSource

    # Without Spotify (doctor's probes) there is nothing to read the account's top tracks with.
    return None if context.gateway is None else MeTopSource(name=spec, gateway=context.gateway, minimum_rows=1)


KINDS: dict[str, SourceKind] = {
    "deezer": SourceKind(_check_deezer, _build_deezer),
    "csv": SourceKind(_check_csv, _build_csv),
    "apple": SourceKind(_check_apple, _build_apple),
    "spotify-charts": SourceKind(_check_spotify_charts, _build_spotify_charts),
    "me-top": SourceKind(_check_me_top, _build_me_top),
}


def check_spec(spec: str, deezer_playlists: Mapping[str, int]) -> str | None:
    """Given a source spec from config.toml, return what is wrong with it (None when it is valid)."""
    kind, _, argument = spec.partition(":")
    if kind not in KINDS:
        return (
            "is not a known source; use deezer:<country>, apple:<storefront>, spotify-charts:global-weekly,"
            " me-top or csv:<path-or-url>"
        )
    return KINDS[kind].check(argument, deezer_playlists)


def build_sources(
    settings: Settings,
    store: Store,
    session: requests.Session,
    gateway: Callable[[], SpotifyGateway] | None,
    *,
    clock: Callable[[], datetime.datetime],
    sleep: Callable[[float], None],
    monotonic: Callable[[], float] = time.monotonic,
    budget: RetryBudget | None = None,
) -> list[ChartSource]:
    """Return the configured sources, in configuration order. `gateway` serves the me-top source (None: skip it).

    With the run's retry `budget`, each source's retries are paid from it (and name the source when it runs out).
    Every Deezer request of every source goes through one `DeezerClient`, paced on `monotonic`: pacing is not
    a retry and sleeps outside the budget; Deezer's retries and quota waits are paid from it.
    """
    from spotify_tophits.sources.deezer_client import DeezerClient

    deezer = DeezerClient(
        settings.endpoints["deezer_api"],
        session,
        requests_per_5s=settings.deezer_requests_per_5s,
        sleep=sleep if budget is None else budget.charged("Deezer"),
        pacing_sleep=sleep,
        monotonic=monotonic,
    )
    context = BuildContext(settings, store, session, gateway, clock, sleep, deezer)
    sources = []
    for spec in settings.sources:
        kind, _, argument = spec.partition(":")
        charged = (
            context if budget is None else dataclasses.replace(context, sleep=budget.charged(spec), pacing_sleep=sleep)
        )
        source = KINDS[kind].build(spec, argument, charged)
        if source is not None:
            sources.append(source)
    return sources
