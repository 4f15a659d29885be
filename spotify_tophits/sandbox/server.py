"""A local stand-in for the Spotify Web API, Spotify's accounts service and the chart feeds.

Served over HTTP on 127.0.0.1 so the real spotipy and requests stack is exercised (DESIGN §9).
It follows the 2026 Development Mode rules (only `/items` endpoints, `POST /me/playlists`,
search limit ≤ 10, item pages ≤ 50, writes ≤ 100 URIs, a new `snapshot_id` on every write,
Spotify-owned playlists answer 404), counts every request by method and path, and injects
faults on demand: 429 with any Retry-After, 5xx bursts, dropped connections, slow answers,
expired access tokens, `invalid_grant`, playlists unfollowed behind our back.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from spotify_tophits.matching import normalise
from spotify_tophits.sandbox import accounts, charts, spotify_api
from spotify_tophits.sandbox.accounts import CLIENT_ID, CLIENT_SECRET
from spotify_tophits.sandbox.charts import DeezerLimit
from spotify_tophits.sandbox.faults import Fault, FaultInjection
from spotify_tophits.sandbox.http import HttpError, Response, endpoint_template
from spotify_tophits.sandbox.spotify_api import SPOTIFY_OWNER, USER_ID
from spotify_tophits.sandbox.world import CatalogTrack, Song, World, stable_id


@dataclasses.dataclass
class EmulatedPlaylist:
    id: str
    name: str
    description: str
    public: bool
    owner_id: str
    items: list[str]
    version: int = 1
    followed: bool = True

    @property
    def snapshot_id(self) -> str:
        return stable_id(self.id, "snapshot", self.version, length=32)


class Emulator(FaultInjection):
    """The emulated services. Use `start()` / `stop()`, or as a context manager."""

    def __init__(self, world: World | None = None) -> None:
        self.world = world or World(datetime.date(2026, 1, 1))
        self.lock = threading.RLock()
        self.requests: Counter[str] = Counter()
        self.request_log: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.random_taken: Counter[str] = Counter()
        self.latency = 0.0
        self.tracks: dict[str, CatalogTrack] = {track.id: track for track in self.world.catalog}
        # Searches compare normalised names; computing them once keeps the emulator fast.
        self.track_words = {
            track.id: (normalise(track.name), normalise(" ".join(track.artists))) for track in self.world.catalog
        }
        self.song_words = {
            song.number: (normalise(song.title), normalise(" ".join(song.artists))) for song in self.world.songs
        }
        self.playlists: dict[str, EmulatedPlaylist] = {}
        self.codes: dict[str, str] = {}
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: dict[str, str] = {}
        # Whose each code and token is: several accounts may authorise one app (profiles).
        self.code_users: dict[str, str] = {}
        self.token_users: dict[str, str] = {}
        self.refresh_users: dict[str, str] = {}
        self.deezer_charts: dict[int, list[Song]] = {}
        self.apple_charts: dict[str, list[Song]] = {}
        self.apple_updated: datetime.datetime | None = None
        self.spotify_weekly: tuple[datetime.date, list[Song]] | None = None
        self.deezer_songs = {song.deezer_id: song for song in self.world.songs}
        self.top_tracks: list[str] = []
        # Off unless a test or benchmark turns it on (`limit_deezer`): most tests lift tophits' pacing.
        self.deezer_limit: DeezerLimit | None = None
        # The account signed in to the browser (it approves the next authorisation), every known
        # account's display name, and the app's Development Mode user list (User Management).
        self.user_id = USER_ID
        self.users: dict[str, str] = {USER_ID: "Sandbox Listener"}
        self.app_users: set[str] = {USER_ID}
        # Editorial playlists exist but are Spotify's own: Development Mode apps get 404.
        self.add_playlist("37i9dQZF1DXcBWIGoYBM5M", "Today's Top Hits", SPOTIFY_OWNER, [])
        self.server: http.server.ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Emulator:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="tophits-emulator", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self.server is not None, "emulator not started"
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def environment(self) -> dict[str, str]:
        """Return the environment variables that point tophits at this emulator."""
        return {
            "TOPHITS_SPOTIFY_API_URL": self.base_url + "v1/",
            "TOPHITS_SPOTIFY_ACCOUNTS_URL": self.base_url + "accounts/",
            "TOPHITS_DEEZER_API_URL": self.base_url + "deezer/",
            "TOPHITS_APPLE_RSS_URL": self.base_url + "apple/",
            "TOPHITS_ITUNES_API_URL": self.base_url + "itunes/",
            "TOPHITS_SPOTIFY_CHARTS_URL": self.base_url + "spotify-charts/",
            "SPOTIPY_CLIENT_ID": CLIENT_ID,
            "SPOTIPY_CLIENT_SECRET": CLIENT_SECRET,
        }

    # -- test controls -----------------------------------------------------------------------------
    def limit_deezer(
        self, requests: int = 50, seconds: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> DeezerLimit:
        """Enforce Deezer's limit on every Deezer path: over it, answer HTTP 200 with error code 4, as Deezer does."""
        with self.lock:
            self.deezer_limit = DeezerLimit(requests, seconds, clock)
            return self.deezer_limit

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired, as if an hour had passed."""
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def revoke_refresh_tokens(self, user: str | None = None) -> None:
        """Revoke every refresh token (only `user`'s, when given): the next refresh answers 400 invalid_grant."""
        with self.lock:
            for refresh in [r for r in self.refresh_tokens if user in (None, self.refresh_users.get(r, USER_ID))]:
                del self.refresh_tokens[refresh]
            for token in [t for t in self.access_tokens if user in (None, self.token_users.get(t, USER_ID))]:
                self.access_tokens[token] = 0.0

    def sign_in(self, user_id: str, display_name: str | None = None, *, listed: bool = True) -> None:
        """Sign `user_id` in to the browser, so it approves the next authorisation; `listed` puts it on the
        app's Development Mode user list (an unlisted account gets 403 from every API call)."""
        with self.lock:
            self.user_id = user_id
            self.users[user_id] = display_name or self.users.get(user_id, user_id)
            if listed:
                self.app_users.add(user_id)
            else:
                self.app_users.discard(user_id)

    def unfollow(self, playlist_id: str) -> None:
        """Unfollow ("delete") a playlist behind tophits' back."""
        with self.lock:
            self.playlists[playlist_id].followed = False

    def edit_playlist(self, playlist_id: str, items: Sequence[str]) -> None:
        """Change a playlist's items as a person would in the Spotify app."""
        with self.lock:
            playlist = self.playlists[playlist_id]
            playlist.items = list(items)
            playlist.version += 1

    def add_track(self, track: CatalogTrack) -> None:
        """Add a track to the catalogue (for tests that need a particular trap)."""
        with self.lock:
            self.tracks[track.id] = track
            self.track_words[track.id] = (normalise(track.name), normalise(" ".join(track.artists)))

    def set_deezer_chart(self, playlist_id: int, songs: Sequence[Song]) -> None:
        with self.lock:
            self.deezer_charts[playlist_id] = list(songs)

    def set_apple_chart(self, storefront: str, songs: Sequence[Song], updated: datetime.datetime | None = None) -> None:
        with self.lock:
            self.apple_charts[storefront] = list(songs)
            self.apple_updated = updated

    def set_spotify_weekly(self, day: datetime.date, songs: Sequence[Song]) -> None:
        with self.lock:
            self.spotify_weekly = (day, list(songs))

    def publish_day(self, day: datetime.date) -> None:
        """Publish the world's charts of a day: Deezer's worldwide playlist and Apple's US feed."""
        from spotify_tophits.sources.registry import DEEZER_CHART_PLAYLISTS

        self.set_deezer_chart(DEEZER_CHART_PLAYLISTS["worldwide"], self.world.chart(day))
        midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.UTC)
        self.set_apple_chart("us", self.world.chart(day, audience="apple"), midnight)

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.request_log.clear()

    def count(self, prefix: str = "") -> int:
        """Return how many requests were made whose 'METHOD /path' starts with prefix."""
        with self.lock:
            return sum(number for endpoint, number in self.requests.items() if endpoint.startswith(prefix))

    def user_playlists(self, user_id: str = USER_ID) -> list[EmulatedPlaylist]:
        """Return the followed playlists `user_id` owns (default: the first sandbox account)."""
        with self.lock:
            return [p for p in self.playlists.values() if p.owner_id == user_id and p.followed]

    # -- internals used by the handler ---------------------------------------------------------------
    def add_playlist(self, playlist_id: str, name: str, owner: str, items: list[str]) -> EmulatedPlaylist:
        playlist = EmulatedPlaylist(playlist_id, name, "", False, owner, items)
        self.playlists[playlist_id] = playlist
        return playlist


