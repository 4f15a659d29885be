"""`config.toml`: read, validated, and turned into one frozen `Settings` every command trusts.

Validation happens here so that every other module can trust a `Settings` object; a bad value
fails with exit 3 and one line naming the key, the value and the fix.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spotify_tophits.budget import DEFAULT_SEARCH_BUDGET, MAXIMUM_SEARCH_BUDGET
from spotify_tophits.config import names
from spotify_tophits.config.notify import NotifySettings, parse_notify
from spotify_tophits.config.paths import Paths, resolve_paths
from spotify_tophits.config.reader import TableReader
from spotify_tophits.config.secrets import Credentials, load_credentials
from spotify_tophits.errors import ConfigError
from spotify_tophits.matching import ExplicitPolicy
from spotify_tophits.sources import registry

PLAYLIST_KEYS = ("daily", "weekly", "monthly", "yearly")
DEFAULT_ENDPOINTS = {
    "spotify_api": "https://api.spotify.com/v1/",
    "spotify_accounts": "https://accounts.spotify.com/",
    "deezer_api": "https://api.deezer.com/",
    "apple_rss": "https://rss.marketingtools.apple.com/",
    "itunes_api": "https://itunes.apple.com/",
    "spotify_charts": "https://charts-spotify-com-service.spotify.com/",
}
ENDPOINT_VARIABLES = {
    "spotify_api": "TOPHITS_SPOTIFY_API_URL",
    "spotify_accounts": "TOPHITS_SPOTIFY_ACCOUNTS_URL",
    "deezer_api": "TOPHITS_DEEZER_API_URL",
    "apple_rss": "TOPHITS_APPLE_RSS_URL",
    "itunes_api": "TOPHITS_ITUNES_API_URL",
    "spotify_charts": "TOPHITS_SPOTIFY_CHARTS_URL",
}
DEFAULT_PLAYLISTS: dict[str, dict[str, Any]] = {
    "daily": {"size": 50, "name": "{prefix}Daily Hits"},
    "weekly": {"size": 100, "name": "{prefix}Weekly Hits"},
    "monthly": {"size": 200, "name": "{prefix}Monthly Hits — {month:%B %Y}"},
    "yearly": {"size": 250, "name": "{prefix}Yearly Hits — {year}"},
}
SIZE_RANGE = (1, 10000)
# Bounds that keep settings meaningful: nan, inf and absurd values parse as TOML but make no sense.
MAX_WEIGHT = 1000.0
MAX_RETRY_WAIT = 3600.0
MAX_PREFIX_LENGTH = 50
MAX_CONFIG_BYTES = 1024 * 1024
# Spotify's editorial and algorithmic playlists; Development Mode apps get 404 for them.
EDITORIAL_PREFIX = "37i9dQZF1"
TOP_LEVEL_KEYS = {
    "timezone",
    "prefix",
    "max_per_artist",
    "sources",
    "playlists",
    "max_retry_wait",
    "min_chart_rows",
    "deezer",
    "backup",
    "notify",
    "metrics",
    "weights",
    "search_budget",
    "chart_rows",
    "export",
    "matching",
}
# A chart longer than its cap is cut to its best ranks: one search per row must not burn the quota.
DEFAULT_CHART_ROWS = 200
MAXIMUM_CHART_ROWS = 1000


@dataclasses.dataclass(frozen=True)
class PlaylistSettings:
    """One managed playlist family (daily, weekly, monthly or yearly)."""

    key: str
    enabled: bool
    size: int
    name: str
    public: bool
    spotify_id: str | None = None


@dataclasses.dataclass(frozen=True)
class BackupSettings:
    """Where archives go and how many are kept (restic-style retention)."""

    directory: Path
    keep_last: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    max_age_hours: int
    max_state_db_mib: int = 2048

    @property
    def max_state_db_bytes(self) -> int:
        """The largest state DB an archive may hold (a larger one is refused unread)."""
        return self.max_state_db_mib * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a command needs to know, validated."""

    paths: Paths
    endpoints: Mapping[str, str]
    credentials: Credentials
    timezone: str
    prefix: str
    max_per_artist: int
    sources: tuple[str, ...]
    weights: Mapping[str, float]
    playlists: Mapping[str, PlaylistSettings]
    max_retry_wait: float
    min_chart_rows: int
    deezer_playlists: Mapping[str, int]
    deezer_requests_per_5s: int
    backup: BackupSettings
    notify: NotifySettings
    config_file_found: bool
    search_budget: int = DEFAULT_SEARCH_BUDGET
    chart_rows: Mapping[str, int] = dataclasses.field(default_factory=dict)
    # `[export] dir`: where each successful update writes the changed playlists as JSON and CSV.
    export_dir: Path | None = None
    explicit: ExplicitPolicy = ExplicitPolicy.AS_CHARTED

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def chart_row_cap(self, source: str) -> int:
        """Return how many rows of a source's chart are kept (its best ranks): `[chart_rows]` or the default."""
        return self.chart_rows.get(source, DEFAULT_CHART_ROWS)

    def enabled_playlists(self) -> list[PlaylistSettings]:
        """Return the enabled playlists in their canonical order."""
        return [self.playlists[key] for key in PLAYLIST_KEYS if self.playlists[key].enabled]

    def require_credentials(self) -> Credentials:
        """Return the credentials, or raise ConfigError naming what is missing and where to put it."""
        shared = self.paths.shared_env_file
        where = f"set it in {self.paths.env_file}{f', {shared}' if shared else ''} or the environment"
        if not self.credentials.client_id:
            raise ConfigError(f"SPOTIPY_CLIENT_ID is not set; {where} (see README 'Create a Spotify app')")
        if not self.credentials.client_secret:
            raise ConfigError(
                f"SPOTIPY_CLIENT_SECRET is not set; {where}, or as the systemd credential 'spotify-client-secret'"
            )
        return self.credentials


