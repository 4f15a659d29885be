"""Refresh `spotify-openapi-subset.json` from Spotify's OpenAPI definition (run by hand, never by the tests).

    python tests/data/extract_openapi.py path/to/fixed-spotify-open-api.yml

The source file is `fixed-spotify-open-api.yml` from github.com/sonallux/spotify-web-api. The
subset keeps the `info` block, the paths and methods the emulator serves, the responses and
schemas the contract tests name, and everything those reference, so the tests validate against
Spotify's own shapes without the whole 290 kB definition. Print the source's sha256 and the paths
kept, for tests/data/README.md.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

# What the emulator answers (spotify_tophits/sandbox/spotify_api.py), relative to /v1.
PATHS = {
    "/me": ["get"],
    "/me/playlists": ["get", "post"],
    "/me/top/tracks": ["get"],
    "/search": ["get"],
    "/playlists/{playlist_id}": ["get", "put"],
    "/playlists/{playlist_id}/items": ["get", "post", "put", "delete"],
    # Answered with 403 only: removed for Development Mode apps, still in the definition.
    "/playlists/{playlist_id}/tracks": ["get", "post", "put", "delete"],
}
# What tests/test_emulator_contract.py validates against, by name.
RESPONSES = [
    "BadRequest",
    "Forbidden",
    "NotFound",
    "PagedPlaylists",
    "PagingPlaylistTrackObject",
    "PlaylistSnapshotId",
    "SearchItems",
    "TooManyRequests",
    "Unauthorized",
]
SCHEMAS = ["PlaylistObject", "PrivateUserObject"]
OUTPUT = Path(__file__).with_name("spotify-openapi-subset.json")


def references(node: Any) -> set[str]:
    """Given any part of the definition, return every `$ref` inside it (`#/components/<kind>/<name>`)."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= references(value)
        return found
    if isinstance(node, list):
        return set().union(*(references(item) for item in node)) if node else set()
    return set()


def extract(definition: dict[str, Any]) -> dict[str, Any]:
    """Given the whole definition, return the subset: the kept paths and the components they and the tests need."""
    paths = {path: {method: definition["paths"][path][method] for method in methods} for path, methods in PATHS.items()}
    wanted = {f"#/components/responses/{name}" for name in RESPONSES}
    wanted |= {f"#/components/schemas/{name}" for name in SCHEMAS}
    wanted |= references(paths)
    # The operations name their OAuth scopes through `security`, which refers to the scheme by name, not `$ref`.
    components: dict[str, dict[str, Any]] = {"securitySchemes": definition["components"]["securitySchemes"]}
    pending = sorted(wanted)
    while pending:
        reference = pending.pop()
        _, _, kind, name = reference.split("/")
        if name in components.get(kind, {}):
            continue
        node = definition["components"][kind][name]
        components.setdefault(kind, {})[name] = node
        pending.extend(sorted(references(node)))
    return {
        "openapi": definition["openapi"],
        "info": definition["info"],
        "servers": definition.get("servers", []),
        "paths": paths,
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }


def main(source: Path) -> None:
    data = source.read_bytes()
    subset = extract(yaml.safe_load(data))
    # YAML reads the unquoted example dates (release_date: 1981-12-15) as dates; JSON keeps them as text.
    text = json.dumps(subset, indent=1, ensure_ascii=False, default=str)
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    counts = ", ".join(f"{len(items)} {kind}" for kind, items in subset["components"].items())
    print(f"source sha256 {hashlib.sha256(data).hexdigest()}, version {subset['info']['version']}")
    print(f"wrote {OUTPUT.name}: {len(subset['paths'])} paths, {counts}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/data/extract_openapi.py path/to/fixed-spotify-open-api.yml")
    main(Path(sys.argv[1]))
