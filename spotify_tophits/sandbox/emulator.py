"""A local stand-in for the Spotify Web API, Spotify's accounts service and the chart feeds.

Served over HTTP on 127.0.0.1 so the real spotipy and requests stack is exercised (DESIGN §9).
It follows the 2026 Development Mode rules (only `/items` endpoints, `POST /me/playlists`,
search limit ≤ 10, item pages ≤ 50, writes ≤ 100 URIs, a new `snapshot_id` on every write,
Spotify-owned playlists answer 404), counts every request by method and path, and injects
faults on demand: 429 with any Retry-After, 5xx bursts, dropped connections, slow answers,
expired access tokens, `invalid_grant`, playlists unfollowed behind our back.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import http.server
import json
import re
import secrets
import socket
import threading
import time
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from typing import Any

from spotify_tophits.sandbox.world import CatalogTrack, Song, World, stable_id

CLIENT_ID = "tophits-sandbox-client"
CLIENT_SECRET = "tophits-sandbox-secret"  # noqa: S105 - a fixed, public test credential
USER_ID = "sandbox-user"
ACCOUNT_ID = "acct-5a4db0x"
SPOTIFY_OWNER = "spotify"
APPLE_ID_BASE = 1_500_000_000


def apple_title(song: Song) -> str:
    """Apple names featured artists in the title ("Song (feat. X)") and credits only the main artist."""
    return f"{song.title} (feat. {', '.join(song.artists[1:])})" if len(song.artists) > 1 else song.title


FIELD_FILTER = re.compile(r'(isrc|track|artist):(?:"([^"]*)"|(\S+))')


@dataclasses.dataclass
class Fault:
    """One injected fault: requests matching method and path (a regex) get `action` `times` times."""

    method: str
    path: str
    action: str  # "status", "drop" or "delay"
    status: int = 500
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: Any = None
    times: int = 1
    skip: int = 0
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return self.method in (method, "*") and re.fullmatch(self.path, path) is not None


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


def _normalise(text: str) -> str:
    # Like Spotify's search: case-insensitive, and accent-insensitive for Latin letters.
    out: list[str] = []
    for character in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold()):
        if unicodedata.combining(character) and out and out[-1].isascii():
            continue
        out.append(character)
    folded = unicodedata.normalize("NFC", "".join(out))
    # Marks stay: they are part of words in Devanagari, Thai, Arabic and others.
    return " ".join(
        "".join(ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else " " for ch in folded).split()
    )


class Emulator:
    """The emulated services. Use `start()` / `stop()`, or as a context manager."""

    def __init__(self, world: World | None = None) -> None:
        self.world = world or World(datetime.date(2026, 1, 1))
        self.lock = threading.RLock()
        self.requests: Counter[str] = Counter()
        self.request_log: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.latency = 0.0
        self.tracks: dict[str, CatalogTrack] = {track.id: track for track in self.world.catalog}
        # Searches compare normalised names; computing them once keeps the emulator fast.
        self.track_words = {
            track.id: (_normalise(track.name), _normalise(" ".join(track.artists))) for track in self.world.catalog
        }
        self.song_words = {
            song.number: (_normalise(song.title), _normalise(" ".join(song.artists))) for song in self.world.songs
        }
        self.playlists: dict[str, EmulatedPlaylist] = {}
        self.codes: dict[str, str] = {}
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.deezer_charts: dict[int, list[Song]] = {}
        self.apple_charts: dict[str, list[Song]] = {}
        self.apple_updated: datetime.datetime | None = None
        self.spotify_weekly: tuple[datetime.date, list[Song]] | None = None
        self.deezer_songs = {song.deezer_id: song for song in self.world.songs}
        self.top_tracks: list[str] = []
        self.user_id = USER_ID
        # Editorial playlists exist but are Spotify's own: Development Mode apps get 404.
        self._add_playlist("37i9dQZF1DXcBWIGoYBM5M", "Today's Top Hits", SPOTIFY_OWNER, [])
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
    def inject(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
        skip: int = 0,
    ) -> Fault:
        """Answer the next `times` requests matching method and path (a regex) with a status."""
        fault = Fault(method, path, "status", status, headers or {}, body, times, skip)
        with self.lock:
            self.faults.append(fault)
        return fault

    def inject_rate_limit(self, path: str, retry_after: int, *, quota: bool = False, times: int = 1) -> Fault:
        """Answer matching requests with 429 and Retry-After (QUOTA_EXCEEDED when quota is set)."""
        error: dict[str, Any] = {"status": 429, "message": "Too many requests"}
        if quota:
            error["reason"] = "QUOTA_EXCEEDED"
        return self.inject(
            "*", path, status=429, headers={"Retry-After": str(retry_after)}, body={"error": error}, times=times
        )

    def inject_drop(
        self, method: str, path: str, *, times: int = 1, skip: int = 0, after_applying: bool = False
    ) -> Fault:
        """Close the connection without answering (after letting `skip` matching requests through).

        With `after_applying`, the request takes effect first and only the answer is lost: the
        case that makes a blind retry of a POST duplicate tracks.
        """
        fault = Fault(method, path, "drop-after" if after_applying else "drop", times=times, skip=skip)
        with self.lock:
            self.faults.append(fault)
        return fault

    def inject_delay(self, method: str, path: str, seconds: float, *, times: int = 1) -> Fault:
        fault = Fault(method, path, "delay", times=times, delay=seconds)
        with self.lock:
            self.faults.append(fault)
        return fault

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired, as if an hour had passed."""
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def revoke_refresh_tokens(self) -> None:
        """Revoke every refresh token: the next refresh answers 400 invalid_grant."""
        with self.lock:
            self.refresh_tokens.clear()
            self.expire_access_tokens()

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
            self.track_words[track.id] = (_normalise(track.name), _normalise(" ".join(track.artists)))

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
        from spotify_tophits.config import DEEZER_CHART_PLAYLISTS

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

    def user_playlists(self) -> list[EmulatedPlaylist]:
        with self.lock:
            return [p for p in self.playlists.values() if p.owner_id == self.user_id and p.followed]

    # -- internals used by the handler ---------------------------------------------------------------
    def _add_playlist(self, playlist_id: str, name: str, owner: str, items: list[str]) -> EmulatedPlaylist:
        playlist = EmulatedPlaylist(playlist_id, name, "", False, owner, items)
        self.playlists[playlist_id] = playlist
        return playlist

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None