def render_playlist_name(template: str, prefix: str, period_start: datetime.date) -> str:
    """Given a name template, the persona prefix and the period's first day, return the playlist name."""
    return names.render_name(template, prefix, period_start)


def _parse_playlist(table: TableReader, key: str, prefix: str) -> PlaylistSettings:
    allowed = {"enabled", "size", "name", "public"} | ({"spotify_id"} if key in ("daily", "weekly") else set())
    table.check_keys(allowed)
    defaults = DEFAULT_PLAYLISTS[key]
    size = table.get("size", int, defaults["size"])
    if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise table.fail("size", size, "is out of range; use a whole number from 1 to 10000")
    name = table.get("name", str, defaults["name"])
    problem = names.template_problem(name)
    if problem:
        raise table.fail("name", name, problem)
    longest = render_playlist_name(name, prefix, names.LONGEST_MONTH)
    if len(longest) > names.MAX_NAME_LENGTH:
        raise table.fail(
            "name",
            name,
            f"makes names of up to {len(longest)} characters with this prefix; Spotify allows"
            f" {names.MAX_NAME_LENGTH}: shorten the name or the prefix",
        )
    spotify_id = table.get("spotify_id", str, "") or None
    if spotify_id and spotify_id.startswith(EDITORIAL_PREFIX):
        raise table.fail(
            "spotify_id",
            spotify_id,
            "is a Spotify-owned editorial playlist, which Development Mode apps cannot read or write;"
            " remove it and tophits creates a playlist of its own",
        )
    if spotify_id and not re.fullmatch(r"[0-9A-Za-z]{22}", spotify_id):
        raise table.fail("spotify_id", spotify_id, "is not a Spotify playlist id (22 letters and digits)")
    return PlaylistSettings(
        key=key,
        enabled=table.get("enabled", bool, True),
        size=size,
        name=name,
        public=table.get("public", bool, False),
        spotify_id=spotify_id,
    )


