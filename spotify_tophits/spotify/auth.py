"""Spotify authorisation: the OAuth client, the token file, and what an authorisation failure means.

Only this package imports spotipy (lazily). The token file is written atomically with mode
0600 and keeps `authorized_at`, which spotipy does not track, so tophits can warn before the
6-month refresh-token expiry. A scheduled run never falls into spotipy's interactive prompt.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_tophits.errors import AuthError, TemporaryError, TophitsError
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
REFRESH_TOKEN_LIFETIME = datetime.timedelta(days=182)


class TokenFile:
    """The token cache: token.json, written atomically with mode 0600, keeping who and since when."""

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
        """Store token_info, keeping the authorisation facts (when, who) the refresh answer lacks."""
        previous = self.read() or {}
        merged = dict(token_info)
        for key in ("authorized_at", "user_id", "display_name"):
            if key in previous and key not in merged:
                merged[key] = previous[key]
        write_atomically(self.path, json.dumps(merged, indent=2, sort_keys=True).encode("utf-8"))


def refresh_token_expiry(token: Mapping[str, Any]) -> datetime.datetime | None:
    """Return when the refresh token dies (6 months after authorisation), if we know when that was."""
    authorized_at = token.get("authorized_at")
    if not authorized_at:
        return None
    return datetime.datetime.fromisoformat(str(authorized_at)) + REFRESH_TOKEN_LIFETIME


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


def oauth_failure(error: Any) -> TophitsError:
    """Translate spotipy's SpotifyOauthError into what the user should do.

    Only `invalid_grant` and `invalid_client` mean the authorisation itself is gone (exit 4,
    run `tophits auth`); anything else from the accounts service (a 5xx, a 429, an answer it
    could not finish) is a blip the timer's next run gets past (exit 5).
    """
    code = getattr(error, "error", None)
    if code == "invalid_grant":
        return AuthError(
            "Spotify refused the refresh token (invalid_grant): the authorisation expired or was revoked;"
            " run `tophits auth`"
        )
    if code == "invalid_client":
        return AuthError(
            "Spotify refused the app's client id or secret (invalid_client): check SPOTIPY_CLIENT_ID and"
            " SPOTIPY_CLIENT_SECRET, then run `tophits auth`"
        )
    # spotipy raises SpotifyOauthError while handling the HTTPError that carries the status.
    response = getattr(error.__context__, "response", None)
    status = getattr(response, "status_code", None)
    return accounts_unreachable(str(status) if status else str(code or "no answer"))


def accounts_unreachable(reason: str) -> TemporaryError:
    """Return the exit-5 error for an accounts service that did not answer a token refresh."""
    return TemporaryError(f"Spotify's accounts service did not answer ({reason}); the timer will retry")


@dataclasses.dataclass
class AuthorisationFlow:
    """One authorisation-code login: the URL to open, then the redirect URL that completes it."""

    oauth: Any
    state: str
    url: str

    def complete(self, redirected: str) -> None:
        """Exchange the code in the redirect URL for tokens (saved to token.json); raise AuthError if refused."""
        from spotipy.oauth2 import SpotifyOauthError

        try:
            returned_state, code = self.oauth.parse_auth_response_url(redirected.strip())
        except SpotifyOauthError as error:
            raise AuthError(f"Spotify did not authorise tophits ({error.error}); run `tophits auth` again") from None
        if not code:
            raise AuthError("that URL carries no authorisation code; paste the whole address the browser ended on")
        if returned_state != self.state:
            raise AuthError(
                "the pasted URL belongs to another login attempt (state mismatch); run `tophits auth` again"
            )
        try:
            self.oauth.get_access_token(code, as_dict=False, check_cache=False)
        except SpotifyOauthError as error:
            raise AuthError(
                f"Spotify refused the authorisation code ({error.error}); run `tophits auth` again"
            ) from None


def start_authorisation(settings: Settings, session: requests.Session) -> AuthorisationFlow:
    """Begin an interactive login: return the flow holding the authorise URL (with a fresh state)."""
    import secrets  # hmac and hashlib: only a login needs them, `status` reads the token file

    oauth = make_oauth(settings, session, interactive=True)
    state = secrets.token_urlsafe(16)
    return AuthorisationFlow(oauth, state, oauth.get_authorize_url(state=state))


def refresh_now(settings: Settings, session: requests.Session, refresh_token: str) -> None:
    """Ask the accounts service for a new access token now (doctor's live check).

    Raise AuthError when Spotify refuses it, TemporaryError when the service cannot be reached.
    """
    import requests
    from spotipy.oauth2 import SpotifyOauthError

    try:
        make_oauth(settings, session).refresh_access_token(refresh_token)
    except SpotifyOauthError as error:
        raise oauth_failure(error) from None
    except requests.RequestException as error:
        raise accounts_unreachable(type(error).__name__) from None
