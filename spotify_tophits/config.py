"""Settings: `config.toml`, secrets from the environment / `.env` / systemd credentials, and paths.

Every directory resolves through one chain (DESIGN §6): the `TOPHITS_*` variable, then the
directory systemd hands a unit, then platformdirs' per-user default. Validation happens here so
that every other module can trust a `Settings` object; a bad value fails with exit 3 and one
line naming the key, the value and the fix.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import re
import tomllib
import urllib.parse
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spotify_tophits.errors import ConfigError

APP_NAME = "tophits"
PLAYLIST_KEYS = ("daily", "weekly", "monthly", "yearly")
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"
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
DEFAULT_SOURCES = ["deezer:worldwide", "apple:us"]
DEFAULT_PLAYLISTS: dict[str, dict[str, Any]] = {
    "daily": {"size": 50, "name": "{prefix}Daily Hits"},
    "weekly": {"size": 100, "name": "{prefix}Weekly Hits"},
    "monthly": {"size": 200, "name": "{prefix}Monthly Hits — {month:%B %Y}"},
    "yearly": {"size": 250, "name": "{prefix}Yearly Hits — {year}"},
}
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
SIZE_RANGE = (1, 10000)
# Spotify's editorial and algorithmic playlists; Development Mode apps get 404 for them.
EDITORIAL_PREFIX = "37i9dQZF1"


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
class Paths:
    """Where tophits keeps its files, and which chain entry each directory came from."""

    config_file: Path
    config_dir: Path
    state_dir: Path
    cache_dir: Path
    origins: Mapping[str, str]

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def token_file(self) -> Path:
        return self.state_dir / "token.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "update.lock"

    @property
    def env_file(self) -> Path:
        return self.config_file.parent / ".env"


@dataclasses.dataclass(frozen=True)
class Credentials:
    """Spotify app credentials. The secret never appears in repr, logs or output."""

    client_id: str | None
    client_secret: str | None = dataclasses.field(repr=False)
    redirect_uri: str
    secret_source: str | None


@dataclasses.dataclass(frozen=True)
class BackupSettings:
    """Where archives go and how many are kept (restic-style retention)."""

    directory: Path
    keep_last: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    max_age_hours: int


@dataclasses.dataclass(frozen=True)
class Channel:
    """One notification channel: a generic JSON webhook or an Apprise URL, and the severities it gets."""

    kind: str  # "webhook" or "apprise"
    url: str = dataclasses.field(repr=False)  # may embed a token (Slack, Telegram, ...)
    severities: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class NotifySettings:
    """Where alerts go, and the optional dead-man's-switch ping URLs (healthchecks-style)."""

    channels: tuple[Channel, ...]
    ping: Mapping[str, str]  # job ("update", "backup") -> base URL
    metrics_textfile: Path | None


SEVERITIES = ("critical", "warning", "info")


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

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def enabled_playlists(self) -> list[PlaylistSettings]:
        """Return the enabled playlists in their canonical order."""
        return [self.playlists[key] for key in PLAYLIST_KEYS if self.playlists[key].enabled]

    def require_credentials(self) -> Credentials:
        """Return the credentials, or raise ConfigError naming what is missing and where to put it."""
        where = f"set it in {self.paths.env_file} or the environment"
        if not self.credentials.client_id:
            raise ConfigError(f"SPOTIPY_CLIENT_ID is not set; {where} (see README 'Create a Spotify app')")
        if not self.credentials.client_secret:
            raise ConfigError(
                f"SPOTIPY_CLIENT_SECRET is not set; {where}, or as the systemd credential 'spotify-client-secret'"
            )
        return self.credentials


def _first_path(value: str) -> Path:
    # systemd passes a colon-separated list when a unit names several directories.
    return Path(value.split(":")[0])


def resolve_directory(kind: str, environ: Mapping[str, str]) -> tuple[Path, str]:
    """Given a kind (config, state or cache), return the directory and the chain entry that chose it."""
    import platformdirs

    own = f"TOPHITS_{kind.upper()}_DIR"
    systemd = {"config": "CONFIGURATION_DIRECTORY", "state": "STATE_DIRECTORY", "cache": "CACHE_DIRECTORY"}[kind]
    if environ.get(own):
        return Path(environ[own]), own
    if environ.get(systemd):
        return _first_path(environ[systemd]), systemd
    default = {
        "config": platformdirs.user_config_dir,
        "state": platformdirs.user_state_dir,
        "cache": platformdirs.user_cache_dir,
    }[kind](APP_NAME)
    return Path(default), "platformdirs"


