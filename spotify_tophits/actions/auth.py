"""`tophits auth`: the one interactive step, made to work on a headless VPS; and `auth --status`."""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import queue
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any, TextIO

from spotify_tophits.actions import open_state
from spotify_tophits.config import Settings
from spotify_tophits.errors import AuthError
from spotify_tophits.spotify import (
    SCOPES,
    RequestStats,
    SpotipyGateway,
    TokenFile,
    make_oauth,
    make_session,
    refresh_token_expiry,
)


@dataclasses.dataclass(frozen=True)
class AuthResult:
    """Who is now authorised, and since when."""

    user_id: str
    display_name: str | None
    scopes: tuple[str, ...]
    authorized_at: datetime.datetime
    expires_at: datetime.datetime


@dataclasses.dataclass(frozen=True)
class AuthStatus:
    """What the token file says, without any secret and without the network."""

    token_file: str
    present: bool
    user_id: str | None = None
    display_name: str | None = None
    scopes: tuple[str, ...] = ()
    missing_scopes: tuple[str, ...] = ()
    authorized_at: datetime.datetime | None = None
    expires_at: datetime.datetime | None = None
    days_left: int | None = None


def authorise(settings: Settings, receive_redirect: Callable[[str], str], now: datetime.datetime) -> AuthResult:
    """Run the authorisation-code flow: `receive_redirect(authorise_url)` returns the URL Spotify redirected to."""
    from spotipy.oauth2 import SpotifyOauthError

    stats = RequestStats()
    session = make_session(stats)
    oauth = make_oauth(settings, session, interactive=True)
    state = secrets.token_urlsafe(16)
    url = oauth.get_authorize_url(state=state)
    redirected = receive_redirect(url).strip()
    try:
        returned_state, code = oauth.parse_auth_response_url(redirected)
    except SpotifyOauthError as error:
        raise AuthError(f"Spotify did not authorise tophits ({error.error}); run `tophits auth` again") from None
    if not code:
        raise AuthError("that URL carries no authorisation code; paste the whole address the browser ended on")
    if returned_state != state:
        raise AuthError("the pasted URL belongs to another login attempt (state mismatch); run `tophits auth` again")
    try:
        oauth.get_access_token(code, as_dict=False, check_cache=False)
    except SpotifyOauthError as error:
        raise AuthError(f"Spotify refused the authorisation code ({error.error}); run `tophits auth` again") from None
    me = SpotipyGateway(settings).current_user()
    token_file = TokenFile(settings.paths.token_file)
    token = token_file.read() or {}
    token.update({"authorized_at": now.isoformat(), "user_id": me.id, "display_name": me.display_name})
    token_file.save_token_to_cache(token)
    store = open_state(settings)
    try:
        store.set_meta("user_id", me.id)
        if me.account_id:
            store.set_meta("account_id", me.account_id)
    finally:
        store.close()
    expires_at = refresh_token_expiry(token)
    assert expires_at is not None
    return AuthResult(me.id, me.display_name, SCOPES, now, expires_at)


def auth_status(settings: Settings, now: datetime.datetime) -> AuthStatus:
    """Return what the token file says about the authorisation (never the tokens themselves)."""
    token = TokenFile(settings.paths.token_file).read()
    if not token:
        return AuthStatus(str(settings.paths.token_file), present=False)
    scopes = tuple(sorted(str(token.get("scope") or "").split()))
    expires_at = refresh_token_expiry(token)
    authorized_at = datetime.datetime.fromisoformat(token["authorized_at"]) if token.get("authorized_at") else None
    return AuthStatus(
        token_file=str(settings.paths.token_file),
        present=True,
        user_id=token.get("user_id"),
        display_name=token.get("display_name"),
        scopes=scopes,
        missing_scopes=tuple(scope for scope in SCOPES if scope not in scopes),
        authorized_at=authorized_at,
        expires_at=expires_at,
        days_left=None if expires_at is None else (expires_at - now).days,
    )


def capture_redirect(
    authorise_url: str,
    redirect_uri: str,
    announce: Callable[[str, bool], None],
    stdin: TextIO,
    timeout: float,
) -> str:
    """Show the authorise URL, then return the redirect URL from whichever comes first: the browser
    reaching our one-shot listener on the redirect URI's port (when that port is free here), or a
    URL pasted on standard input (a headless VPS, where the browser runs elsewhere).
    """
    answers: queue.Queue[str] = queue.Queue()
    server = _listen(redirect_uri, answers)
    announce(authorise_url, server is not None)

    def read_stdin() -> None:
        for line in stdin:
            if line.strip():
                answers.put(line.strip())
                return

    threading.Thread(target=read_stdin, name="tophits-auth-stdin", daemon=True).start()
    try:
        return answers.get(timeout=timeout)
    except queue.Empty:
        raise AuthError(f"no redirect received within {int(timeout)} s; run `tophits auth` again") from None
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def _listen(redirect_uri: str, answers: queue.Queue[str]) -> http.server.HTTPServer | None:
    parsed = urllib.parse.urlsplit(redirect_uri)
    if parsed.scheme != "http" or not parsed.hostname or parsed.port is None:
        return None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urllib.parse.urlsplit(self.path).path != (parsed.path or "/"):
                self.send_error(404)
                return
            body = b"tophits: authorisation received. You can close this tab and return to the terminal.\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            answers.put(f"{redirect_uri.split('?')[0]}?{urllib.parse.urlsplit(self.path).query}")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

    try:
        server = http.server.HTTPServer((parsed.hostname, parsed.port), Handler)
    except OSError:
        return None
    threading.Thread(target=server.serve_forever, name="tophits-auth-listener", daemon=True).start()
    return server
