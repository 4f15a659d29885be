"""The emulated Spotify Web API, as Development Mode apps see it in 2026.

Only the `/items` endpoints (the old `/tracks` answer 403), `POST /me/playlists`, search limit
≤ 10 (400 above), item pages ≤ 50, writes ≤ 100 URIs (400 above), a new `snapshot_id` on every
write, and Spotify-owned playlists answer 404. Bodies follow Spotify's OpenAPI definition.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from spotify_tophits.matching import normalise
from spotify_tophits.sandbox.http import FIELD_FILTER, HttpError, Response
from spotify_tophits.sandbox.world import CatalogTrack, stable_id

if TYPE_CHECKING:
    from spotify_tophits.sandbox.server import EmulatedPlaylist, Emulator

USER_ID = "sandbox-user"
ACCOUNT_ID = "acct-5a4db0x"
SPOTIFY_OWNER = "spotify"
# What Spotify answers (as plain text, not JSON) to an account missing from a Development Mode app's users.
NOT_REGISTERED = "User not registered in the Developer Dashboard"


def check_bearer(emulator: Emulator, headers: Mapping[str, str]) -> str:
    """Return the user the bearer token belongs to; 401 for a bad or expired token, 403 for an unlisted user."""
    header = headers.get("authorization", "")
    token = header.removeprefix("Bearer ")
    with emulator.lock:
        expires = emulator.access_tokens.get(token)
        user = emulator.token_users.get(token, USER_ID)
        listed = user in emulator.app_users
    if expires is None:
        raise HttpError(401, "Invalid access token")
    if expires < time.time():
        raise HttpError(401, "The access token expired")
    if not listed:
        raise HttpError(403, NOT_REGISTERED, plain=True)
    return user


def route(
    emulator: Emulator, headers: Mapping[str, str], method: str, path: str, query: dict[str, str], raw: bytes
) -> Response:
    """Answer one request to the Web API (path relative to /v1), after checking its bearer token."""
    user = check_bearer(emulator, headers)
    body = json.loads(raw) if raw else None
    if path == "/me" and method == "GET":
        return 200, user_object(emulator, user, full=True), {}
    if path == "/me/playlists":
        if method == "GET":
            limit, offset = paging(query, 50)
            with emulator.lock:
                mine = [p for p in emulator.playlists.values() if p.followed and p.owner_id == user]
            return (
                200,
                page(emulator, "/me/playlists", [playlist_object(emulator, p) for p in mine], limit, offset, query),
                {},
            )
        if method == "POST":
            if not isinstance(body, dict) or not body.get("name"):
                raise HttpError(400, "Missing required field: name")
            with emulator.lock:
                playlist_id = stable_id("playlist", len(emulator.playlists), time.time_ns())
                playlist = emulator.add_playlist(playlist_id, body["name"], user, [])
                playlist.description = body.get("description", "")
                playlist.public = bool(body.get("public", True))
                return 201, playlist_object(emulator, playlist, full=True), {}
    if path == "/me/top/tracks" and method == "GET":
        limit, offset = paging(query, 50)
        tracks = [track_object(emulator, emulator.tracks[track_id]) for track_id in emulator.top_tracks]
        return 200, page(emulator, "/me/top/tracks", tracks, limit, offset, query), {}
    if path == "/search" and method == "GET":
        return 200, search(emulator, query), {}
    match = re.fullmatch(r"/playlists/([^/]+)(/items|/tracks)?", path)
    if match:
        return _playlist_route(emulator, user, method, match.group(1), match.group(2), query, body)
    raise HttpError(404, "Service not found")


def _playlist_route(
    emulator: Emulator, user: str, method: str, playlist_id: str, sub: str | None, query: dict[str, str], body: Any
) -> Response:
    with emulator.lock:
        playlist = emulator.playlists.get(playlist_id)
        if playlist is None or playlist.owner_id == SPOTIFY_OWNER:
            raise HttpError(404, "Resource not found")
        if sub == "/tracks":
            # Removed for Development Mode apps in February 2026.
            raise HttpError(403, "Forbidden")
        if sub is None:
            if method == "GET":
                return 200, playlist_object(emulator, playlist, full=True), {}
            if method == "PUT":
                _own(user, playlist)
                for field in ("name", "description", "public"):
                    if isinstance(body, dict) and field in body:
                        setattr(playlist, field, body[field])
                return 200, None, {}
            raise HttpError(405, "Method not allowed")
        if method == "GET":
            _own(user, playlist)
            limit, offset = paging(query, 50)
            entries = [entry_object(emulator, track_id, user) for track_id in playlist.items]
            return 200, page(emulator, f"/playlists/{playlist_id}/items", entries, limit, offset, query), {}
        _own(user, playlist)
        if method in ("PUT", "POST"):
            uris = body.get("uris") if isinstance(body, dict) else None
            if uris is None and query.get("uris"):
                uris = query["uris"].split(",")
            if not isinstance(uris, list):
                raise HttpError(400, "Expected a JSON object with 'uris'")
            if len(uris) > 100:
                raise HttpError(400, "You can add a maximum of 100 tracks per request.")
            ids = [_track_id(emulator, uri) for uri in uris]
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
            remove = {_track_id(emulator, entry.get("uri", "")) for entry in removals}
            playlist.items = [track_id for track_id in playlist.items if track_id not in remove]
            playlist.version += 1
            return 200, {"snapshot_id": playlist.snapshot_id}, {}
    raise HttpError(405, "Method not allowed")


def _own(user: str, playlist: EmulatedPlaylist) -> None:
    if playlist.owner_id != user:
        raise HttpError(403, "Forbidden")


def _track_id(emulator: Emulator, uri: str) -> str:
    prefix = "spotify:track:"
    if not isinstance(uri, str) or not uri.startswith(prefix) or uri[len(prefix) :] not in emulator.tracks:
        raise HttpError(400, f"Invalid track uri: {uri}")
    return uri[len(prefix) :]


def paging(query: dict[str, str], maximum: int) -> tuple[int, int]:
    try:
        limit = int(query.get("limit", 20))
        offset = int(query.get("offset", 0))
    except ValueError:
        raise HttpError(400, "Invalid limit or offset") from None
    if not 1 <= limit <= maximum or offset < 0:
        raise HttpError(400, "Invalid limit")
    return limit, offset


def page(
    emulator: Emulator, path: str, items: list[Any], limit: int, offset: int, query: dict[str, str]
) -> dict[str, Any]:
    base = f"{emulator.base_url}v1{path}"
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


def user_object(emulator: Emulator, user_id: str, full: bool = False) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id,
        "display_name": emulator.users.get(user_id, user_id),
        "type": "user",
        "uri": f"spotify:user:{user_id}",
        "href": f"{emulator.base_url}v1/users/{user_id}",
        "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
    }
    if full:
        account = ACCOUNT_ID if user_id == USER_ID else stable_id("account", user_id)
        user.update({"account_id": account, "images": []})
    return user


def playlist_object(emulator: Emulator, playlist: EmulatedPlaylist, full: bool = False) -> dict[str, Any]:
    base = f"{emulator.base_url}v1/playlists/{playlist.id}"
    owner = (
        user_object(emulator, playlist.owner_id)
        if playlist.owner_id in emulator.users
        else {"id": playlist.owner_id, "type": "user"}
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
        entries = [entry_object(emulator, track_id, playlist.owner_id) for track_id in playlist.items]
        items.update({"items": entries[:100], "limit": 100, "offset": 0, "next": None, "previous": None})
    return data


def entry_object(emulator: Emulator, track_id: str, added_by: str) -> dict[str, Any]:
    return {
        "added_at": "2026-01-01T00:00:00Z",
        "added_by": user_object(emulator, added_by),
        "is_local": False,
        "item": track_object(emulator, emulator.tracks[track_id]),
    }


def track_object(emulator: Emulator, track: CatalogTrack) -> dict[str, Any]:
    base = emulator.base_url
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


def search(emulator: Emulator, query: dict[str, str]) -> dict[str, Any]:
    if query.get("type") != "track":
        raise HttpError(400, "Only type=track is emulated")
    limit, offset = paging(query, 10)
    text = query.get("q", "")
    fields = {name: quoted or bare for name, quoted, bare in FIELD_FILTER.findall(text)}
    free_text = normalise(FIELD_FILTER.sub(" ", text))
    free = set(free_text.split())
    # Normalised once per query, not once per catalogue track: a search scans thousands of tracks.
    isrc = fields["isrc"].upper() if "isrc" in fields else None
    title_words = set(normalise(fields["track"]).split()) if "track" in fields else None
    artist = normalise(fields["artist"]) if "artist" in fields else None
    results = []
    for track in emulator.tracks.values():
        if isrc is not None and track.isrc.upper() != isrc:
            continue
        name, artists = emulator.track_words[track.id]
        if title_words is not None and not title_words <= set(name.split()):
            continue
        if artist is not None and artist not in artists:
            continue
        if free and not free <= set(f"{name} {artists}".split()):
            continue
        results.append(track)
    # Closest names first, as Spotify's relevance roughly does; then a stable order.
    wanted = normalise(fields["track"]) if "track" in fields else free_text
    results.sort(key=lambda track: (normalise(track.name) != wanted, len(track.name), track.id))
    return {"tracks": page(emulator, "/search", [track_object(emulator, t) for t in results], limit, offset, query)}