def resolve_paths(environ: Mapping[str, str]) -> Paths:
    """Given the environment, return the resolved paths (nothing is created)."""
    config_dir, config_origin = resolve_directory("config", environ)
    state_dir, state_origin = resolve_directory("state", environ)
    cache_dir, cache_origin = resolve_directory("cache", environ)
    if environ.get("TOPHITS_CONFIG"):
        config_file = Path(environ["TOPHITS_CONFIG"])
        config_origin = "TOPHITS_CONFIG"
    else:
        config_file = config_dir / "config.toml"
    return Paths(
        config_file=config_file,
        config_dir=config_file.parent,
        state_dir=state_dir,
        cache_dir=cache_dir,
        origins={"config": config_origin, "state": state_origin, "cache": cache_origin},
    )


def validate_redirect_uri(uri: str) -> str:
    """Return the redirect URI if Spotify would accept it for a loopback app, else raise ConfigError."""
    fix = f"use a loopback IP literal with a port, e.g. {DEFAULT_REDIRECT_URI}"
    parsed = urllib.parse.urlparse(uri)
    host = parsed.hostname or ""
    if host == "localhost":
        raise ConfigError(f"SPOTIPY_REDIRECT_URI = {uri!r}: Spotify rejects 'localhost' redirect URIs; {fix}")
    if parsed.scheme == "https" and host:
        return uri
    try:
        loopback = parsed.scheme == "http" and ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or parsed.port is None:
        raise ConfigError(f"SPOTIPY_REDIRECT_URI = {uri!r} is not a loopback IP literal with a port; {fix}")
    return uri


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}; fix the file or remove it") from None
    return {key: value for key, value in values.items() if value is not None}


def _read_credential(environ: Mapping[str, str]) -> str | None:
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / "spotify-client-secret"
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read systemd credential {path}: {error}; check LoadCredential=") from None


def load_credentials(environ: Mapping[str, str], env_file: Path) -> Credentials:
    """Return the Spotify credentials: the environment wins over `.env`, the systemd credential over both."""
    from_file = _read_env_file(env_file)

    def lookup(name: str) -> tuple[str | None, str | None]:
        if environ.get(name):
            return environ[name], "environment"
        if from_file.get(name):
            return from_file[name], f".env ({env_file})"
        return None, None

    client_id, _ = lookup("SPOTIPY_CLIENT_ID")
    secret, secret_source = lookup("SPOTIPY_CLIENT_SECRET")
    credential = _read_credential(environ)
    if credential:
        secret, secret_source = credential, "systemd credential"
    redirect, _ = lookup("SPOTIPY_REDIRECT_URI")
    return Credentials(
        client_id=client_id,
        client_secret=secret,
        redirect_uri=validate_redirect_uri(redirect or DEFAULT_REDIRECT_URI),
        secret_source=secret_source,
    )


class _Reader:
    """Typed access to a TOML table that reports the dotted key of any bad value."""

    def __init__(self, table: Mapping[str, Any], where: str, prefix: str = "") -> None:
        self.table = table
        self.where = where
        self.prefix = prefix

    def fail(self, key: str, value: object, fix: str) -> ConfigError:
        return ConfigError(f"{self.where}: {self.prefix}{key} = {value!r} {fix}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(
                    key, self.table[key], f"is not a known setting; remove it (known: {', '.join(sorted(allowed))})"
                )

    def get(self, key: str, kind: type, default: Any) -> Any:
        value = self.table.get(key, default)
        # bool is an int subclass in Python, so check it explicitly.
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(key, value, "must be a whole number")
        if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self.fail(key, value, "must be a number")
        if kind in (str, bool) and not isinstance(value, kind):
            raise self.fail(key, value, f"must be {'true or false' if kind is bool else 'a string'}")
        return value

    def table_at(self, key: str) -> _Reader:
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, value, "must be a table")
        return _Reader(value, self.where, f"{self.prefix}{key}.")


