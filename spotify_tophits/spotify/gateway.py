"""The Spotify gateway: the few calls tophits makes, behind a Protocol, with plain dataclasses out.

spotipy is imported lazily, here and in `auth`, so `tophits --help` and `tophits status` never
pay for it. The adapter owns the request policy of DESIGN §5:
- a 429 is waited out only when its Retry-After fits `max_retry_wait`; otherwise `not_before`
  is recorded and the run stops with exit 5 (spotipy's urllib3 retry would sleep for hours);
  a 429 means the request was not applied, so a POST is sent again after the wait too;
- GET/PUT/DELETE are retried on 5xx and dropped connections with capped exponential back-off
  paid from the run's one `RetryBudget`; POST is never retried, because adding items is not
  idempotent;
- an access token Spotify rejects with 401 is refreshed once, transparently; the accounts
  service failing (5xx, 429, a dropped connection) is temporary, never "re-authorise";
- a scheduled run never falls into spotipy's interactive login prompt.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from spotify_tophits.clock import describe_duration
from spotify_tophits.errors import AuthError, ForbiddenError, RateLimitedError, SpotifyRequestError, TemporaryError
from spotify_tophits.retry import MAX_RETRY_AFTER, RetryBudget, retry_after_seconds
from spotify_tophits.spotify.auth import accounts_unreachable, make_oauth, oauth_failure
from spotify_tophits.spotify.models import (
    READ_PAGE,
    SEARCH_LIMIT,
    WRITE_CHUNK,
    PlaylistInfo,
    Track,
    User,
    entry_track_id,
    parse_playlist,
    parse_track,
)
from spotify_tophits.spotify.stats import RequestStats, make_session

if TYPE_CHECKING:
    from spotify_tophits.config import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


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
    """How hard one run tries before giving up (DESIGN §5). `sleep` comes from `Services` (a test's never waits)."""

    sleep: Callable[[float], None]
    max_retry_wait: float = 30.0
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    budget_seconds: float = 60.0


class SpotipyGateway:
    """The SpotifyGateway over spotipy, with tophits' retry and rate-limit policy."""

    def __init__(
        self,
        settings: Settings,
        policy: RetryPolicy,
        *,
        clock: Callable[[], datetime.datetime],
        on_rate_limited: Callable[[datetime.datetime], None] | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        import spotipy

        # spotipy logs request headers (the bearer token) at DEBUG and every HTTP error at
        # ERROR; tophits reports errors itself, so keep spotipy quiet whatever -v says.
        logging.getLogger("spotipy").setLevel(logging.CRITICAL)
        self.stats = RequestStats()
        self.policy = policy
        self.on_rate_limited = on_rate_limited
        self.clock = clock
        self.session = make_session(self.stats)
        self.oauth = make_oauth(settings, self.session)
        self.client = spotipy.Spotify(
            auth_manager=self.oauth, requests_session=self.session, requests_timeout=10, retries=0
        )
        self.client.prefix = settings.endpoints["spotify_api"]
        # One budget for the whole run, shared with the chart sources when the run passes it in.
        self.budget = budget or RetryBudget(policy.sleep, policy.budget_seconds)
        self.accounts_url = settings.endpoints["spotify_accounts"]

    # -- the policy ----------------------------------------------------------------------------
    def _sleep(self, seconds: float, service: str, reason: str) -> None:
        self.stats.retries += 1
        self.budget.wait(seconds, service, reason)

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
                    now = self.clock()
                    wait, capped = retry_after_seconds(error.headers, now.timestamp())
                    # A 429 was not applied: waiting it out and sending again is safe, POST included.
                    if (
                        wait <= self.policy.max_retry_wait
                        and self.budget.affords(wait)
                        and attempt < self.policy.max_attempts
                    ):
                        logger.warning("Spotify rate limit on %s: waiting %s", what, describe_duration(wait))
                        self._sleep(wait, "Spotify", "429")
                        attempt += 1
                        continue
                    not_before = now + datetime.timedelta(seconds=math.ceil(wait))
                    if self.on_rate_limited is not None:
                        self.on_rate_limited(not_before)
                    kind = "daily quota exceeded" if error.reason == "QUOTA_EXCEEDED" else "rate limited"
                    note = (
                        f" (its Retry-After was beyond {describe_duration(MAX_RETRY_AFTER)}: capped)" if capped else ""
                    )
                    raise RateLimitedError(
                        f"Spotify {kind} ({what}); retry after {describe_duration(wait)}{note}"
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
                    raise ForbiddenError(
                        f"Spotify refused {what} (403): the token may lack a scope, or your account is not in the"
                        " app's User Management list (Development Mode); check the dashboard, then run `tophits auth`"
                    ) from None
                if status >= 500:
                    if self._may_retry(method != "POST", attempt, "Spotify", str(status)):
                        attempt += 1
                        continue
                    raise TemporaryError(f"Spotify answered {status} to {what}; try again later") from None
                raise SpotifyRequestError(f"Spotify answered {status} to {what}: {_message(error)}", status) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                # A token refresh runs inside the call: name the service that actually failed.
                url = str(getattr(error.request, "url", "") or "")
                accounts = url.startswith(self.accounts_url)
                service = "Spotify's accounts service" if accounts else "Spotify"
                # A refresh that failed sent nothing to the API: even a POST may go again then.
                if self._may_retry(method != "POST" or accounts, attempt, service, type(error).__name__):
                    attempt += 1
                    continue
                if accounts:
                    raise accounts_unreachable(type(error).__name__) from None
                raise TemporaryError(f"network error talking to Spotify ({what}): {type(error).__name__}") from None

    def _may_retry(self, repeatable: bool, attempt: int, service: str, reason: str) -> bool:
        if not repeatable or attempt >= self.policy.max_attempts:
            return False
        delay = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        self._sleep(delay, service, reason)
        return True

    def _force_refresh(self) -> None:
        import requests
        from spotipy.oauth2 import SpotifyOauthError

        token = self.oauth.cache_handler.get_cached_token()
        if not token or "refresh_token" not in token:
            raise AuthError("no Spotify refresh token stored; run `tophits auth`")
        try:
            self.oauth.refresh_access_token(token["refresh_token"])
        except SpotifyOauthError as error:
            raise oauth_failure(error) from None
        except requests.RequestException as error:
            raise accounts_unreachable(type(error).__name__) from None

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
        # spotipy 2.26 creates through POST /me/playlists, the endpoint Development Mode apps keep.
        data = self._call(
            "POST",
            "POST /me/playlists",
            lambda: self.client.current_user_playlist_create(name, public=public, description=description),
        )
        return parse_playlist(data)

    def change_details(self, playlist_id: str, name: str, description: str) -> None:
        self._call(
            "PUT",
            f"PUT /playlists/{playlist_id}",
            lambda: self.client.playlist_change_details(playlist_id, name=name, description=description),
        )

    def replace_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        """Replace the playlist's items with at most 100 tracks (PUT); return the new snapshot id."""
        uris = _uris(track_ids)
        data = self._call(
            "PUT",
            f"PUT /playlists/{playlist_id}/items",
            lambda: self.client.playlist_replace_items(playlist_id, uris),
        )
        return str(data["snapshot_id"])

    def add_items(self, playlist_id: str, track_ids: Sequence[str]) -> str:
        """Append at most 100 tracks (POST, never retried); return the new snapshot id."""
        # spotipy's playlist_add_items posts a bare array; the OpenAPI definition describes
        # {"uris": [...]}, so this one request goes through our own session with spotipy's token.
        payload = {"uris": _uris(track_ids)}
        data = self._call(
            "POST",
            f"POST /playlists/{playlist_id}/items",
            lambda: self._send_json("POST", f"playlists/{playlist_id}/items", payload),
        )
        return str(data["snapshot_id"])

    def _send_json(self, method: str, path: str, payload: Mapping[str, Any]) -> Any:
        """Send one JSON request through the counting session; fail as spotipy would (SpotifyException)."""
        from spotipy.exceptions import SpotifyException

        token = self.oauth.get_access_token(as_dict=False)
        response = self.session.request(
            method,
            self.client.prefix + path,
            json=payload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if response.status_code >= 400:
            try:
                error = response.json().get("error") or {}
            except ValueError:
                error = {}
            message = error.get("message") if isinstance(error, dict) else None
            reason = error.get("reason") if isinstance(error, dict) else None
            raise SpotifyException(
                response.status_code,
                -1,
                f"{response.url}:\n {message or response.text or None}",
                reason=reason,
                headers=response.headers,
            )
        return response.json()

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
