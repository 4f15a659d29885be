"""The Spotify gateway: the few calls tophits makes, behind a Protocol, with plain dataclasses out.

This is the only module that imports spotipy, and it does so lazily so `tophits --help` and
`tophits status` never pay for it. It owns the request policy of DESIGN §5:
- a 429 is waited out only when its Retry-After fits `max_retry_wait`; otherwise `not_before`
  is recorded and the run stops with exit 5 (spotipy's urllib3 retry would sleep for hours);
- GET/PUT/DELETE are retried on 5xx and dropped connections with capped exponential back-off
  inside a per-run budget; POST is never retried, because adding items is not idempotent;
- an access token Spotify rejects with 401 is refreshed once, transparently;
- a scheduled run never falls into spotipy's interactive login prompt.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import logging
import math
import re
import statistics
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from spotify_tophits.clock import describe_duration, utc_now
from spotify_tophits.errors import AuthError, RateLimitedError, SpotifyRequestError, TemporaryError
from spotify_tophits.files import write_atomically

if TYPE_CHECKING:
    import requests

    from spotify_tophits.config import Settings

logger = logging.getLogger(__name__)

SCOPES = (
    "playlist-read-private",
    "playlist-modify-private",
    "playlist-modify-public",
    "user-read-private",
    "user-top-read",
)
READ_PAGE = 50
WRITE_CHUNK = 100
SEARCH_LIMIT = 10
REFRESH_TOKEN_LIFETIME = datetime.timedelta(days=182)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class User:
    """The authorised Spotify user."""

    id: str
    display_name: str | None
    account_id: str | None


@dataclasses.dataclass(frozen=True)
class Track:
    """A Spotify track as tophits needs it."""

    id: str
    name: str
    artists: tuple[str, ...]
    duration_ms: int | None
    isrc: str | None
    album_type: str | None = None


@dataclasses.dataclass(frozen=True)
class PlaylistInfo:
    """A playlist's metadata (not its items)."""

    id: str
    name: str
    description: str
    owner_id: str
    snapshot_id: str
    public: bool | None
    total: int


class SpotifyGateway(Protocol):
    """The calls tophits makes to Spotify. Implemented by `SpotipyGateway`."""

    stats: RequestStats

    def current_user(self) -> User:
        """Return the authorised user (GET /me)."""
        ...

    def my_playlists(self) -> list[PlaylistInfo]:
        """Return every playlist in the user's library with its snapshot id (GET /me/playlists, pages of 50)."""
        ...

    def playlist_track_ids(self, playlist_id: str) -> list[str]:
        """Return the track ids of a playlist in order (GET /playlists/{id}/items, pages of 50)."""
        ...

    def create_playlist(self, name: str, description: str, public: bool) -> PlaylistInfo:
        """Create an empty playlist for the user (POST /me/playlists, never retried)."""
        ...

    def change_details(self, playlist_id: str, name: str, description: str) -> None:
        """Set a playlist's name and description (PUT /playlists/{id})."""
        ...

    def replace_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        """Replace the items with at most 100 tracks (PUT); return the new snapshot id."""
        ...

    def add_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        """Append at most 100 tracks (POST, never retried); return the new snapshot id."""
        ...

    def search_tracks(self, query: str) -> list[Track]:
        """Return up to 10 tracks for a search query (GET /search, limit 10)."""
        ...

    def top_tracks(self) -> list[Track]:
        """Return the user's short-term top tracks (GET /me/top/tracks)."""
        ...


@dataclasses.dataclass
class RetryPolicy:
    """How hard one run tries before giving up (DESIGN §5)."""

    max_retry_wait: float = 30.0
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    budget_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep


