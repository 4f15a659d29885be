"""`tophits auth`: the one interactive step, made to work on a headless VPS; and `auth --status`."""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import math
import queue
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any, TextIO

from spotify_tophits.config import Settings
from spotify_tophits.errors import AuthError, UsageError
from spotify_tophits.services import open_state
from spotify_tophits.spotify import SCOPES, RequestStats, RetryPolicy, SpotipyGateway, TokenFile, refresh_token_expiry
from spotify_tophits.spotify.auth import start_authorisation
from spotify_tophits.spotify.stats import make_session


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
    age_seconds: float | None = None

    @property
    def expired(self) -> bool:
        """Whether the refresh token has passed its 6-month end."""
        return self.days_left is not None and self.days_left < 0

    @property
    def needs_auth(self) -> bool:
        """Whether `tophits auth` must run again: no token, a missing scope, or an expired refresh token."""
        return not self.present or bool(self.missing_scopes) or self.expired


def authorise(
    settings: Settings,
    receive_redirect: Callable[[str], str],
    now: datetime.datetime,
    sleep: Callable[[float], None],
) -> AuthResult:
    """Run the authorisation-code flow: `receive_redirect(authorise_url)` returns the URL Spotify redirected to.

    `sleep` waits between retries of the one API call (GET /me) that names the account.
    """
    flow = start_authorisation(settings, make_session(RequestStats()))
    flow.complete(receive_redirect(flow.url))
    policy = RetryPolicy(sleep, max_retry_wait=settings.max_retry_wait)
    me = SpotipyGateway(settings, policy, clock=lambda: now).current_user()
    token_file = TokenFile(settings.paths.token_file)
    token = token_file.read() or {}
    token.update({"authorized_at": now.isoformat(), "user_id": me.id, "display_name": me.display_name})
    token_file.save_token_to_cache(token)
    store = open_state(settings, now)
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
        age_seconds=None if authorized_at is None else (now - authorized_at).total_seconds(),
    )


MAX_TIMEOUT = 3600.0


def check_timeout(timeout: float) -> float:
    """Return `auth --timeout` when it is a number of seconds from 1 to 3600; raise UsageError otherwise
    (a negative wait ends at once, and nan never ends)."""
    if not (math.isfinite(timeout) and 1 <= timeout <= MAX_TIMEOUT):
        raise UsageError(f"--timeout {timeout} is out of range; give seconds from 1 to {MAX_TIMEOUT:g}")
    return timeout


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
