"""Settings: defaults, validation messages, secrets and the path chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_config

from spotify_tophits.config import DEFAULT_REDIRECT_URI, load_settings, resolve_paths
from spotify_tophits.errors import ConfigError, ExitCode


def test_missing_config_file_means_documented_defaults(isolated_environment):
    environment = {k: v for k, v in isolated_environment.items() if not k.endswith("_URL")}
    settings = load_settings(environment)

    assert not settings.config_file_found
    assert settings.timezone == "UTC"
    assert settings.sources == ("deezer:worldwide", "apple:us")
    assert {key: (p.size, p.enabled, p.public) for key, p in settings.playlists.items()} == {
        "daily": (50, True, False),
        "weekly": (100, True, False),
        "monthly": (200, True, False),
        "yearly": (250, True, False),
    }
    assert settings.max_per_artist == 3
    assert settings.max_retry_wait == 30
    assert settings.credentials.redirect_uri == DEFAULT_REDIRECT_URI
    assert settings.endpoints["spotify_api"] == "https://api.spotify.com/v1/"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "colour = 1 is not a known setting; remove it"),
        (
            "[playlists.daily]\nsize = 0\n",
            "playlists.daily.size = 0 is out of range; use a whole number from 1 to 10000",
        ),
        ("[playlists.yearly]\nsize = 10001\n", "playlists.yearly.size = 10001 is out of range"),
        ('[playlists.daily]\nsize = "50"\n', "playlists.daily.size = '50' must be a whole number"),
        ("[playlists.daily]\nsize = true\n", "playlists.daily.size = True must be a whole number"),
        ('[playlists.weekly]\npublic = "yes"\n', "playlists.weekly.public = 'yes' must be true or false"),
        ("[playlists.hourly]\n", "playlists.hourly = {} is not a known setting"),
        ('timezone = "Mars/Olympus"\n', "timezone = 'Mars/Olympus' is not an IANA time zone; use e.g. 'Europe/Berlin'"),
        ('sources = ["napster:us"]\n', "sources = 'napster:us' is not a known source"),
        ('sources = ["deezer:atlantis"]\n', "names an unknown Deezer chart"),
        ("sources = []\n", "must be a non-empty list of strings"),
        ('[playlists.monthly]\nname = "{nope}"\n', "playlists.monthly.name = '{nope}' is not a valid template"),
        ('[playlists.monthly]\nspotify_id = "abc"\n', "playlists.monthly.spotify_id = 'abc' is not a known setting"),
        ("max_per_artist = 0\n", "max_per_artist = 0 must be at least 1"),
        ("timezone = \n", "not valid TOML"),
    ],
)
def test_invalid_config_fails_with_exit_3_naming_key_value_and_fix(isolated_environment, text, message):
    path = write_config(isolated_environment, text)

    with pytest.raises(ConfigError) as raised:
        load_settings(isolated_environment)

    assert raised.value.exit_code == ExitCode.CONFIG
    assert message in raised.value.message
    assert str(path) in raised.value.message
    assert "\n" not in raised.value.message


def test_config_values_are_read(isolated_environment):
    write_config(
        isolated_environment,
        'timezone = "Europe/Berlin"\nprefix = "DJ "\nsources = ["deezer:narnia"]\n'
        "[playlists.weekly]\nenabled = false\n[deezer.playlists]\nnarnia = 42\n",
    )
    settings = load_settings(isolated_environment)
    assert settings.sources == ("deezer:narnia",)
    assert settings.prefix == "DJ "

    assert settings.zone.key == "Europe/Berlin"
    assert [p.key for p in settings.enabled_playlists()] == ["daily", "monthly", "yearly"]
    assert settings.deezer_playlists["narnia"] == 42


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("http://127.0.0.1:8888/callback", True),
        ("http://[::1]:9000/cb", True),
        ("https://example.org/callback", True),
        ("http://localhost:8888/callback", False),
        ("http://127.0.0.1/callback", False),
        ("http://192.168.1.10:8888/callback", False),
    ],
)
def test_redirect_uri_must_be_a_loopback_ip_literal_with_a_port(isolated_environment, uri, accepted):
    environment = isolated_environment | {"SPOTIPY_REDIRECT_URI": uri}
    if accepted:
        assert load_settings(environment).credentials.redirect_uri == uri
    else:
        with pytest.raises(ConfigError) as raised:
            load_settings(environment)
        assert "http://127.0.0.1:8888/callback" in raised.value.message


def test_credentials_come_from_env_file_environment_and_systemd_credential(isolated_environment, tmp_path: Path):
    env_file = Path(isolated_environment["TOPHITS_CONFIG_DIR"]) / ".env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("SPOTIPY_CLIENT_ID=from-file\nSPOTIPY_CLIENT_SECRET=file-secret\n")

    from_file = load_settings(isolated_environment).credentials
    assert (from_file.client_id, from_file.client_secret) == ("from-file", "file-secret")
    assert from_file.secret_source.startswith(".env")

    overridden = load_settings(isolated_environment | {"SPOTIPY_CLIENT_ID": "from-env"}).credentials
    assert overridden.client_id == "from-env"

    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "spotify-client-secret").write_text("systemd-secret\n")
    systemd = load_settings(isolated_environment | {"CREDENTIALS_DIRECTORY": str(credentials)}).credentials
    assert (systemd.client_secret, systemd.secret_source) == ("systemd-secret", "systemd credential")
    assert "systemd-secret" not in repr(systemd)


def test_missing_client_id_or_secret_names_the_variable_and_where_to_set_it(isolated_environment):
    settings = load_settings(isolated_environment)
    with pytest.raises(ConfigError) as raised:
        settings.require_credentials()
    assert raised.value.message.startswith("SPOTIPY_CLIENT_ID is not set; set it in ")

    settings = load_settings(isolated_environment | {"SPOTIPY_CLIENT_ID": "x"})
    with pytest.raises(ConfigError) as raised:
        settings.require_credentials()
    assert raised.value.message.startswith("SPOTIPY_CLIENT_SECRET is not set")


def test_path_chain_prefers_tophits_variables_then_systemd_then_platformdirs(tmp_path: Path):
    systemd = {"STATE_DIRECTORY": f"{tmp_path}/systemd-state:{tmp_path}/other", "CACHE_DIRECTORY": f"{tmp_path}/c"}
    paths = resolve_paths(systemd | {"TOPHITS_STATE_DIR": f"{tmp_path}/own"})
    assert paths.state_dir == tmp_path / "own"
    assert paths.origins["state"] == "TOPHITS_STATE_DIR"

    paths = resolve_paths(systemd)
    assert paths.state_dir == tmp_path / "systemd-state"
    assert paths.origins == {"config": "platformdirs", "state": "STATE_DIRECTORY"}

    paths = resolve_paths({"TOPHITS_CONFIG": f"{tmp_path}/elsewhere/my.toml"})
    assert paths.config_file == tmp_path / "elsewhere" / "my.toml"
    assert paths.env_file == tmp_path / "elsewhere" / ".env"


def test_endpoint_variables_are_honoured_and_validated(isolated_environment):
    settings = load_settings(isolated_environment | {"TOPHITS_DEEZER_API_URL": "http://127.0.0.1:9/deezer"})
    assert settings.endpoints["deezer_api"] == "http://127.0.0.1:9/deezer/"

    with pytest.raises(ConfigError) as raised:
        load_settings(isolated_environment | {"TOPHITS_SPOTIFY_API_URL": "ftp://nope"})
    assert "TOPHITS_SPOTIFY_API_URL" in raised.value.message


def test_env_file_that_is_not_utf8_exits_3_naming_the_file(isolated_environment):
    env_file = Path(isolated_environment["TOPHITS_CONFIG_DIR"]) / ".env"
    env_file.parent.mkdir(parents=True)
    env_file.write_bytes(b"SPOTIPY_CLIENT_ID=\xff\xfe\n")

    with pytest.raises(ConfigError) as raised:
        load_settings(isolated_environment)

    assert str(env_file) in raised.value.message


def test_env_file_with_junk_lines_keeps_the_valid_ones(isolated_environment):
    env_file = Path(isolated_environment["TOPHITS_CONFIG_DIR"]) / ".env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("this is not a setting\nSPOTIPY_CLIENT_ID=abc\n")

    assert load_settings(isolated_environment).credentials.client_id == "abc"