@dataclasses.dataclass
class RequestStats:
    """Per-run request counts and latencies, for the run record and the request budget tests."""

    counts: Counter[str] = dataclasses.field(default_factory=Counter)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    latencies: list[float] = dataclasses.field(default_factory=list)
    rate_limited: int = 0
    retries: int = 0

    def record(self, endpoint: str, status: int | None, seconds: float) -> None:
        self.counts[endpoint] += 1
        if status is not None:
            self.statuses[status] += 1
        self.latencies.append(seconds)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready summary: counts by endpoint, latency percentiles in ms, 429s and retries."""
        return {
            "total": self.total,
            "by_endpoint": dict(sorted(self.counts.items())),
            "by_status": {str(status): count for status, count in sorted(self.statuses.items())},
            "latency_ms": latency_percentiles(self.latencies),
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            # Kept so status can compute percentiles over a week of runs, not averages of averages.
            "latencies_ms": [round(seconds * 1000, 1) for seconds in self.latencies],
        }


def latency_percentiles(latencies: Sequence[float]) -> dict[str, float]:
    """Given latencies in seconds, return p50/p95/p99 in milliseconds (empty when there are none)."""
    if not latencies:
        return {}
    if len(latencies) == 1:
        value = round(latencies[0] * 1000, 1)
        return {"p50": value, "p95": value, "p99": value}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {name: round(cuts[index] * 1000, 1) for name, index in (("p50", 49), ("p95", 94), ("p99", 98))}


_ID_SEGMENT = re.compile(r"/(playlists|tracks|users)/[^/]+")


def endpoint_name(method: str, url: str) -> str:
    """Return 'METHOD /path' with ids replaced by placeholders, e.g. 'PUT /playlists/{id}/items'."""
    path = urllib.parse.urlsplit(url).path
    path = re.sub(r"^.*?/v1(?=/)", "", path)
    path = _ID_SEGMENT.sub(lambda match: f"/{match.group(1)}/{{id}}", path)
    return f"{method} {path.rstrip('/') or '/'}"


def make_session(stats: RequestStats, timeout: float = 10.0) -> requests.Session:
    """Return a requests session without urllib3 retries that records every request in stats."""
    import requests

    class CountingSession(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", timeout)
            started = time.monotonic()
            status: int | None = None
            try:
                response = super().send(request, **kwargs)
                status = response.status_code
                return response
            finally:
                stats.record(endpoint_name(str(request.method), str(request.url)), status, time.monotonic() - started)

    return CountingSession()


class TokenFile:
    """spotipy cache handler that writes token.json atomically with mode 0600.

    It also keeps `authorized_at`, which spotipy does not track, so tophits can warn before the
    6-month refresh-token expiry.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any] | None:
        """Return the stored token info, or None when there is none or it is unreadable."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            logger.warning("token file %s is unreadable; run `tophits auth`", self.path)
            return None
        return data if isinstance(data, dict) else None

    def save_token_to_cache(self, token_info: Mapping[str, Any]) -> None:
        previous = self.read() or {}
        merged = dict(token_info)
        for key in ("authorized_at", "user_id", "display_name"):
            if key in previous and key not in merged:
                merged[key] = previous[key]
        write_atomically(self.path, json.dumps(merged, indent=2, sort_keys=True).encode("utf-8"))


def make_oauth(settings: Settings, session: requests.Session, interactive: bool = False) -> Any:
    """Return a spotipy SpotifyOAuth pointed at the configured accounts service and token file.

    Unless `interactive`, asking spotipy for a token that needs a login raises AuthError instead
    of prompting: a timer run must fail fast with "run `tophits auth`", not hang.
    """
    from spotipy.cache_handler import CacheHandler
    from spotipy.oauth2 import SpotifyOAuth

    credentials = settings.require_credentials()

    class TokenCache(CacheHandler):  # type: ignore[misc]
        # spotipy insists on a CacheHandler subclass; the work is TokenFile's.
        def __init__(self, token_file: TokenFile) -> None:
            self.token_file = token_file

        def get_cached_token(self) -> dict[str, Any] | None:
            return self.token_file.read()

        def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
            self.token_file.save_token_to_cache(token_info)

    class NonInteractiveOAuth(SpotifyOAuth):  # type: ignore[misc]
        def get_auth_response(self, open_browser: bool | None = None) -> str:
            if interactive:
                return str(super().get_auth_response(open_browser))
            raise AuthError("no valid Spotify authorisation (no token, or scopes changed); run `tophits auth`")

    oauth = NonInteractiveOAuth(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        redirect_uri=credentials.redirect_uri,
        scope=" ".join(SCOPES),
        cache_handler=TokenCache(TokenFile(settings.paths.token_file)),
        open_browser=False,
        requests_session=session,
        requests_timeout=10,
    )
    accounts = settings.endpoints["spotify_accounts"]
    oauth.OAUTH_AUTHORIZE_URL = urllib.parse.urljoin(accounts, "authorize")
    oauth.OAUTH_TOKEN_URL = urllib.parse.urljoin(accounts, "api/token")
    return oauth


def oauth_failure(error: Any) -> AuthError:
    """Translate spotipy's SpotifyOauthError into the exit-4 error that tells the user what to do."""
    if getattr(error, "error", None) == "invalid_grant":
        return AuthError(
            "Spotify refused the refresh token (invalid_grant): the authorisation expired or was revoked;"
            " run `tophits auth`"
        )
    return AuthError(f"Spotify authorisation failed ({getattr(error, 'error', error)}); run `tophits auth`")


