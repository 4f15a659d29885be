"""The emulator answers in the shapes of Spotify's own OpenAPI definition (the subset in tests/data/)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from spotify_tophits.sandbox.server import Emulator

# Extracted from sonallux/spotify-web-api's fixed definition by tests/data/extract_openapi.py (see its README).
SPEC_PATH = Path(__file__).parent / "data" / "spotify-openapi-subset.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def openapi_to_json_schema(node: Any) -> Any:
    """Turn OpenAPI 3.0 schema quirks into JSON Schema: `nullable`, discriminated `oneOf`, deprecated fields."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi_to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    if "required" in node and isinstance(node.get("properties"), dict):
        # Fields the definition marks deprecated (available_markets, popularity, ...) are gone for
        # Development Mode apps since February 2026, so the emulator rightly leaves them out.
        deprecated = {
            name for name, field in node["properties"].items() if isinstance(field, dict) and field.get("deprecated")
        }
        node["required"] = [name for name in node["required"] if name not in deprecated]
    if "discriminator" in node and "oneOf" in node:
        # A track and an episode both validate when fields are optional; the discriminator picks one.
        node["anyOf"] = node.pop("oneOf")
    return node


def check(spec: dict[str, Any], response_name: str, body: Any) -> None:
    schema = spec["components"]["responses"][response_name]["content"]["application/json"]["schema"]
    document = {"components": openapi_to_json_schema(copy.deepcopy(spec["components"]))}
    document.update(openapi_to_json_schema(schema))
    jsonschema.Draft7Validator(document).validate(body)


def call(authorised_emulator: tuple[Emulator, str], method: str, path: str, **options: Any) -> requests.Response:
    emulator, token = authorised_emulator
    return requests.request(
        method, f"{emulator.base_url}v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10, **options
    )


@pytest.fixture
def api(emulator: Emulator) -> tuple[Emulator, str]:
    emulator.access_tokens["test-token"] = 4102444800.0
    return emulator, "test-token"


def test_me_matches_private_user_object(api, spec):
    response = call(api, "GET", "/me")
    assert response.status_code == 200
    schema = {
        "components": openapi_to_json_schema(spec["components"]),
        "$ref": "#/components/schemas/PrivateUserObject",
    }
    jsonschema.Draft7Validator(schema).validate(response.json())
    assert response.json()["account_id"]


def test_playlist_endpoints_match_the_definition(api, spec):
    emulator = api[0]
    created = call(api, "POST", "/me/playlists", json={"name": "n", "description": "d", "public": False})
    assert created.status_code == 201
    playlist_id = created.json()["id"]
    schema = {"components": openapi_to_json_schema(spec["components"]), "$ref": "#/components/schemas/PlaylistObject"}
    jsonschema.Draft7Validator(schema).validate(created.json())

    uris = [f"spotify:track:{track.id}" for track in emulator.world.catalog[:120]]
    replaced = call(api, "PUT", f"/playlists/{playlist_id}/items", json={"uris": uris[:100]})
    added = call(api, "POST", f"/playlists/{playlist_id}/items", json={"uris": uris[100:]})
    assert (replaced.status_code, added.status_code) == (200, 201)
    check(spec, "PlaylistSnapshotId", replaced.json())
    assert replaced.json()["snapshot_id"] != added.json()["snapshot_id"]

    page = call(api, "GET", f"/playlists/{playlist_id}/items", params={"limit": 50, "offset": 100})
    check(spec, "PagingPlaylistTrackObject", page.json())
    assert [entry["item"]["uri"] for entry in page.json()["items"]] == uris[100:]
    check(spec, "PagedPlaylists", call(api, "GET", "/me/playlists", params={"limit": 50}).json())

    removed = call(api, "DELETE", f"/playlists/{playlist_id}/items", json={"items": [{"uri": uris[0]}]})
    assert removed.status_code == 200
    assert emulator.playlists[playlist_id].items[0] == emulator.world.catalog[1].id


def test_search_matches_search_items_and_enforces_the_2026_limit(api, spec):
    track = api[0].world.catalog[0]
    found = call(api, "GET", "/search", params={"q": f"isrc:{track.isrc}", "type": "track", "limit": 10})
    check(spec, "SearchItems", found.json())
    assert [item["id"] for item in found.json()["tracks"]["items"]] == [track.id]
    assert call(api, "GET", "/search", params={"q": "x", "type": "track", "limit": 11}).status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/playlists/37i9dQZF1DXcBWIGoYBM5M", None, 404),
        ("GET", "/playlists/37i9dQZF1DXcBWIGoYBM5M/items", None, 404),
        ("GET", "/playlists/{own}/tracks", None, 403),
        ("PUT", "/playlists/{own}/items", {"uris": ["spotify:track:x"] * 101}, 400),
        ("GET", "/playlists/{own}/items?limit=51", None, 400),
    ],
)
def test_development_mode_rules_are_enforced(api, spec, method, path, body, status):
    own = call(api, "POST", "/me/playlists", json={"name": "n"}).json()["id"]
    response = call(api, method, path.replace("{own}", own), json=body)
    assert response.status_code == status
    check(spec, "Forbidden" if status == 403 else "NotFound" if status == 404 else "BadRequest", response.json())


def test_rate_limit_answer_carries_retry_after_and_the_quota_reason(api, spec):
    api[0].inject_rate_limit(r"/v1/me", 50000, quota=True)
    response = call(api, "GET", "/me")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "50000"
    check(spec, "TooManyRequests", response.json())
    assert response.json()["error"]["reason"] == "QUOTA_EXCEEDED"


def test_expired_token_answers_401_in_the_error_shape(api, spec):
    api[0].expire_access_tokens()
    response = call(api, "GET", "/me")
    assert response.status_code == 401
    check(spec, "Unauthorized", response.json())


def test_drop_after_applying_applies_the_request_then_closes_without_answering(api):
    emulator = api[0]
    emulator.inject_drop("POST", r"/v1/me/playlists", after_applying=True)

    with pytest.raises(requests.ConnectionError):
        call(api, "POST", "/me/playlists", json={"name": "Lost answer", "description": "d", "public": False})

    assert [playlist.name for playlist in emulator.user_playlists()] == ["Lost answer"]
    assert emulator.count("POST /me/playlists") == 1