def _parse_playlists(reader: _Reader, prefix: str) -> dict[str, PlaylistSettings]:
    reader.check_keys(set(PLAYLIST_KEYS))
    playlists = {}
    for key in PLAYLIST_KEYS:
        table = reader.table_at(key)
        allowed = {"enabled", "size", "name", "public"} | ({"spotify_id"} if key in ("daily", "weekly") else set())
        table.check_keys(allowed)
        defaults = DEFAULT_PLAYLISTS[key]
        size = table.get("size", int, defaults["size"])
        if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
            raise table.fail("size", size, "is out of range; use a whole number from 1 to 10000")
        name = table.get("name", str, defaults["name"])
        try:
            render_playlist_name(name, prefix, datetime.date(2026, 1, 1))
        except (KeyError, ValueError, IndexError, AttributeError) as error:
            raise table.fail(
                "name", name, f"is not a valid template ({error}); use {{prefix}}, {{month:%B %Y}} or {{year}}"
            ) from None
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
        playlists[key] = PlaylistSettings(
            key=key,
            enabled=table.get("enabled", bool, True),
            size=size,
            name=name,
            public=table.get("public", bool, False),
            spotify_id=spotify_id,
        )
    return playlists


def render_playlist_name(template: str, prefix: str, period_start: datetime.date) -> str:
    """Given a name template, the persona prefix and the period's first day, return the playlist name."""
    return template.format(prefix=prefix, month=period_start, year=period_start.year)


def _parse_sources(reader: _Reader, deezer_playlists: Mapping[str, int]) -> tuple[str, ...]:
    sources = reader.table.get("sources", DEFAULT_SOURCES)
    if not isinstance(sources, list) or not sources or not all(isinstance(item, str) for item in sources):
        raise reader.fail("sources", sources, 'must be a non-empty list of strings, e.g. ["deezer:worldwide"]')
    if len(set(sources)) != len(sources):
        raise reader.fail("sources", sources, "lists a source twice; remove the duplicate")
    for source in sources:
        kind, _, argument = source.partition(":")
        if kind == "deezer":
            if argument not in deezer_playlists and not argument.isdigit():
                known = ", ".join(sorted(deezer_playlists))
                raise reader.fail(
                    "sources", source, f"names an unknown Deezer chart; use one of {known}, or a playlist id"
                )
        elif kind == "csv":
            if not argument:
                raise reader.fail("sources", source, "needs a path or URL, e.g. csv:/srv/charts/today.csv")
        elif kind == "apple":
            if not re.fullmatch(r"[a-z]{2}", argument):
                raise reader.fail("sources", source, "needs a two-letter Apple storefront, e.g. apple:us or apple:gb")
        elif kind == "spotify-charts":
            if argument not in ("", "global-weekly"):
                raise reader.fail(
                    "sources", source, "only the global weekly chart is public: spotify-charts:global-weekly"
                )
        elif kind == "me-top":
            if argument:
                raise reader.fail("sources", source, "takes no argument: write me-top")
        else:
            raise reader.fail(
                "sources",
                source,
                "is not a known source; use deezer:<country>, apple:<storefront>, spotify-charts:global-weekly,"
                " me-top or csv:<path-or-url>",
            )
    return tuple(sources)