def retry_after_seconds(headers: Mapping[str, str] | None) -> float:
    """Return the Retry-After delay in seconds (Spotify sends seconds; missing means 1)."""
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


class SpotipyGateway:
    """The SpotifyGateway over spotipy, with tophits' retry and rate-limit policy."""

    def __init__(
        self,
        settings: Settings,
        policy: RetryPolicy | None = None,
        on_rate_limited: Callable[[datetime.datetime], None] | None = None,
        clock: Callable[[], datetime.datetime] = utc_now,
    ) -> None:
        import spotipy

        # spotipy logs request headers (the bearer token) at DEBUG and every HTTP error at
        # ERROR; tophits reports errors itself, so keep spotipy quiet whatever -v says.
        logging.getLogger("spotipy").setLevel(logging.CRITICAL)
        self.stats = RequestStats()
        self.policy = policy or RetryPolicy(max_retry_wait=settings.max_retry_wait)
        self.on_rate_limited = on_rate_limited
        self.clock = clock
        self.session = make_session(self.stats)
        self.oauth = make_oauth(settings, self.session)
        self.client = spotipy.Spotify(
            auth_manager=self.oauth, requests_session=self.session, requests_timeout=10, retries=0
        )
        self.client.prefix = settings.endpoints["spotify_api"]
        self._retry_seconds_left = self.policy.budget_seconds

    # -- the policy ----------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        self._retry_seconds_left -= seconds
        self.stats.retries += 1
        self.policy.sleep(seconds)

    def _call(self, method: str, what: str, action: Callable[[], T]) -> T:
        """Run one Spotify call under the retry policy; translate failures into TophitsErrors."""
        import requests
        from spotipy.exceptions import SpotifyException
        from spotipy.oauth2 import SpotifyOauthError

        attempt = 1
        refreshed = False
        while True:
            try:
                return action()
            except SpotifyOauthError as error:
                raise oauth_failure(error) from None
            except SpotifyException as error:
                status = error.http_status
                if status == 429:
                    self.stats.rate_limited += 1
                    wait = retry_after_seconds(error.headers)
                    if (
                        method != "POST"
                        and wait <= self.policy.max_retry_wait
                        and wait <= self._retry_seconds_left
                        and attempt < self.policy.max_attempts
                    ):
                        logger.warning("Spotify rate limit on %s: waiting %s", what, describe_duration(wait))
                        self._sleep(wait)
                        attempt += 1
                        continue
                    not_before = self.clock() + datetime.timedelta(seconds=math.ceil(wait))
                    if self.on_rate_limited is not None:
                        self.on_rate_limited(not_before)
                    kind = "daily quota exceeded" if error.reason == "QUOTA_EXCEEDED" else "rate limited"
                    raise RateLimitedError(
                        f"Spotify {kind} ({what}); retry after {describe_duration(wait)}"
                        f" (not before {not_before:%Y-%m-%d %H:%M} UTC)"
                    ) from None
                if status == 401 and not refreshed:
                    refreshed = True
                    self._force_refresh()
                    continue
                if status == 401:
                    raise AuthError("Spotify rejected the access token; run `tophits auth`") from None
                if status == 403:
                    # Development Mode answers 403 to accounts missing from the app's user list and to
                    # tokens without the scope a call needs: both are fixed on the authorisation side.
                    raise AuthError(
                        f"Spotify refused {what} (403): the token may lack a scope, or your account is not in the"
                        " app's User Management list (Development Mode); check the dashboard, then run `tophits auth`"
                    ) from None
                if status >= 500:
                    if self._may_retry(method, attempt):
                        attempt += 1
                        continue
                    raise TemporaryError(f"Spotify answered {status} to {what}; try again later") from None
                raise SpotifyRequestError(f"Spotify answered {status} to {what}: {_message(error)}", status) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                if self._may_retry(method, attempt):
                    attempt += 1
                    continue
                raise TemporaryError(f"network error talking to Spotify ({what}): {type(error).__name__}") from None

    def _may_retry(self, method: str, attempt: int) -> bool:
        if method == "POST" or attempt >= self.policy.max_attempts:
            return False
        delay = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        if delay > self._retry_seconds_left:
            return False
        self._sleep(delay)
        return True

    def _force_refresh(self) -> None:
        from spotipy.oauth2 import SpotifyOauthError

        token = self.oauth.cache_handler.get_cached_token()
        if not token or "refresh_token" not in token:
            raise AuthError("no Spotify refresh token stored; run `tophits auth`")
        try:
            self.oauth.refresh_access_token(token["refresh_token"])
        except SpotifyOauthError as error:
            raise oauth_failure(error) from None

    # -- the calls --------------------------------------------------------------------------------
    def current_user(self) -> User:
        data = self._call("GET", "GET /me", self.client.me)
        return User(id=data["id"], display_name=data.get("display_name"), account_id=data.get("account_id"))

    def _pages(self, what: str, fetch: Callable[[int], Any]) -> Iterator[dict[str, Any]]:
        """Yield the pages of a paged endpoint, READ_PAGE items at a time."""
        offset = 0
        while True:
            page: dict[str, Any] = self._call("GET", what, functools.partial(fetch, offset)) or {}
            yield page
            offset += READ_PAGE
            if not page.get("next") or offset >= int(page.get("total") or 0):
                return

    def my_playlists(self) -> list[PlaylistInfo]:
        return [
            parse_playlist(item)
            for page in self._pages("GET /me/playlists", self._fetch_my_playlists)
            for item in page.get("items") or []
            if item
        ]

    def _fetch_my_playlists(self, offset: int) -> Any:
        return self.client.current_user_playlists(limit=READ_PAGE, offset=offset)

    def playlist_track_ids(self, playlist_id: str) -> list[str]:
        def fetch(offset: int) -> Any:
            return self.client.playlist_items(playlist_id, limit=READ_PAGE, offset=offset)

        ids: list[str] = []
        for page in self._pages(f"GET /playlists/{playlist_id}/items", fetch):
            ids.extend(track_id for entry in page.get("items") or [] if (track_id := entry_track_id(entry)))
        return ids

    def create_playlist(self, name: str, description: str, public: bool) -> PlaylistInfo:
        data = self._call(
            "POST",
            "POST /me/playlists",
            # POST /me/playlists, the endpoint Development Mode apps keep (POST /users/{id}/playlists is gone).
            lambda: self.client._post(
                "me/playlists", payload={"name": name, "public": public, "description": description}
            ),
        )
        return parse_playlist(data)

    def change_details(self, playlist_id: str, name: str, description: str) -> None:
        self._call(
            "PUT",
            f"PUT /playlists/{playlist_id}",
            lambda: self.client.playlist_change_details(playlist_id, name=name, description=description),
        )

    def _write_items(self, method: str, playlist_id: str, track_ids: Sequence[str]) -> str:
        # spotipy's playlist_add_items posts a bare array; the OpenAPI definition describes
        # {"uris": [...]} for both PUT and POST, so send that shape ourselves.
        payload = {"uris": _uris(track_ids)}
        send = self.client._put if method == "PUT" else self.client._post
        data = self._call(
            method,
            f"{method} /playlists/{playlist_id}/items",
            lambda: send(f"playlists/{playlist_id}/items", payload=payload),
        )
        return str(data["snapshot_id"])

    def replace_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        """Replace the playlist's items with at most 100 tracks (PUT); return the new snapshot id."""
        return self._write_items("PUT", playlist_id, track_ids)

    def add_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        """Append at most 100 tracks (POST, never retried); return the new snapshot id."""
        return self._write_items("POST", playlist_id, track_ids)

    def search_tracks(self, query: str) -> list[Track]:
        data = self._call("GET", "GET /search", lambda: self.client.search(q=query, type="track", limit=SEARCH_LIMIT))
        return [parse_track(item) for item in ((data or {}).get("tracks") or {}).get("items") or [] if item]

    def top_tracks(self) -> list[Track]:
        """The account's short-term (about four weeks) top tracks, at most 50, in one request."""
        data = self._call(
            "GET",
            "GET /me/top/tracks",
            lambda: self.client.current_user_top_tracks(limit=50, offset=0, time_range="short_term"),
        )
        return [parse_track(item) for item in (data or {}).get("items") or [] if item and item.get("id")]


