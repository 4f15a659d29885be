"""The Spotify gateway through the real spotipy/requests stack: retry policy, rate limits, tokens."""

from __future__ import annotations

import datetime
import json
import os
import stat
from pathlib import Path

import pytest
from conftest import WORLD_START, Sleeps, at

from spotify_tophits.errors import AuthError, ExitCode, RateLimitedError, SpotifyRequestError, TemporaryError
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.spotify import RetryPolicy, SpotipyGateway, TokenFile, latency_percentiles
from spotify_tophits.spotify.models import entry_track_id, parse_playlist
from spotify_tophits.spotify.stats import endpoint_name


def gateway(settings, sleeps: Sleeps, limits: list[datetime.datetime] | None = None) -> SpotipyGateway:  # type: ignore[no-untyped-def]
    return SpotipyGateway(
        settings,
        RetryPolicy(sleeps, max_retry_wait=30),
        clock=lambda: at(WORLD_START, 12),
        on_rate_limited=None if limits is None else limits.append,
    )


def test_gateway_waits_out_a_short_retry_after_and_succeeds(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.inject_rate_limit(r"/v1/me", 5)

    user = gateway(authorised, sleeps).current_user()

    assert user.id == "sandbox-user"
    assert sleeps.calls == [5.0]
    assert emulator.count("GET /me") == 2


def test_gateway_does_not_sleep_through_a_long_retry_after(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.inject_rate_limit(r"/v1/me", 50000, quota=True)
    limits: list[datetime.datetime] = []
    spotify = gateway(authorised, sleeps, limits)

    with pytest.raises(RateLimitedError) as raised:
        spotify.current_user()

    assert sleeps.calls == []
    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert "daily quota exceeded" in raised.value.message
    assert "retry after 13 h 53 min" in raised.value.message
    assert len(limits) == 1
    assert emulator.count("GET /me") == 1
    assert spotify.stats.rate_limited == 1


def test_gateway_retries_a_5xx_burst_on_get_with_growing_back_off(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.inject("GET", r"/v1/me", status=503, times=3)

    assert gateway(authorised, sleeps).current_user().id == "sandbox-user"

    assert sleeps.calls == [0.5, 1.0, 2.0]
    assert emulator.count("GET /me") == 4


def test_gateway_gives_up_after_its_attempts_with_exit_5(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.inject("GET", r"/v1/me", status=502, times=10)

    with pytest.raises(TemporaryError) as raised:
        gateway(authorised, sleeps).current_user()

    assert raised.value.exit_code == ExitCode.TEMPORARY
    assert emulator.count("GET /me") == 4


def test_gateway_never_retries_a_post(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.inject("POST", r"/v1/me/playlists", status=503, times=3)

    with pytest.raises(TemporaryError):
        gateway(authorised, sleeps).create_playlist("x", "y", public=False)

    assert emulator.count("POST /me/playlists") == 1
    assert sleeps.calls == []


def test_gateway_retries_a_dropped_connection_on_get(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.inject_drop("GET", r"/v1/me/playlists")

    assert gateway(authorised, sleeps).my_playlists() == []

    assert emulator.count("GET /me/playlists") == 2
    assert sleeps.calls == [0.5]


def test_gateway_refreshes_an_expired_access_token_transparently(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.expire_access_tokens()

    assert gateway(authorised, sleeps).current_user().id == "sandbox-user"

    assert emulator.count("POST /accounts/api/token") == 1
    assert emulator.count("GET /me") == 2


def test_gateway_turns_invalid_grant_into_exit_4(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.revoke_refresh_tokens()
    token = json.loads(authorised.paths.token_file.read_text())
    token["expires_at"] = 0
    authorised.paths.token_file.write_text(json.dumps(token))

    with pytest.raises(AuthError) as raised:
        gateway(authorised, sleeps).current_user()

    assert raised.value.exit_code == ExitCode.AUTH
    assert "invalid_grant" in raised.value.message
    assert "tophits auth" in raised.value.message


def test_gateway_without_a_token_fails_fast_instead_of_prompting(settings, emulator: Emulator, sleeps: Sleeps):
    with pytest.raises(AuthError) as raised:
        gateway(settings, sleeps).current_user()

    assert "run `tophits auth`" in raised.value.message
    assert emulator.count("") == 0


def test_gateway_reports_other_4xx_with_the_status(authorised, emulator: Emulator, sleeps: Sleeps):
    with pytest.raises(SpotifyRequestError) as raised:
        gateway(authorised, sleeps).playlist_track_ids("37i9dQZF1DXcBWIGoYBM5M")

    assert raised.value.status == 404


def test_gateway_pages_playlist_items_at_50_and_reads_item_or_track(authorised, emulator: Emulator, sleeps: Sleeps):
    tracks = [track.id for track in emulator.world.catalog[:120]]
    playlist = emulator.add_playlist("2222222222222222222222", "big", emulator.user_id, tracks)

    assert gateway(authorised, sleeps).playlist_track_ids(playlist.id) == tracks
    assert emulator.count("GET /playlists/{id}/items") == 3


def test_gateway_counts_requests_by_endpoint_and_latency(authorised, emulator: Emulator, sleeps: Sleeps):
    spotify = gateway(authorised, sleeps)
    spotify.current_user()
    spotify.search_tracks("isrc:NOPE00000000")

    summary = spotify.stats.summary()
    assert summary["by_endpoint"] == {"GET /me": 1, "GET /search": 1}
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99"}


def test_token_file_is_created_0600_atomically_even_with_umask_022(tmp_path: Path):
    old = os.umask(0o022)
    try:
        TokenFile(tmp_path / "state" / "token.json").save_token_to_cache({"access_token": "a", "refresh_token": "r"})
    finally:
        os.umask(old)

    path = tmp_path / "state" / "token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in path.parent.iterdir()] == ["token.json"]


def test_token_file_keeps_authorized_at_across_refreshes(tmp_path: Path):
    token_file = TokenFile(tmp_path / "token.json")
    token_file.save_token_to_cache({"access_token": "a", "authorized_at": "2026-06-01T00:00:00+00:00"})

    token_file.save_token_to_cache({"access_token": "b"})

    assert token_file.read() == {"access_token": "b", "authorized_at": "2026-06-01T00:00:00+00:00"}


def test_endpoint_name_hides_ids():
    assert endpoint_name("PUT", "http://127.0.0.1:1/v1/playlists/abc/items?x=1") == "PUT /playlists/{id}/items"
    assert endpoint_name("POST", "https://accounts.spotify.com/api/token") == "POST /api/token"


def test_latency_percentiles_in_milliseconds():
    assert latency_percentiles([]) == {}
    assert latency_percentiles([0.1]) == {"p50": 100.0, "p95": 100.0, "p99": 100.0}
    assert latency_percentiles([i / 1000 for i in range(1, 101)])["p50"] == pytest.approx(50.5)


def test_parse_playlist_accepts_the_old_tracks_shape():
    info = parse_playlist({"id": "p", "owner": {"id": "u"}, "snapshot_id": "s", "tracks": {"total": 7}})
    assert (info.total, info.owner_id, info.name) == (7, "u", "")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"item": {"id": "a", "type": "track"}}, "a"),
        ({"track": {"id": "b", "type": "track"}}, "b"),
        ({"item": {"id": None, "is_local": True}}, None),
        ({"item": {"id": "e", "type": "episode"}}, None),
        ({"item": None, "track": None}, None),
        (None, None),
    ],
)
def test_entry_track_id_reads_both_shapes_and_skips_what_is_not_a_track(entry, expected):
    assert entry_track_id(entry) == expected


def test_gateway_turns_a_403_into_exit_4_with_the_two_likely_causes(authorised, emulator: Emulator, sleeps: Sleeps):
    emulator.inject("GET", r"/v1/me/playlists", status=403)

    with pytest.raises(AuthError) as raised:
        gateway(authorised, sleeps).my_playlists()

    assert raised.value.exit_code == ExitCode.AUTH
    assert "lack a scope" in raised.value.message and "User Management" in raised.value.message