def _parse_backup(reader: _Reader, paths: Paths) -> BackupSettings:
    reader.check_keys({"directory", "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "max_age_hours"})
    directory = reader.get("directory", str, "")
    counts = {}
    for key, default in (("keep_last", 7), ("keep_daily", 7), ("keep_weekly", 4), ("keep_monthly", 12)):
        counts[key] = reader.get(key, int, default)
        if counts[key] < 0:
            raise reader.fail(key, counts[key], "must be zero or more")
    max_age = reader.get("max_age_hours", int, 48)
    if max_age < 1:
        raise reader.fail("max_age_hours", max_age, "must be at least 1")
    return BackupSettings(
        directory=Path(directory).expanduser() if directory else paths.state_dir / "backups",
        max_age_hours=max_age,
        **counts,
    )


def _parse_notify(reader: _Reader, metrics: _Reader) -> NotifySettings:
    reader.check_keys({"channels", "ping_update", "ping_backup"})
    raw_channels = reader.table.get("channels", [])
    if not isinstance(raw_channels, list):
        raise reader.fail("channels", raw_channels, "must be an array of tables ([[notify.channels]])")
    channels = []
    for index, raw in enumerate(raw_channels):
        if not isinstance(raw, dict):
            raise reader.fail(f"channels[{index}]", raw, "must be a table with webhook or apprise")
        channel = _Reader(raw, reader.where, f"notify.channels[{index}].")
        channel.check_keys({"webhook", "apprise", "severities"})
        kinds = [kind for kind in ("webhook", "apprise") if kind in raw]
        if len(kinds) != 1:
            raise channel.fail(
                "webhook", raw.get("webhook"), '- give exactly one of webhook = "https://..." or apprise = "..."'
            )
        url = channel.get(kinds[0], str, "")
        if kinds[0] == "webhook" and not url.startswith(("http://", "https://")):
            raise channel.fail("webhook", "<hidden>", "must be an http(s) URL")
        severities = raw.get("severities", ["critical", "warning"])
        if not isinstance(severities, list) or not severities or any(s not in SEVERITIES for s in severities):
            raise channel.fail("severities", severities, 'must list some of "critical", "warning", "info"')
        channels.append(Channel(kinds[0], url, tuple(severities)))
    ping = {}
    for job in ("update", "backup"):
        url = reader.get(f"ping_{job}", str, "")
        if url and not url.startswith(("http://", "https://")):
            raise reader.fail(f"ping_{job}", "<hidden>", "must be an http(s) URL, e.g. https://hc-ping.com/<uuid>")
        if url:
            ping[job] = url.rstrip("/")
    metrics.check_keys({"textfile"})
    textfile = metrics.get("textfile", str, "")
    return NotifySettings(tuple(channels), ping, Path(textfile) if textfile else None)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings for this environment. A missing config file means defaults."""
    environ = dict(os.environ if environ is None else environ)
    paths = resolve_paths(environ)
    where = str(paths.config_file)
    found = paths.config_file.is_file()
    document: dict[str, Any] = {}
    if found:
        try:
            document = tomllib.loads(paths.config_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{where}: not valid TOML ({error}); fix the syntax at that line") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{where}: cannot read ({error}); check its permissions and encoding") from None
    reader = _Reader(document, where)
    reader.check_keys(
        {
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
        }
    )
    timezone = reader.get("timezone", str, "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise reader.fail("timezone", timezone, "is not an IANA time zone; use e.g. 'Europe/Berlin' or 'UTC'") from None
    prefix = reader.get("prefix", str, "")
    max_per_artist = reader.get("max_per_artist", int, 3)
    if max_per_artist < 1:
        raise reader.fail("max_per_artist", max_per_artist, "must be at least 1")
    max_retry_wait = float(reader.get("max_retry_wait", float, 30))
    if max_retry_wait < 0:
        raise reader.fail("max_retry_wait", max_retry_wait, "must be zero or more seconds")
    min_chart_rows = reader.get("min_chart_rows", int, 10)
    if min_chart_rows < 1:
        raise reader.fail("min_chart_rows", min_chart_rows, "must be at least 1")
    deezer = reader.table_at("deezer")
    deezer.check_keys({"playlists", "requests_per_5s"})
    deezer_rate = deezer.get("requests_per_5s", int, 50)
    if deezer_rate < 1:
        raise deezer.fail("requests_per_5s", deezer_rate, "must be at least 1 (Deezer allows 50 per 5 s per IP)")
    deezer_table = deezer.table_at("playlists")
    deezer_playlists = dict(DEEZER_CHART_PLAYLISTS)
    for country in deezer_table.table:
        deezer_playlists[country] = deezer_table.get(country, int, 0)
    sources = _parse_sources(reader, deezer_playlists)
    weights_table = reader.table_at("weights")
    weights_table.check_keys(set(sources))
    weights = {}
    for source in weights_table.table:
        weight = float(weights_table.get(source, float, 1.0))
        if weight <= 0:
            raise weights_table.fail(source, weight, "must be above 0 (remove the source to leave it out)")
        weights[source] = weight
    backup = _parse_backup(reader.table_at("backup"), paths)
    notify = _parse_notify(reader.table_at("notify"), reader.table_at("metrics"))
    endpoints = {}
    for key, variable in ENDPOINT_VARIABLES.items():
        url = environ.get(variable) or DEFAULT_ENDPOINTS[key]
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{variable} = {url!r} is not an http(s) URL; set it to e.g. {DEFAULT_ENDPOINTS[key]}")
        endpoints[key] = url if url.endswith("/") else url + "/"
    return Settings(
        paths=paths,
        endpoints=endpoints,
        credentials=load_credentials(environ, paths.env_file),
        timezone=timezone,
        prefix=prefix,
        max_per_artist=max_per_artist,
        sources=tuple(sources),
        weights=weights,
        playlists=_parse_playlists(reader.table_at("playlists"), prefix),
        max_retry_wait=max_retry_wait,
        min_chart_rows=min_chart_rows,
        deezer_playlists=deezer_playlists,
        deezer_requests_per_5s=deezer_rate,
        backup=backup,
        notify=notify,
        config_file_found=found,
    )