def _parse_sources(reader: TableReader, deezer_playlists: Mapping[str, int]) -> tuple[str, ...]:
    sources = reader.table.get("sources", registry.DEFAULT_SOURCES)
    if not isinstance(sources, list) or not sources or not all(isinstance(item, str) for item in sources):
        raise reader.fail("sources", sources, 'must be a non-empty list of strings, e.g. ["deezer:worldwide"]')
    if len(set(sources)) != len(sources):
        raise reader.fail("sources", sources, "lists a source twice; remove the duplicate")
    for source in sources:
        problem = registry.check_spec(source, deezer_playlists)
        if problem:
            raise reader.fail("sources", source, problem)
    return tuple(sources)


def _parse_weights(reader: TableReader, sources: tuple[str, ...]) -> dict[str, float]:
    reader.check_keys(set(sources))
    weights = {}
    for source in reader.table:
        weight = float(reader.get(source, float, 1.0))
        if not 0 < weight <= MAX_WEIGHT:
            raise reader.fail(
                source,
                weight,
                f"is out of range; use a number above 0 and at most {MAX_WEIGHT} (remove the source to leave it out)",
            )
        weights[source] = weight
    return weights


def _parse_chart_rows(reader: TableReader, sources: tuple[str, ...]) -> dict[str, int]:
    reader.check_keys(set(sources))
    caps = {}
    for source in reader.table:
        cap = reader.get(source, int, DEFAULT_CHART_ROWS)
        if not 1 <= cap <= MAXIMUM_CHART_ROWS:
            raise reader.fail(source, cap, f"is out of range; use a whole number from 1 to {MAXIMUM_CHART_ROWS}")
        caps[source] = cap
    return caps