def _uris(track_ids: Iterable[str]) -> list[str]:
    uris = [f"spotify:track:{track_id}" for track_id in track_ids]
    if len(uris) > WRITE_CHUNK:
        raise ValueError(f"at most {WRITE_CHUNK} URIs per write request, got {len(uris)}")
    return uris


def _message(error: Any) -> str:
    text = str(getattr(error, "msg", "") or "").strip()
    return text.splitlines()[-1].strip() if text else "no message"


def entry_track_id(entry: Mapping[str, Any] | None) -> str | None:
    """Return the track id of a playlist entry, or None for local files, episodes gone missing and nulls.

    Since 2026 the track sits under "item"; apps created earlier may still see "track".
    """
    track = (entry or {}).get("item") or (entry or {}).get("track")
    if not track or not track.get("id") or track.get("is_local") or track.get("type", "track") != "track":
        return None
    return str(track["id"])


def parse_playlist(data: Mapping[str, Any]) -> PlaylistInfo:
    """Given a playlist object from Spotify, return its metadata (accepting `items` or `tracks`)."""
    contents = data.get("items") if isinstance(data.get("items"), dict) else data.get("tracks")
    return PlaylistInfo(
        id=data["id"],
        name=data.get("name") or "",
        description=data.get("description") or "",
        owner_id=(data.get("owner") or {}).get("id") or "",
        snapshot_id=data.get("snapshot_id") or "",
        public=data.get("public"),
        total=int((contents or {}).get("total") or 0),
    )


def parse_track(data: Mapping[str, Any]) -> Track:
    """Given a track object from Spotify, return a Track."""
    return Track(
        id=data["id"],
        name=data.get("name") or "",
        artists=tuple(artist.get("name") or "" for artist in data.get("artists") or []),
        duration_ms=data.get("duration_ms"),
        isrc=(data.get("external_ids") or {}).get("isrc"),
        album_type=(data.get("album") or {}).get("album_type"),
    )


def refresh_token_expiry(token: Mapping[str, Any]) -> datetime.datetime | None:
    """Return when the refresh token dies (6 months after authorisation), if we know when that was."""
    authorized_at = token.get("authorized_at")
    if not authorized_at:
        return None
    return datetime.datetime.fromisoformat(str(authorized_at)) + REFRESH_TOKEN_LIFETIME
