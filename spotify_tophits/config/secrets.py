"""Spotify app credentials: the environment, `.env` beside the config, or a systemd credential.

The client secret never appears in a repr, a log line or any output; only where it came from.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from spotify_tophits.errors import ConfigError

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"
CREDENTIAL_NAME = "spotify-client-secret"


@dataclasses.dataclass(frozen=True)
class Credentials:
    """Spotify app credentials. The secret never appears in repr, logs or output."""

    client_id: str | None
    client_secret: str | None = dataclasses.field(repr=False)
    redirect_uri: str
    secret_source: str | None
    # Where the client id came from: a profile's own `.env`, the shared one, or the environment.
    client_id_source: str | None = None


def validate_redirect_uri(uri: str) -> str:
    """Return the redirect URI if Spotify would accept it for a loopback app, else raise ConfigError."""
    fix = f"use a loopback IP literal with a port, e.g. {DEFAULT_REDIRECT_URI}"
    parsed = urllib.parse.urlparse(uri)
    host = parsed.hostname or ""
    if host == "localhost":
        raise ConfigError(f"SPOTIPY_REDIRECT_URI = {uri!r}: Spotify rejects 'localhost' redirect URIs; {fix}")
    if parsed.scheme == "https" and host:
        return uri
    try:
        loopback = parsed.scheme == "http" and ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or parsed.port is None:
        raise ConfigError(f"SPOTIPY_REDIRECT_URI = {uri!r} is not a loopback IP literal with a port; {fix}")
    return uri


def read_env_file(path: Path) -> dict[str, str]:
    """Return the variables set in a `.env` file (none when it does not exist)."""
    if not path.exists():
        return {}
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}; fix the file or remove it") from None
    return {key: value for key, value in values.items() if value is not None}


def read_credential(environ: Mapping[str, str]) -> str | None:
    """Return the client secret systemd passed as a credential (LoadCredential=), if any."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / CREDENTIAL_NAME
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read systemd credential {path}: {error}; check LoadCredential=") from None


def load_credentials(environ: Mapping[str, str], env_file: Path, shared_env_file: Path | None = None) -> Credentials:
    """Return the Spotify credentials: the environment wins over `.env`, the systemd credential over both.

    A profile reads its own `.env` first, then the shared one beside the profiles (one app, several accounts).
    """
    files = [(read_env_file(env_file), f".env ({env_file})")]
    if shared_env_file is not None:
        files.append((read_env_file(shared_env_file), f"shared .env ({shared_env_file})"))

    def lookup(name: str) -> tuple[str | None, str | None]:
        if environ.get(name):
            return environ[name], "environment"
        for values, where in files:
            if values.get(name):
                return values[name], where
        return None, None

    client_id, id_source = lookup("SPOTIPY_CLIENT_ID")
    secret, secret_source = lookup("SPOTIPY_CLIENT_SECRET")
    credential = read_credential(environ)
    if credential:
        secret, secret_source = credential, "systemd credential"
    redirect, _ = lookup("SPOTIPY_REDIRECT_URI")
    return Credentials(
        client_id=client_id,
        client_secret=secret,
        redirect_uri=validate_redirect_uri(redirect or DEFAULT_REDIRECT_URI),
        secret_source=secret_source,
        client_id_source=id_source,
    )