class _Handler(http.server.BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY every answer waits ~40 ms
    # for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing -------------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        emulator = self.emulator
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = {key: values[-1] for key, values in urllib.parse.parse_qs(parsed.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with emulator.lock:
            emulator.requests[endpoint_template(method, path)] += 1
            emulator.request_log.append((method, self.path))
        if emulator.latency:
            time.sleep(emulator.latency)
        fault = emulator._take_fault(method, path)
        if fault is not None and fault.action == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.action == "delay":
            time.sleep(fault.delay)
        elif fault is not None and fault.action == "status":
            self._send(
                fault.status,
                fault.body if fault.body is not None else {"error": {"status": fault.status, "message": "injected"}},
                fault.headers,
            )
            return
        try:
            status, body, headers = self._route(method, path, query, raw)
        except HttpError as error:
            payload: Any = {"error": {"status": error.status, "message": error.message}}
            if error.reason:
                payload["error"]["reason"] = error.reason
            status, body, headers = error.status, error.message if error.plain else payload, error.headers
        if fault is not None and fault.action == "drop-after":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, body, headers)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        # A str body goes out as plain text (some of Spotify's errors are not JSON).
        text = isinstance(body, str)
        data = b"" if body is None else body.encode("utf-8") if text else json.dumps(body).encode("utf-8")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Location" not in (headers or {}):
            self.send_header("Content-Type", f"{'text/plain' if text else 'application/json'}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Response:
        # Header names are case-insensitive: the services look them up in lower case.
        emulator, headers = self.emulator, {name.lower(): value for name, value in self.headers.items()}
        if path.startswith("/accounts/"):
            return accounts.route(emulator, headers, method, path[len("/accounts") :], query, raw)
        if path.startswith("/v1/"):
            return spotify_api.route(emulator, headers, method, path[len("/v1") :], query, raw)
        if path.startswith("/deezer/"):
            return charts.deezer_route(emulator, method, path[len("/deezer") :], query)
        if path.startswith("/apple/"):
            return charts.apple_route(emulator, path[len("/apple") :])
        if path.startswith("/itunes/"):
            return charts.itunes_route(emulator, path[len("/itunes") :], query)
        if path.startswith("/spotify-charts/"):
            return charts.spotify_charts_route(emulator, path[len("/spotify-charts") :])
        raise HttpError(404, "Service not found")
