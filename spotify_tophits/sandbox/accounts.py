"""The emulated Spotify accounts service: authorise (approves at once), and the token endpoint.

Authorisation codes and refresh tokens are checked for real, so `invalid_grant` after a
revocation and `invalid_client` for a wrong secret behave as Spotify's do.
"""

from __future__ import annotations

import base64
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from spotify_tophits.sandbox.http import HttpError, Response
from spotify_tophits.sandbox.spotify_api import USER_ID

if TYPE_CHECKING:
    from spotify_tophits.sandbox.server import Emulator

CLIENT_ID = "tophits-sandbox-client"
CLIENT_SECRET = "tophits-sandbox-secret"  # noqa: S105 - a fixed, public test credential


def route(
    emulator: Emulator, headers: Mapping[str, str], method: str, path: str, query: dict[str, str], raw: bytes
) -> Response:
    """Answer one request to the accounts service (path relative to it)."""
    if method == "GET" and path == "/authorize":
        if query.get("client_id") != CLIENT_ID:
            raise HttpError(400, "INVALID_CLIENT: Invalid client")
        redirect = query.get("redirect_uri", "")
        if urllib.parse.urlsplit(redirect).hostname == "localhost":
            raise HttpError(400, "INVALID_CLIENT: Insecure redirect URI")
        code = secrets.token_urlsafe(16)
        with emulator.lock:
            emulator.codes[code] = query.get("scope", "")
            # The account signed in to the browser approves: `Emulator.sign_in` chooses it.
            emulator.code_users[code] = emulator.user_id
        parameters = {"code": code}
        if "state" in query:
            parameters["state"] = query["state"]
        location = f"{redirect}?{urllib.parse.urlencode(parameters)}"
        return 302, None, {"Location": location}
    if method == "POST" and path == "/api/token":
        form = {key: values[-1] for key, values in urllib.parse.parse_qs(raw.decode()).items()}
        if not _client_ok(headers, form):
            # Spotify's token endpoint answers in OAuth's shape, not the Web API's error object.
            return 400, {"error": "invalid_client", "error_description": "Invalid client secret"}, {}
        grant = form.get("grant_type")
        with emulator.lock:
            if grant == "authorization_code":
                code = form.get("code", "")
                scope = emulator.codes.pop(code, None)
                if scope is None:
                    return 400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}, {}
                user = emulator.code_users.pop(code, USER_ID)
                refresh = secrets.token_urlsafe(24)
                emulator.refresh_tokens[refresh] = scope
                emulator.refresh_users[refresh] = user
                return 200, _issue(emulator, scope, refresh, user), {}
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                scope = emulator.refresh_tokens.get(refresh)
                if scope is None:
                    return 400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}, {}
                return 200, _issue(emulator, scope, None, emulator.refresh_users.get(refresh, USER_ID)), {}
        return 400, {"error": "unsupported_grant_type"}, {}
    raise HttpError(404, "Not found")


def _client_ok(headers: Mapping[str, str], form: dict[str, str]) -> bool:
    header = headers.get("authorization", "")
    if header.startswith("Basic "):
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    return client_id == CLIENT_ID and secret == CLIENT_SECRET


def _issue(emulator: Emulator, scope: str, refresh: str | None, user: str) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    emulator.access_tokens[token] = time.time() + 3600
    emulator.token_users[token] = user
    body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": scope}
    if refresh:
        body["refresh_token"] = refresh
    return body
