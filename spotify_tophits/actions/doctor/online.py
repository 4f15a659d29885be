"""The checks doctor runs against the network: the token, Spotify's API and playlists, the chart sources.

Doctor never changes anything on Spotify and never waits on a rate limit: a 429 is reported
with its Retry-After. It never migrates the state DB either; an older schema is only reported.
"""

from __future__ import annotations

import dataclasses
import datetime
import time

from spotify_tophits.actions.doctor.checks import Check, Findings, Level
from spotify_tophits.config import Settings
from spotify_tophits.errors import ForbiddenError, TemporaryError, TophitsError
from spotify_tophits.ops import health
from spotify_tophits.retry import spotify_wait
from spotify_tophits.services import Services
from spotify_tophits.spotify import SCOPES, PlaylistInfo, TokenFile, refresh_token_expiry
from spotify_tophits.store import SCHEMA_VERSION, ManagedPlaylist, PlaylistState, open_store, schema_version_of


def auth(settings: Settings, now: datetime.datetime, offline: bool) -> Findings:
    """The token: present, scopes, days left, and (online) a live refresh."""
    token = TokenFile(settings.paths.token_file).read()
    if token is None:
        yield Check("auth", Level.ERROR, f"no Spotify authorisation at {settings.paths.token_file}", "tophits auth")
        return
    granted = set(str(token.get("scope") or "").split())
    missing = [scope for scope in SCOPES if scope not in granted]
    if missing:
        yield Check("auth", Level.ERROR, f"the token lacks scopes {' '.join(missing)}", "tophits auth")
        return
    expires = refresh_token_expiry(token)
    for finding in health.token_findings(expires, True, now):
        critical = finding.severity == health.CRITICAL
        yield Check("auth", Level.ERROR if critical else Level.WARNING, finding.message, finding.fix)
        if critical:
            return
    who = token.get("display_name") or token.get("user_id")
    left = f"; refresh token valid until {expires:%Y-%m-%d}" if expires else ""
    if offline:
        yield Check("auth", Level.OK, f"token present for {who}{left}")
        return
    from spotify_tophits.spotify.auth import refresh_now
    from spotify_tophits.spotify.stats import RequestStats, make_session

    try:
        refresh_now(settings, make_session(RequestStats()), token["refresh_token"])
    except TemporaryError as error:
        yield Check("auth", Level.ERROR, error.message, "check the network, then tophits doctor")
        return
    except TophitsError as error:
        yield Check("auth", Level.ERROR, error.message, "tophits auth")
        return
    yield Check("auth", Level.OK, f"token refreshed for {who}{left}")


def _playlist_check(record: ManagedPlaylist, listing: dict[str, PlaylistInfo], user_id: str) -> Check:
    info = listing.get(record.spotify_id or "")
    if info is None:
        return Check(
            "playlists",
            Level.WARNING,
            f"{record.name} is no longer in your library (unfollowed or deleted)",
            "tophits update (recreates it)",
        )
    if info.owner_id != user_id:
        return Check(
            "playlists",
            Level.ERROR,
            f"{record.name} is owned by {info.owner_id}, not you",
            "tophits update (recreates it)",
        )
    if record.snapshot_id and info.snapshot_id != record.snapshot_id:
        return Check(
            "playlists",
            Level.WARNING,
            f"{record.name} was changed outside tophits (snapshot differs)",
            "tophits update (restores the ranked list)",
        )
    return Check("playlists", Level.OK, f"{record.name}: {info.total} tracks, as last written")


def api_and_playlists(services: Services, now: datetime.datetime) -> Findings:
    """GET /me, then each managed playlist: still ours, followed, unchanged; /items answers."""
    from spotify_tophits.spotify import RetryPolicy

    settings = services.settings
    path = settings.paths.state_db
    if not path.exists() or schema_version_of(path) != SCHEMA_VERSION:
        return  # the state check reports a missing or older DB; opening it here would migrate it
    store = open_store(path)
    try:
        wait = spotify_wait(store.get_meta("not_before"), now)
        if wait is not None:
            yield Check("api", Level.WARNING, f"not calling Spotify: {wait}", "nothing: the timer retries after that")
            return
        # max_retry_wait 0: a 429 is reported with its Retry-After, never waited on.
        policy = RetryPolicy(services.sleep, max_retry_wait=0, max_attempts=1)
        gateway = dataclasses.replace(services, retry_policy=policy).gateway(store, lambda: now)
        started = time.monotonic()
        try:
            user = gateway.current_user()
        except ForbiddenError:
            profile = settings.paths.profile
            who = f"profile {profile}'s account" if profile else "this account"
            yield Check(
                "api",
                Level.ERROR,
                f"Spotify answered 403 to GET /me: {who} is not among the app's users (a Development Mode app"
                " serves at most five accounts, listed under User Management)",
                "add the account's e-mail under User Management in the Spotify Developer Dashboard, then"
                f" tophits{f' --profile {profile}' if profile else ''} auth",
            )
            return
        except TophitsError as error:
            fix = "tophits doctor again later" if isinstance(error, TemporaryError) else "tophits auth"
            yield Check("api", Level.ERROR, f"GET /me failed: {error.message}", fix)
            return
        yield Check(
            "api",
            Level.OK,
            f"GET /me: {user.display_name or user.id} in {(time.monotonic() - started) * 1000:.0f} ms"
            " (the app owner's Premium cannot be checked through the API)",
        )
        records = [r for r in store.managed_playlists() if r.status == PlaylistState.ACTIVE and r.spotify_id]
        if not records:
            return
        try:
            listing = {info.id: info for info in gateway.my_playlists()}
        except TophitsError as error:
            yield Check(
                "playlists", Level.ERROR, f"cannot list your playlists: {error.message}", "tophits doctor again later"
            )
            return
        for record in records:
            yield _playlist_check(record, listing, user.id)
        first = next((record for record in records if record.spotify_id in listing), None)
        if first is not None:
            try:
                gateway.playlist_track_ids(first.spotify_id or "")
            except TophitsError as error:
                yield Check("playlists", Level.ERROR, f"reading {first.name} failed: {error.message}", "tophits auth")
            else:
                yield Check("playlists", Level.OK, "the /items endpoint answers")
    finally:
        store.close()


def sources(services: Services) -> Findings:
    """Each chart source answers in a valid shape (a cheap probe, no track look-ups)."""
    from spotify_tophits.sources.registry import build_sources

    store = open_store(None)  # the probes cache nothing worth keeping
    try:
        session = services.http_session()
        for source in build_sources(
            services.settings, store, session, None, clock=services.clock, sleep=services.sleep
        ):
            try:
                rows = source.probe()
            except TophitsError as error:
                yield Check(
                    "sources",
                    Level.ERROR,
                    error.message,
                    f"check {source.name}, or remove it from sources in config.toml",
                )
                continue
            yield Check("sources", Level.OK, f"{source.name}: reachable, {rows} rows in a valid shape")
    finally:
        store.close()