def _parse_backup(reader: TableReader, paths: Paths) -> BackupSettings:
    reader.check_keys(
        {"directory", "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "max_age_hours", "max_state_db_mib"}
    )
    directory = reader.get("directory", str, "")
    counts = {}
    for key, default in (("keep_last", 7), ("keep_daily", 7), ("keep_weekly", 4), ("keep_monthly", 12)):
        counts[key] = reader.get(key, int, default)
        if counts[key] < 0:
            raise reader.fail(key, counts[key], "must be zero or more")
    max_age = reader.get("max_age_hours", int, 48)
    if not 1 <= max_age <= 24 * 366:
        raise reader.fail("max_age_hours", max_age, "is out of range; use a whole number of hours from 1 to 8784")
    max_state = reader.get("max_state_db_mib", int, 2048)
    if not 1 <= max_state <= 1024 * 1024:
        raise reader.fail("max_state_db_mib", max_state, "is out of range; use a whole number from 1 to 1048576")
    return BackupSettings(
        directory=Path(directory).expanduser() if directory else paths.state_dir / "backups",
        max_age_hours=max_age,
        max_state_db_mib=max_state,
        **counts,
    )


def _parse_export(reader: TableReader) -> Path | None:
    reader.check_keys({"dir"})
    directory = reader.get("dir", str, "")
    if directory and not Path(directory).expanduser().is_absolute():
        raise reader.fail("dir", directory, "must be an absolute path, e.g. /srv/charts")
    return Path(directory).expanduser() if directory else None


def _parse_deezer(reader: TableReader) -> tuple[dict[str, int], int]:
    reader.check_keys({"playlists", "requests_per_5s"})
    rate = reader.get("requests_per_5s", int, 50)
    if rate < 1:
        raise reader.fail("requests_per_5s", rate, "must be at least 1 (Deezer allows 50 per 5 s per IP)")
    table = reader.table_at("playlists")
    playlists = dict(registry.DEEZER_CHART_PLAYLISTS)
    for country in table.table:
        playlists[country] = table.get(country, int, 0)
    return playlists, rate


def _endpoints(environ: Mapping[str, str]) -> dict[str, str]:
    endpoints = {}
    for key, variable in ENDPOINT_VARIABLES.items():
        url = environ.get(variable) or DEFAULT_ENDPOINTS[key]
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{variable} = {url!r} is not an http(s) URL; set it to e.g. {DEFAULT_ENDPOINTS[key]}")
        endpoints[key] = url if url.endswith("/") else url + "/"
    return endpoints


def _read_document(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: over {MAX_CONFIG_BYTES // 1024} KiB, which no tophits config needs; fix it")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error}); fix the syntax at that line") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read; fix the arrays or tables nested in it") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read ({error}); check its permissions and encoding") from None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings for this environment. A missing config file means defaults."""
    environ = dict(os.environ if environ is None else environ)
    paths = resolve_paths(environ)
    found = paths.config_file.is_file()
    reader = TableReader(_read_document(paths.config_file) if found else {}, str(paths.config_file))
    reader.check_keys(TOP_LEVEL_KEYS)
    timezone = reader.get("timezone", str, "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise reader.fail("timezone", timezone, "is not an IANA time zone; use e.g. 'Europe/Berlin' or 'UTC'") from None
    prefix = reader.get("prefix", str, "")
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise reader.fail("prefix", prefix, f"is {len(prefix)} characters; use at most {MAX_PREFIX_LENGTH}")
    max_per_artist = reader.get("max_per_artist", int, 3)
    if max_per_artist < 1:
        raise reader.fail("max_per_artist", max_per_artist, "must be at least 1")
    max_retry_wait = float(reader.get("max_retry_wait", float, 30))
    if not 0 <= max_retry_wait <= MAX_RETRY_WAIT:
        raise reader.fail(
            "max_retry_wait", max_retry_wait, f"is out of range; use a number of seconds from 0 to {MAX_RETRY_WAIT}"
        )
    min_chart_rows = reader.get("min_chart_rows", int, 10)
    if min_chart_rows < 1:
        raise reader.fail("min_chart_rows", min_chart_rows, "must be at least 1")
    search_budget = reader.get("search_budget", int, DEFAULT_SEARCH_BUDGET)
    if not 0 <= search_budget <= MAXIMUM_SEARCH_BUDGET:
        raise reader.fail(
            "search_budget", search_budget, f"is out of range; use a whole number from 0 to {MAXIMUM_SEARCH_BUDGET}"
        )
    deezer_playlists, deezer_rate = _parse_deezer(reader.table_at("deezer"))
    sources = _parse_sources(reader, deezer_playlists)
    playlists_table = reader.table_at("playlists")
    playlists_table.check_keys(set(PLAYLIST_KEYS))
    return Settings(
        paths=paths,
        endpoints=_endpoints(environ),
        credentials=load_credentials(environ, paths.env_file, paths.shared_env_file),
        timezone=timezone,
        prefix=prefix,
        max_per_artist=max_per_artist,
        sources=sources,
        weights=_parse_weights(reader.table_at("weights"), sources),
        playlists={key: _parse_playlist(playlists_table.table_at(key), key, prefix) for key in PLAYLIST_KEYS},
        max_retry_wait=max_retry_wait,
        min_chart_rows=min_chart_rows,
        deezer_playlists=deezer_playlists,
        deezer_requests_per_5s=deezer_rate,
        backup=_parse_backup(reader.table_at("backup"), paths),
        notify=parse_notify(reader.table_at("notify"), reader.table_at("metrics")),
        config_file_found=found,
        search_budget=search_budget,
        chart_rows=_parse_chart_rows(reader.table_at("chart_rows"), sources),
        export_dir=_parse_export(reader.table_at("export")),
        explicit=_parse_matching(reader.table_at("matching")),
    )


def _parse_matching(reader: TableReader) -> ExplicitPolicy:
    reader.check_keys({"explicit"})
    value = reader.get("explicit", str, ExplicitPolicy.AS_CHARTED.value)
    try:
        return ExplicitPolicy(value)
    except ValueError:
        choices = ", ".join(f'"{policy.value}"' for policy in ExplicitPolicy)
        raise reader.fail("explicit", value, f"is not a policy; use one of {choices}") from None