def endpoint_template(method: str, path: str) -> str:
    path = re.sub(r"^/v1", "", path)
    path = re.sub(r"/(playlists|tracks|track|playlist)/[^/]+", lambda m: f"/{m.group(1)}/{{id}}", path)
    return f"{method} {path}"


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.reason = reason


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
        elif fault is not None:
            self._send(
                fault.status,
                fault.body if fault.body is not None else {"error": {"status": fault.status, "message": "injected"}},
                fault.headers,
            )
            return
        try:
            status, body, headers = self._route(method, path, query, raw)
        except HttpError as error:
            payload: dict[str, Any] = {"error": {"status": error.status, "message": error.message}}
            if error.reason:
                payload["error"]["reason"] = error.reason
            status, body, headers = error.status, payload, error.headers
        if fault is not None and fault.action == "drop-after":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, body, headers)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Location" not in (headers or {}):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/accounts/"):
            return self._accounts(method, path[len("/accounts") :], query, raw)
        if path.startswith("/v1/"):
            self._authorise()
            return self._api(method, path[len("/v1") :], query, raw)
        if path.startswith("/deezer/"):
            return self._deezer(method, path[len("/deezer") :], query)
        if path.startswith("/apple/"):
            return self._apple(path[len("/apple") :])
        if path.startswith("/itunes/"):
            return self._itunes(path[len("/itunes") :], query)
        if path.startswith("/spotify-charts/"):
            return self._spotify_charts(path[len("/spotify-charts") :])
        raise HttpError(404, "Service not found")

    # -- accounts service ---------------------------------------------------------------------------------
    def _accounts(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any, dict[str, str]]:
        emulator = self.emulator
        if method == "GET" and path == "/authorize":
            if query.get("client_id") != CLIENT_ID:
                raise HttpError(400, "INVALID_CLIENT: Invalid client")
            redirect = query.get("redirect_uri", "")
            if urllib.parse.urlsplit(redirect).hostname == "localhost":
                raise HttpError(400, "INVALID_CLIENT: Insecure redirect URI")
            code = secrets.token_urlsafe(16)
            with emulator.lock:
                emulator.codes[code] = query.get("scope", "")
            parameters = {"code": code}
            if "state" in query:
                parameters["state"] = query["state"]
            location = f"{redirect}?{urllib.parse.urlencode(parameters)}"
            return 302, None, {"Location": location}
        if method == "POST" and path == "/api/token":
            form = {key: values[-1] for key, values in urllib.parse.parse_qs(raw.decode()).items()}
            self._check_client(form)
            grant = form.get("grant_type")
            with emulator.lock:
                if grant == "authorization_code":
                    scope = emulator.codes.pop(form.get("code", ""), None)
                    if scope is None:
                        return 400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}, {}
                    refresh = secrets.token_urlsafe(24)
                    emulator.refresh_tokens[refresh] = scope
                    return 200, self._issue(scope, refresh), {}
                if grant == "refresh_token":
                    scope = emulator.refresh_tokens.get(form.get("refresh_token", ""))
                    if scope is None:
                        return 400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}, {}
                    return 200, self._issue(scope, None), {}
            return 400, {"error": "unsupported_grant_type"}, {}
        raise HttpError(404, "Not found")

    def _check_client(self, form: dict[str, str]) -> None:
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            raise HttpError(400, "invalid_client")

    def _issue(self, scope: str, refresh: str | None) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        self.emulator.access_tokens[token] = time.time() + 3600
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": scope}
        if refresh:
            body["refresh_token"] = refresh
        return body

    def _authorise(self) -> None:
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        with self.emulator.lock:
            expires = self.emulator.access_tokens.get(token)
        if expires is None:
            raise HttpError(401, "Invalid access token")
        if expires < time.time():
            raise HttpError(401, "The access token expired")

    # -- Web API ------------------------------------------------------------------------------------------------
    def _api(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any, dict[str, str]]:
        emulator = self.emulator
        body = json.loads(raw) if raw else None
        if path == "/me" and method == "GET":
            return 200, self._user(full=True), {}
        if path == "/me/playlists":
            if method == "GET":
                limit, offset = self._paging(query, 50)
                with emulator.lock:
                    mine = [p for p in emulator.playlists.values() if p.followed and p.owner_id == emulator.user_id]
                return 200, self._page("/me/playlists", [self._playlist(p) for p in mine], limit, offset, query), {}
            if method == "POST":
                if not isinstance(body, dict) or not body.get("name"):
                    raise HttpError(400, "Missing required field: name")
                with emulator.lock:
                    playlist_id = stable_id("playlist", len(emulator.playlists), time.time_ns())
                    playlist = emulator._add_playlist(playlist_id, body["name"], emulator.user_id, [])
                    playlist.description = body.get("description", "")
                    playlist.public = bool(body.get("public", True))
                    return 201, self._playlist(playlist, full=True), {}
        if path == "/me/top/tracks" and method == "GET":
            limit, offset = self._paging(query, 50)
            tracks = [self._track(emulator.tracks[track_id]) for track_id in emulator.top_tracks]
            return 200, self._page("/me/top/tracks", tracks, limit, offset, query), {}
        if path == "/search" and method == "GET":
            return 200, self._search(query), {}
        match = re.fullmatch(r"/playlists/([^/]+)(/items|/tracks)?", path)
        if match:
            return self._playlist_route(method, match.group(1), match.group(2), query, body)
        raise HttpError(404, "Service not found")

    def _playlist_route(
        self, method: str, playlist_id: str, sub: str | None, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        emulator = self.emulator
        with emulator.lock:
            playlist = emulator.playlists.get(playlist_id)
            if playlist is None or playlist.owner_id == SPOTIFY_OWNER:
                raise HttpError(404, "Resource not found")
            if sub == "/tracks":
                # Removed for Development Mode apps in February 2026.
                raise HttpError(403, "Forbidden")
            if sub is None:
                if method == "GET":
                    return 200, self._playlist(playlist, full=True), {}
                if method == "PUT":
                    self._own(playlist)
                    for field in ("name", "description", "public"):
                        if isinstance(body, dict) and field in body:
                            setattr(playlist, field, body[field])
                    return 200, None, {}
                raise HttpError(405, "Method not allowed")
            if method == "GET":
                self._own(playlist)
                limit, offset = self._paging(query, 50)
                entries = [self._entry(track_id) for track_id in playlist.items]
                return 200, self._page(f"/playlists/{playlist_id}/items", entries, limit, offset, query), {}
            self._own(playlist)
            if method in ("PUT", "POST"):
                uris = body.get("uris") if isinstance(body, dict) else None
                if uris is None and query.get("uris"):
                    uris = query["uris"].split(",")
                if not isinstance(uris, list):
                    raise HttpError(400, "Expected a JSON object with 'uris'")
                if len(uris) > 100:
                    raise HttpError(400, "You can add a maximum of 100 tracks per request.")
                ids = [self._track_id(uri) for uri in uris]
                if method == "PUT":
                    playlist.items = ids
                else:
                    position = body.get("position") if isinstance(body, dict) else None
                    if position is None:
                        playlist.items.extend(ids)
                    else:
                        playlist.items[position:position] = ids
                playlist.version += 1
                return (200 if method == "PUT" else 201), {"snapshot_id": playlist.snapshot_id}, {}
            if method == "DELETE":
                removals: Any = body.get("items") if isinstance(body, dict) else None
                if not isinstance(removals, list) or len(removals) > 100:
                    raise HttpError(400, "Expected 'items' with at most 100 entries")
                remove = {self._track_id(entry.get("uri", "")) for entry in removals}
                playlist.items = [track_id for track_id in playlist.items if track_id not in remove]
                playlist.version += 1
                return 200, {"snapshot_id": playlist.snapshot_id}, {}
        raise HttpError(405, "Method not allowed")

    def _own(self, playlist: EmulatedPlaylist) -> None:
        if playlist.owner_id != self.emulator.user_id:
            raise HttpError(403, "Forbidden")

    def _track_id(self, uri: str) -> str:
        prefix = "spotify:track:"
        if not isinstance(uri, str) or not uri.startswith(prefix) or uri[len(prefix) :] not in self.emulator.tracks:
            raise HttpError(400, f"Invalid track uri: {uri}")
        return uri[len(prefix) :]

    def _paging(self, query: dict[str, str], maximum: int) -> tuple[int, int]:
        try:
            limit = int(query.get("limit", 20))
            offset = int(query.get("offset", 0))
        except ValueError:
            raise HttpError(400, "Invalid limit or offset") from None
        if not 1 <= limit <= maximum or offset < 0:
            raise HttpError(400, "Invalid limit")
        return limit, offset

    def _page(self, path: str, items: list[Any], limit: int, offset: int, query: dict[str, str]) -> dict[str, Any]:
        base = f"{self.emulator.base_url}v1{path}"
        extra = {key: value for key, value in query.items() if key not in ("limit", "offset")}

        def link(new_offset: int) -> str:
            return f"{base}?{urllib.parse.urlencode({**extra, 'offset': new_offset, 'limit': limit})}"

        return {
            "href": link(offset),
            "items": items[offset : offset + limit],
            "limit": limit,
            "offset": offset,
            "total": len(items),
            "next": link(offset + limit) if offset + limit < len(items) else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
        }

    def _user(self, full: bool = False) -> dict[str, Any]:
        user_id = self.emulator.user_id
        user: dict[str, Any] = {
            "id": user_id,
            "display_name": "Sandbox Listener",
            "type": "user",
            "uri": f"spotify:user:{user_id}",
            "href": f"{self.emulator.base_url}v1/users/{user_id}",
            "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
        }
        if full:
            user.update({"account_id": ACCOUNT_ID, "images": []})
        return user

    def _playlist(self, playlist: EmulatedPlaylist, full: bool = False) -> dict[str, Any]:
        base = f"{self.emulator.base_url}v1/playlists/{playlist.id}"
        owner = (
            self._user() if playlist.owner_id == self.emulator.user_id else {"id": playlist.owner_id, "type": "user"}
        )
        items: dict[str, Any] = {"href": f"{base}/items", "total": len(playlist.items)}
        data = {
            "collaborative": False,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "href": base,
            "id": playlist.id,
            "images": [],
            "name": playlist.name,
            "owner": owner,
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            "items": items,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }
        if full:
            entries = [self._entry(track_id) for track_id in playlist.items]
            items.update({"items": entries[:100], "limit": 100, "offset": 0, "next": None, "previous": None})
        return data

    def _entry(self, track_id: str) -> dict[str, Any]:
        return {
            "added_at": "2026-01-01T00:00:00Z",
            "added_by": self._user(),
            "is_local": False,
            "item": self._track(self.emulator.tracks[track_id]),
        }

    def _track(self, track: CatalogTrack) -> dict[str, Any]:
        base = self.emulator.base_url
        artists = [
            {
                "id": stable_id("artist", name),
                "name": name,
                "type": "artist",
                "uri": f"spotify:artist:{stable_id('artist', name)}",
                "href": f"{base}v1/artists/{stable_id('artist', name)}",
                "external_urls": {"spotify": f"https://open.spotify.com/artist/{stable_id('artist', name)}"},
            }
            for name in track.artists
        ]
        album_id = stable_id("album", track.album_name, track.artists[0])
        return {
            "album": {
                "album_type": track.album_type,
                "artists": artists[:1],
                "id": album_id,
                "name": track.album_name,
                "release_date": "2026-01-01",
                "release_date_precision": "day",
                "total_tracks": 1,
                "type": "album",
                "uri": f"spotify:album:{album_id}",
                "images": [],
                "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"},
                "href": f"{base}v1/albums/{album_id}",
            },
            "artists": artists,
            "disc_number": 1,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "external_ids": {"isrc": track.isrc},
            "external_urls": {"spotify": f"https://open.spotify.com/track/{track.id}"},
            "href": f"{base}v1/tracks/{track.id}",
            "id": track.id,
            "is_local": False,
            "is_playable": True,
            "name": track.name,
            "track_number": 1,
            "type": "track",
            "uri": f"spotify:track:{track.id}",
        }

    def _search(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("type") != "track":
            raise HttpError(400, "Only type=track is emulated")
        limit, offset = self._paging(query, 10)
        text = query.get("q", "")
        fields = {name: quoted or bare for name, quoted, bare in FIELD_FILTER.findall(text)}
        free = _normalise(FIELD_FILTER.sub(" ", text))
        results = []
        for track in self.emulator.tracks.values():
            if "isrc" in fields and track.isrc.upper() != fields["isrc"].upper():
                continue
            name, artists = self.emulator.track_words[track.id]
            if "track" in fields and not set(_normalise(fields["track"]).split()) <= set(name.split()):
                continue
            if "artist" in fields and _normalise(fields["artist"]) not in artists:
                continue
            if free and not set(free.split()) <= set(f"{name} {artists}".split()):
                continue
            results.append(track)
        # Closest names first, as Spotify's relevance roughly does; then a stable order.
        wanted = _normalise(fields.get("track", free))
        results.sort(key=lambda track: (_normalise(track.name) != wanted, len(track.name), track.id))
        return {"tracks": self._page("/search", [self._track(t) for t in results], limit, offset, query)}

    # -- Deezer ------------------------------------------------------------------------------------------------
    def _deezer(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        emulator = self.emulator
        if method != "GET":
            raise HttpError(405, "Method not allowed")
        match = re.fullmatch(r"/playlist/(\d+)/tracks", path)
        if match:
            chart = emulator.deezer_charts.get(int(match.group(1)))
            if chart is None:
                return 200, {"error": {"type": "DataException", "message": "no data", "code": 800}}, {}
            index = int(query.get("index", 0))
            limit = int(query.get("limit", 25))
            rows = [self._deezer_track(song, full=False) for song in chart]
            page: dict[str, Any] = {"data": rows[index : index + limit], "total": len(rows), "checksum": "c0ffee"}
            if index + limit < len(rows):
                page["next"] = f"{emulator.base_url}deezer{path}?index={index + limit}&limit={limit}"
            return 200, page, {}
        if path == "/search":
            fields = {name: quoted or bare for name, quoted, bare in FIELD_FILTER.findall(query.get("q", ""))}
            found = [
                song
                for song in emulator.world.songs
                if ("track" not in fields or _normalise(fields["track"]) == emulator.song_words[song.number][0])
                and ("artist" not in fields or _normalise(fields["artist"]) in emulator.song_words[song.number][1])
            ]
            rows = [self._deezer_track(song, full=False) for song in found[: int(query.get("limit", 25))]]
            return 200, {"data": rows, "total": len(found)}, {}
        match = re.fullmatch(r"/track/(\d+)", path)
        if match:
            song = emulator.deezer_songs.get(int(match.group(1)))
            if song is None:
                return 200, {"error": {"type": "DataException", "message": "no data", "code": 800}}, {}
            return 200, self._deezer_track(song, full=True), {}
        raise HttpError(404, "Not found")

    # -- Apple, iTunes and Spotify's public charts ------------------------------------------------------------
    def _apple(self, path: str) -> tuple[int, Any, dict[str, str]]:
        match = re.fullmatch(r"/api/v2/([a-z]{2})/music/most-played/(\d+)/songs\.json", path)
        if not match:
            raise HttpError(404, "Not found")
        size = int(match.group(2))
        if size > 100:
            # The real feed answers 500 above 100 items.
            raise HttpError(500, "Internal error")
        songs = self.emulator.apple_charts.get(match.group(1))
        if songs is None:
            raise HttpError(404, "Not found")
        updated = self.emulator.apple_updated or datetime.datetime.now(datetime.UTC)
        results = [
            {
                "artistName": song.artists[0],
                "id": str(APPLE_ID_BASE + song.number),
                "name": apple_title(song),
                "releaseDate": "2026-01-01",
                "kind": "songs",
                "artistId": str(sum(map(ord, song.artists[0]))),
                "contentAdvisoryRating": "Explict" if song.number % 5 == 0 else "",
                "genres": [{"genreId": "14", "name": "Pop"}],
                "url": f"https://music.apple.com/{match.group(1)}/song/{APPLE_ID_BASE + song.number}",
            }
            for song in songs[:size]
        ]
        feed = {
            "title": "Top Songs",
            "id": f"https://rss.applemarketingtools.com/api/v2/{match.group(1)}/music/most-played/{size}/songs.json",
            # The real feed dates itself in RFC 2822 form.
            "updated": updated.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "results": results,
        }
        return 200, {"feed": feed}, {}

    def _itunes(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if path != "/lookup":
            raise HttpError(404, "Not found")
        by_id = {APPLE_ID_BASE + song.number: song for song in self.emulator.world.songs}
        results = []
        for text in query.get("id", "").split(","):
            song = by_id.get(int(text)) if text.isdigit() else None
            if song is not None:
                results.append(
                    {
                        "wrapperType": "track",
                        "kind": "song",
                        "trackId": APPLE_ID_BASE + song.number,
                        "trackName": apple_title(song),
                        "artistName": song.artists[0],
                        "trackTimeMillis": song.duration_ms,
                        "trackExplicitness": "notExplicit",
                    }
                )
        return 200, {"resultCount": len(results), "results": results}, {}

    def _spotify_charts(self, path: str) -> tuple[int, Any, dict[str, str]]:
        if path != "/public/v0/charts" or self.emulator.spotify_weekly is None:
            raise HttpError(404, "Not found")
        day, songs = self.emulator.spotify_weekly
        entries = [
            {
                "chartEntryData": {
                    "currentRank": rank,
                    "previousRank": rank + 1,
                    "peakRank": rank,
                    "appearancesOnChart": 3,
                },
                "trackMetadata": {
                    "trackName": song.title,
                    "trackUri": f"spotify:track:{song.spotify_id}",
                    "artists": [
                        {"name": name, "spotifyUri": f"spotify:artist:{stable_id('artist', name)}"}
                        for name in song.artists
                    ],
                },
            }
            for rank, song in enumerate([s for s in songs if s.spotify_id][:50], start=1)
        ]
        chart = {
            "displayChart": {"chartMetadata": {"alias": "REGIONAL_GLOBAL_WEEKLY"}, "date": day.isoformat()},
            "entries": entries,
        }
        return 200, {"chartEntryViewResponses": [chart]}, {}

    def _deezer_track(self, song: Song, full: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": song.deezer_id,
            "readable": True,
            "title": song.title,
            "title_short": song.title,
            "title_version": "",
            "link": f"https://www.deezer.com/track/{song.deezer_id}",
            "duration": song.duration_ms // 1000,
            "rank": 900000 - song.number,
            "explicit_lyrics": False,
            "artist": {"id": 5000 + sum(map(ord, song.artists[0])), "name": song.artists[0], "type": "artist"},
            "album": {"id": 9000 + song.number, "title": f"{song.title} (Single)", "type": "album"},
            "type": "track",
        }
        if full:
            data["isrc"] = song.isrc
            data["contributors"] = [{"name": name, "role": "Main"} for name in song.artists]
            data["release_date"] = "2026-01-01"
        return data
