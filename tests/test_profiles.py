"""Profiles: several Spotify accounts on one host, each with its own config, state, token and lock.

The end-to-end tests drive two profiles ("anna" and "ben", two accounts of one Spotify app) against
one emulator, in turn and at the same time, and check that neither touches the other's files,
playlists or lock, and that a failure in one leaves the other alone.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CHART_DAY, WORLD_START, WORLDWIDE, TophitsRunner, at, lock_held_by_another_process, no_sleep
from conftest import write_config as write_default_config
from test_operations import Recorder

from spotify_tophits.actions.auth import authorise
from spotify_tophits.actions.demo import follow_authorise_redirect
from spotify_tophits.actions.update import UpdateResult, run_update
from spotify_tophits.archive import verify_archive
from spotify_tophits.cli import app
from spotify_tophits.config import Settings, load_settings, resolve_paths
from spotify_tophits.config.paths import find_profiles, with_unit_profile
from spotify_tophits.errors import ConfigError
from spotify_tophits.ops import units
from spotify_tophits.sandbox.accounts import CLIENT_ID, CLIENT_SECRET
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.world import World
from spotify_tophits.services import Services
from spotify_tophits.spotify import RetryPolicy
from spotify_tophits.store import open_reader

runner = TophitsRunner()
# profile -> (Spotify user id, display name, playlist prefix)
ACCOUNTS = {"anna": ("anna-user", "Anna", "Anna · "), "ben": ("ben-user", "Ben", "Ben · ")}


def profile_environment(environment: dict[str, str], profile: str) -> dict[str, str]:
    return environment | {"TOPHITS_PROFILE": profile}


def write_profile_config(environment: dict[str, str], profile: str, text: str) -> Path:
    directory = Path(environment["TOPHITS_CONFIG_DIR"]) / "profiles" / profile
    return write_default_config(environment | {"TOPHITS_CONFIG_DIR": str(directory)}, text)


def expected_daily(world: World) -> list[str]:
    """The daily list of CHART_DAY's chart: its Spotify tracks in order, at most 3 per artist, 50 long."""
    from spotify_tophits.matching import primary_artist

    chosen: list[str] = []
    per_artist: dict[str, int] = {}
    for song in world.chart(CHART_DAY):
        artist = primary_artist(song.artists)
        if song.spotify_id is None or per_artist.get(artist, 0) >= 3:
            continue
        per_artist[artist] = per_artist.get(artist, 0) + 1
        chosen.append(song.spotify_id)
    return chosen[:50]


@pytest.fixture
def household(environment: dict[str, str], emulator: Emulator, world: World) -> dict[str, Settings]:
    """Two profiles, each authorised by its own account, with CHART_DAY's chart published."""
    profiles = {}
    for profile, (user, display, prefix) in ACCOUNTS.items():
        write_profile_config(environment, profile, f'prefix = "{prefix}"\nsources = ["deezer:worldwide"]\n')
        emulator.sign_in(user, display)
        profiles[profile] = load_settings(profile_environment(environment, profile))
        authorise(profiles[profile], follow_authorise_redirect, at(WORLD_START), no_sleep)
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY))
    emulator.reset_counts()
    return profiles


def daily_of(emulator: Emulator, user: str) -> list[str]:
    [daily] = [p for p in emulator.user_playlists(user) if "Daily Hits" in p.name]
    return daily.items


def run_results(settings: Settings) -> list[str]:
    store = open_reader(settings.paths.state_db)
    try:
        return [run["result"] for run in store.recent_runs(10)]
    finally:
        store.close()


# -- paths ----------------------------------------------------------------------------------------------------
def test_no_profile_keeps_the_directories_exactly_as_they_were(tmp_path: Path):
    paths = resolve_paths({"TOPHITS_CONFIG_DIR": f"{tmp_path}/c", "TOPHITS_STATE_DIR": f"{tmp_path}/s"})

    assert (paths.config_file, paths.state_dir, paths.profile) == (tmp_path / "c/config.toml", tmp_path / "s", None)
    assert paths.shared_env_file is None


def test_a_profile_lives_under_profiles_name_of_each_chain_entry(tmp_path: Path):
    paths = resolve_paths(
        {"TOPHITS_CONFIG_DIR": f"{tmp_path}/c", "STATE_DIRECTORY": "/var/lib/tophits", "TOPHITS_PROFILE": "anna"}
    )

    assert paths.config_file == tmp_path / "c/profiles/anna/config.toml"
    assert paths.env_file == tmp_path / "c/profiles/anna/.env"
    assert paths.shared_env_file == tmp_path / "c/.env"
    assert paths.state_dir == Path("/var/lib/tophits/profiles/anna")
    assert paths.token_file == Path("/var/lib/tophits/profiles/anna/token.json")
    assert paths.lock_file == Path("/var/lib/tophits/profiles/anna/update.lock")
    assert paths.origins == {"config": "TOPHITS_CONFIG_DIR", "state": "STATE_DIRECTORY"}


def test_a_template_unit_directory_that_already_names_the_profile_is_not_appended_twice():
    # StateDirectory=tophits/profiles/%i and ConfigurationDirectory=tophits/profiles/%i in tophits-update@anna.
    paths = resolve_paths(
        {
            "STATE_DIRECTORY": "/var/lib/tophits/profiles/anna",
            "CONFIGURATION_DIRECTORY": "/etc/tophits/profiles/anna",
            "TOPHITS_PROFILE": "anna",
        }
    )

    assert paths.state_dir == Path("/var/lib/tophits/profiles/anna")
    assert paths.config_file == Path("/etc/tophits/profiles/anna/config.toml")
    assert paths.shared_env_file == Path("/etc/tophits/.env")


@pytest.mark.parametrize("name", ["Anna", "an_na", "a" * 33, "../x", "anna/ben", " anna"])
def test_a_bad_profile_name_in_the_environment_is_a_config_error_naming_the_rule(name: str):
    with pytest.raises(ConfigError) as raised:
        resolve_paths({"TOPHITS_PROFILE": name})

    assert raised.value.message == (
        f"TOPHITS_PROFILE = {name!r} is not a profile name; use 1 to 32 lower-case letters, digits and hyphens,"
        " e.g. 'anna'"
    )


def test_a_bad_profile_option_exits_2_and_an_bad_variable_exits_3_each_with_one_line(environment):
    option = runner.invoke(app, ["--profile", "Anna", "status"])
    variable = runner.invoke(app, ["status"], env={"TOPHITS_PROFILE": "../etc"})

    assert (option.exit_code, option.output.count("\n")) == (2, 1)
    assert "--profile 'Anna' is not a profile name" in option.output
    assert (variable.exit_code, variable.output.count("\n")) == (3, 1)
    assert "TOPHITS_PROFILE = '../etc' is not a profile name" in variable.output


def test_find_profiles_lists_the_directories_with_valid_names(environment):
    for profile in ("ben", "anna"):
        (Path(environment["TOPHITS_STATE_DIR"]) / "profiles" / profile).mkdir(parents=True)
    (Path(environment["TOPHITS_CONFIG_DIR"]) / "profiles" / "carla").mkdir(parents=True)
    (Path(environment["TOPHITS_CONFIG_DIR"]) / "profiles" / "Not A Profile").mkdir(parents=True)

    assert find_profiles(environment) == ["anna", "ben", "carla"]


# -- credentials --------------------------------------------------------------------------------------------------
def test_a_profile_takes_the_shared_env_and_its_own_env_wins(environment: dict[str, str]):
    shared = {key: value for key, value in environment.items() if not key.startswith("SPOTIPY_")}
    config = Path(environment["TOPHITS_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / ".env").write_text(f"SPOTIPY_CLIENT_ID=shared-app\nSPOTIPY_CLIENT_SECRET={CLIENT_SECRET}\n")
    own = config / "profiles" / "ben"
    own.mkdir(parents=True)
    (own / ".env").write_text("SPOTIPY_CLIENT_ID=bens-app\n")

    anna = load_settings(shared | {"TOPHITS_PROFILE": "anna"}).credentials
    ben = load_settings(shared | {"TOPHITS_PROFILE": "ben"}).credentials

    assert (anna.client_id, anna.client_id_source) == ("shared-app", f"shared .env ({config / '.env'})")
    assert (ben.client_id, ben.client_id_source) == ("bens-app", f".env ({own / '.env'})")
    assert ben.client_secret == CLIENT_SECRET  # not in Ben's .env: the shared one fills it in
    assert ben.secret_source == f"shared .env ({config / '.env'})"


# -- end to end on the emulator -----------------------------------------------------------------------------------
def test_two_profiles_updated_in_turn_keep_separate_playlists_state_and_tokens(
    household: dict[str, Settings], emulator: Emulator, world: World
):
    anna = runner.invoke(app, ["--profile", "anna", "update"])
    ben = runner.invoke(app, ["update"], env={"TOPHITS_PROFILE": "ben"})

    assert (anna.exit_code, ben.exit_code) == (0, 0), anna.output + ben.output
    for profile, (user, _, prefix) in ACCOUNTS.items():
        names = sorted(p.name for p in emulator.user_playlists(user))
        assert len(names) == 4 and all(name.startswith(prefix) for name in names)
        assert daily_of(emulator, user) == expected_daily(world)
        assert run_results(household[profile]) == ["ok"]
    assert emulator.user_playlists() == []  # the default account was never touched
    paths = [household[profile].paths for profile in ACCOUNTS]
    assert len({p.state_db for p in paths}) == len({p.token_file for p in paths}) == len({p.lock_file for p in paths})
    assert len({p.state_db for p in paths}) == 2


def test_two_profiles_updated_at_the_same_time_both_succeed_on_their_own_accounts(
    household: dict[str, Settings], emulator: Emulator, world: World
):
    results: dict[str, UpdateResult] = {}

    def update(profile: str) -> None:
        services = Services(household[profile], retry_policy=RetryPolicy(no_sleep, max_retry_wait=30), sleep=no_sleep)
        results[profile] = run_update(services, at(CHART_DAY))

    threads = [threading.Thread(target=update, args=(profile,)) for profile in ACCOUNTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert {profile: result.exit_code for profile, result in results.items()} == {"anna": 0, "ben": 0}
    for user, _, _ in ACCOUNTS.values():
        assert daily_of(emulator, user) == expected_daily(world)
    # Each account created its own four playlists: none was adopted across accounts.
    assert emulator.count("POST /me/playlists") == 8


def test_one_profiles_lock_does_not_hold_back_the_other(household: dict[str, Settings], emulator: Emulator):
    with lock_held_by_another_process(household["anna"].paths.lock_file) as pid:
        anna = runner.invoke(app, ["--profile", "anna", "update"])
        ben = runner.invoke(app, ["--profile", "ben", "update"])

    assert anna.exit_code == 5 and f"pid {pid}" in anna.output
    assert ben.exit_code == 0, ben.output
    assert len(emulator.user_playlists("ben-user")) == 4
    assert emulator.user_playlists("anna-user") == []


def test_a_revoked_account_fails_its_profile_only(household: dict[str, Settings], emulator: Emulator, world: World):
    runner.invoke(app, ["--profile", "anna", "update"])
    runner.invoke(app, ["--profile", "ben", "update"])
    emulator.revoke_refresh_tokens("anna-user")
    emulator.set_deezer_chart(WORLDWIDE, world.chart(CHART_DAY.replace(day=CHART_DAY.day + 1)))
    tomorrow = at(CHART_DAY.replace(day=CHART_DAY.day + 1), 7)
    before = daily_of(emulator, "anna-user")

    anna = runner.invoke(app, ["--profile", "anna", "update"], now=tomorrow)
    ben = runner.invoke(app, ["--profile", "ben", "update"], now=tomorrow)

    assert anna.exit_code == 4 and "tophits auth" in anna.output
    assert ben.exit_code == 0, ben.output
    assert daily_of(emulator, "anna-user") == before
    assert daily_of(emulator, "ben-user") != before
    assert run_results(household["ben"]) == ["ok", "ok"]
    assert run_results(household["anna"])[0] != "ok"


def test_an_account_missing_from_the_apps_users_gets_403_and_the_other_profile_runs(
    household: dict[str, Settings], emulator: Emulator
):
    emulator.app_users.discard("anna-user")

    anna = runner.invoke(app, ["--profile", "anna", "update"])
    ben = runner.invoke(app, ["--profile", "ben", "update"])

    assert anna.exit_code == 4 and "User Management" in anna.output
    assert ben.exit_code == 0, ben.output


def test_the_default_installation_is_untouched_by_profiles(
    household: dict[str, Settings], environment: dict[str, str], emulator: Emulator
):
    runner.invoke(app, ["--profile", "anna", "update"])

    default = load_settings(environment)
    assert not default.paths.state_db.exists() and not default.paths.token_file.exists()
    assert default.paths.state_dir == Path(environment["TOPHITS_STATE_DIR"])
    assert load_settings(environment).credentials.client_id == CLIENT_ID


# -- profiles and status --all-profiles ---------------------------------------------------------------------------
def updated_and_backed_up(profiles: list[str]) -> None:
    for profile in profiles:
        assert runner.invoke(app, ["--profile", profile, "update"]).exit_code == 0
        assert runner.invoke(app, ["--profile", profile, "backup", "--offline"]).exit_code == 0


def test_profiles_lists_name_account_playlists_last_run_and_health(household: dict[str, Settings]):
    updated_and_backed_up(["anna"])

    listing = runner.invoke(app, ["profiles"])
    as_json = runner.invoke(app, ["profiles", "--json"])

    assert listing.exit_code == 0
    assert listing.output.splitlines() == [
        f"{'anna':<14} {'Anna':<20} 4 playlists, last run ok 0 s ago (2026-11-10 07:00 UTC): ok",
        f"{'ben':<14} {'Ben':<20} 0 playlists, last run never: warning",
    ]
    assert json.loads(as_json.output)[0] == {
        "profile": "anna",
        "account": "Anna",
        "playlists": 4,
        "last_run": "2026-11-10T07:00:00+00:00",
        "last_result": "ok",
        "health": "ok",
        "problem": None,
    }


def test_profiles_lists_the_default_installation_first_when_it_has_a_token(
    authorised: Settings, household: dict[str, Settings]
):
    listing = runner.invoke(app, ["--profile", "ben", "profiles", "--json"])

    assert [(line["profile"], line["account"]) for line in json.loads(listing.output)] == [
        (None, "Sandbox Listener"),
        ("anna", "Anna"),
        ("ben", "Ben"),
    ]


def test_status_all_profiles_check_without_profiles_is_unknown_3(environment):
    result = runner.invoke(app, ["status", "--all-profiles", "--check"])

    assert (result.exit_code, result.output) == (
        3,
        "TOPHITS UNKNOWN - no profiles found; create one with tophits --profile NAME auth\n",
    )


def test_status_all_profiles_check_is_ok_0_when_every_profile_is(household: dict[str, Settings]):
    updated_and_backed_up(["anna", "ben"])

    result = runner.invoke(app, ["status", "--all-profiles", "--check"])

    assert (result.exit_code, result.output) == (0, "TOPHITS OK - 2 profiles: anna OK, ben OK\n")


def test_status_all_profiles_check_is_warning_1_naming_the_profile_that_warns(household: dict[str, Settings]):
    updated_and_backed_up(["anna"])
    runner.invoke(app, ["--profile", "ben", "update"])

    result = runner.invoke(app, ["status", "--all-profiles", "--check"])

    assert (result.exit_code, result.output) == (
        1,
        "TOPHITS WARNING - ben: no backup archive yet (2 profiles: anna OK, ben WARNING)\n",
    )


def test_status_all_profiles_check_is_critical_2_over_warning_and_unknown_and_unknown_3_over_warning(
    authorised: Settings, household: dict[str, Settings]
):
    updated_and_backed_up(["anna", "ben"])
    household["anna"].paths.token_file.unlink()
    runner.invoke(app, ["update"])  # the default installation, without a backup: a warning

    result = runner.invoke(app, ["status", "--all-profiles", "--check"])
    household["ben"].paths.state_db.write_bytes(b"not a database")
    with_unknown = runner.invoke(app, ["status", "--all-profiles", "--check"])
    household["anna"].paths.state_db.write_bytes(b"not a database")
    unknown = runner.invoke(app, ["status", "--all-profiles", "--check"])

    assert (result.exit_code, result.output) == (
        2,
        "TOPHITS CRITICAL - anna: no Spotify authorisation (3 profiles: default WARNING, anna CRITICAL, ben OK)\n",
    )
    assert with_unknown.exit_code == 2 and "ben UNKNOWN" in with_unknown.output
    assert unknown.exit_code == 3
    assert unknown.output.startswith("TOPHITS UNKNOWN - anna: ") and "; ben: " in unknown.output


def test_status_all_profiles_shows_one_block_per_profile_and_json_names_them(household: dict[str, Settings]):
    updated_and_backed_up(["anna", "ben"])

    text = runner.invoke(app, ["status", "--all-profiles"])
    as_json = runner.invoke(app, ["status", "--all-profiles", "--json"])

    assert text.exit_code == 0
    assert [line for line in text.output.splitlines() if line.startswith("==")] == [
        "== profile anna (Anna) ==",
        "== profile ben (Ben) ==",
    ]
    assert "Anna · Daily Hits: 50/50 tracks" in text.output and "Ben · Daily Hits: 50/50 tracks" in text.output
    blocks = json.loads(as_json.output)["profiles"]
    assert [(block["profile"], block["status"]["profile"], block["status"]["level"]) for block in blocks] == [
        ("anna", "anna", "ok"),
        ("ben", "ben", "ok"),
    ]


# -- backups ------------------------------------------------------------------------------------------------------
def backup_of(profile: str, *options: str) -> Path:
    result = runner.invoke(app, ["--profile", profile, "backup", "--offline", *options])
    assert result.exit_code == 0, result.output
    return Path(result.output.split()[1])


def test_a_backup_names_its_profile_in_the_manifest_and_lands_in_the_profiles_directory(
    household: dict[str, Settings],
):
    updated_and_backed_up(["anna"])

    [path] = (household["anna"].paths.state_dir / "backups").glob("tophits-full-*.tar.gz")

    assert verify_archive(path).manifest.profile == "anna"


def test_restoring_another_profiles_archive_is_refused_without_into_profile(household: dict[str, Settings]):
    updated_and_backed_up(["anna", "ben"])
    archive = backup_of("anna", "--include-secrets")
    before = household["ben"].paths.state_db.read_bytes()

    refused = runner.invoke(app, ["--profile", "ben", "restore", str(archive), "--yes"])
    misnamed = runner.invoke(app, ["--profile", "ben", "restore", str(archive), "--yes", "--into-profile", "anna"])

    assert refused.exit_code == 6
    assert f"{archive} is a backup of profile anna, not ben; nothing was changed." in refused.output
    assert "add --into-profile ben" in refused.output
    assert misnamed.exit_code == 2 and "--into-profile anna is not the profile being restored (ben)" in misnamed.output
    assert household["ben"].paths.state_db.read_bytes() == before


def test_into_profile_restores_state_but_keeps_this_profiles_token(household: dict[str, Settings]):
    updated_and_backed_up(["anna"])
    archive = backup_of("anna", "--include-secrets")
    bens_token = household["ben"].paths.token_file.read_bytes()

    result = runner.invoke(app, ["--profile", "ben", "restore", str(archive), "--yes", "--into-profile", "ben"])
    pushing = runner.invoke(
        app, ["--profile", "ben", "restore", str(archive), "--yes", "--into-profile", "ben", "--playlists"]
    )

    assert result.exit_code == 0, result.output
    assert run_results(household["ben"]) == ["ok"]  # Anna's run history, now Ben's state
    assert household["ben"].paths.token_file.read_bytes() == bens_token
    assert pushing.exit_code == 2 and "the archived playlists belong to profile anna's account" in pushing.output


def test_default_is_reserved_for_the_installation_without_a_profile(environment):
    result = runner.invoke(app, ["--profile", "default", "status"])

    assert result.exit_code == 2 and "is reserved for the installation without a profile" in result.output


# -- template units -----------------------------------------------------------------------------------------------
TEMPLATE_EXTRAS = ("Environment=TOPHITS_PROFILE=%i", "StateDirectory=tophits/profiles/%i", "ConfigurationDirectory=")


@pytest.mark.parametrize("flavour", ["system", "user"])
@pytest.mark.parametrize("base", ["tophits-update", "tophits-backup", "tophits-doctor"])
def test_each_template_is_its_plain_unit_plus_the_profile_with_the_same_hardening(flavour: str, base: str):
    for suffix in ("service", "timer"):
        plain = units.render(f"{base}.{suffix}", flavour, "/usr/bin/tophits").splitlines()[1:]
        template = units.render(f"{base}@.{suffix}", flavour, "/usr/bin/tophits").splitlines()[1:]

        added = [line for line in template if line.startswith(TEMPLATE_EXTRAS) and line not in plain]
        kept = [line.replace("tophits (%i):", "tophits:") for line in template if line not in added]
        assert [line for line in kept if not line.startswith("#")] == [
            line for line in plain if not line.startswith("#")
        ]
        if suffix == "service":
            assert "Environment=TOPHITS_PROFILE=%i" in added
            # The profile's own directory comes first, so $STATE_DIRECTORY names it before the shared one.
            if flavour == "system":
                assert template.index("StateDirectory=tophits/profiles/%i") < template.index("StateDirectory=tophits")


@pytest.mark.parametrize("flavour", ["system", "user"])
def test_systemd_analyze_verify_accepts_two_profiles_instances(tmp_path: Path, flavour: str):
    for name in units.definitions():
        (tmp_path / name).write_text(units.render(name, flavour, "/usr/bin/true"))
    instances = []
    for profile in ("anna", "ben"):
        for timer in units.instance_timers(profile):
            for suffix in (".timer", ".service"):
                instance = tmp_path / timer.replace(".timer", suffix)
                instance.symlink_to(tmp_path / timer.replace(f"@{profile}.timer", f"@{suffix}"))
                instances.append(str(instance))

    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *instances], capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stderr) == (0, "")


def test_a_template_instance_with_systemds_directory_list_resolves_to_the_profile_once():
    # StateDirectory=tophits/profiles/%i then StateDirectory=tophits: systemd lists both, the profile's first.
    paths = resolve_paths(
        {
            "STATE_DIRECTORY": "/var/lib/tophits/profiles/anna:/var/lib/tophits",
            "CONFIGURATION_DIRECTORY": "/etc/tophits/profiles/anna:/etc/tophits",
            "TOPHITS_PROFILE": "anna",
        }
    )

    assert (paths.state_dir, paths.config_dir) == (
        Path("/var/lib/tophits/profiles/anna"),
        Path("/etc/tophits/profiles/anna"),
    )
    assert paths.shared_env_file == Path("/etc/tophits/.env")


def test_systemd_install_for_a_profile_writes_the_templates_and_enables_its_instances(tmp_path: Path):
    plan = units.plan_install("user", "Europe/Berlin", "/usr/bin/tophits", tmp_path, profile="anna")

    written = {path.relative_to(tmp_path).as_posix(): text for path, text in plan.files}
    assert "tophits-update.timer" not in written  # the default installation's units are not touched
    assert {"tophits-update@.service", "tophits-update@.timer", "tophits-notify@.service"} <= set(written)
    assert written["tophits-update@anna.timer.d/timezone.conf"].splitlines()[1:] == [
        "[Timer]",
        "OnCalendar=",
        "OnCalendar=*-*-* 06:00:00 Europe/Berlin",
    ]
    assert plan.commands[-1] == (
        "systemctl",
        "--user",
        "enable",
        "--now",
        "tophits-update@anna.timer",
        "tophits-backup@anna.timer",
        "tophits-doctor@anna.timer",
    )
    removal = units.plan_uninstall("user", tmp_path, profile="anna")
    assert removal.commands[0][-3:] == (
        "tophits-update@anna.timer",
        "tophits-backup@anna.timer",
        "tophits-doctor@anna.timer",
    )
    assert all(".d/timezone.conf" in str(path) for path, _ in removal.files)


def test_systemd_install_profile_after_the_command_is_the_global_option(environment, tmp_path: Path):
    write_profile_config(environment, "anna", 'timezone = "Europe/Berlin"\n')

    result = runner.invoke(app, ["systemd", "install", "--user", "--dry-run", "--profile", "anna"])

    assert result.exit_code == 0, result.output
    assert "tophits-update@anna.timer" in result.output and "OnCalendar=*-*-* 06:00:00 Europe/Berlin" in result.output


def test_a_failed_template_instance_is_reported_with_its_profiles_settings():
    environ = with_unit_profile({}, "tophits-update@anna.service")

    assert environ == {"TOPHITS_PROFILE": "anna"}
    assert with_unit_profile({"TOPHITS_PROFILE": "ben"}, "tophits-update@anna.service")["TOPHITS_PROFILE"] == "ben"
    assert with_unit_profile({}, "tophits-update.service") == {}


# -- doctor -------------------------------------------------------------------------------------------------------
def test_doctor_names_the_account_missing_from_the_apps_users_and_which_app_applies(
    household: dict[str, Settings], emulator: Emulator
):
    runner.invoke(app, ["--profile", "anna", "update"])
    emulator.app_users.discard("anna-user")

    anna = runner.invoke(app, ["--profile", "anna", "doctor", "--json"])
    ben = runner.invoke(app, ["--profile", "ben", "doctor", "--json"])

    anna_checks = {(check["category"], check["level"]): check for check in json.loads(anna.stdout)["checks"]}
    assert anna.exit_code == 1
    forbidden = anna_checks[("api", "error")]
    assert forbidden["message"].startswith("Spotify answered 403 to GET /me: profile anna's account is not among")
    assert "User Management" in forbidden["fix"] and forbidden["fix"].endswith("tophits --profile anna auth")
    assert not any(
        check["category"] == "api" and check["level"] == "error" for check in json.loads(ben.stdout)["checks"]
    )


def test_doctor_says_whether_a_profile_uses_the_shared_app_or_its_own(environment: dict[str, str]):
    shared = {key: value for key, value in environment.items() if not key.startswith("SPOTIPY_")}
    config = Path(environment["TOPHITS_CONFIG_DIR"])
    (config / "profiles" / "ben").mkdir(parents=True)
    (config / ".env").write_text(f"SPOTIPY_CLIENT_ID=shared\nSPOTIPY_CLIENT_SECRET={CLIENT_SECRET}\n")
    (config / "profiles" / "ben" / ".env").write_text(f"SPOTIPY_CLIENT_ID=own\nSPOTIPY_CLIENT_SECRET={CLIENT_SECRET}\n")

    def credentials_line(profile: str) -> str:
        result = runner.invoke(app, ["--profile", profile, "doctor", "--offline", "--json"], env=shared)
        [line] = [c["message"] for c in json.loads(result.stdout)["checks"] if c["category"] == "credentials"]
        return line

    # Empty in the environment of the run, so the .env files decide.
    shared |= {"SPOTIPY_CLIENT_ID": "", "SPOTIPY_CLIENT_SECRET": ""}
    assert credentials_line("anna").endswith("; the app shared by every profile)")
    assert credentials_line("ben").endswith("; this profile's own app)")


# -- metrics and notifications --------------------------------------------------------------------------------------
@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.server.shutdown()


def test_each_profile_writes_its_own_metrics_file_with_a_profile_label(
    household: dict[str, Settings], environment: dict[str, str], tmp_path: Path, recorder: Recorder
):
    textfile = tmp_path / "node" / "tophits.prom"
    for profile, (_, _, prefix) in ACCOUNTS.items():
        write_profile_config(
            environment,
            profile,
            f'prefix = "{prefix}"\nsources = ["deezer:worldwide"]\n[metrics]\ntextfile = "{textfile}"\n'
            f'[[notify.channels]]\nwebhook = "{recorder.url}/{profile}"\nseverities = ["info"]\n',
        )
        assert runner.invoke(app, ["--profile", profile, "update"]).exit_code == 0

    assert sorted(path.name for path in textfile.parent.iterdir()) == ["tophits-anna.prom", "tophits-ben.prom"]
    anna = (textfile.parent / "tophits-anna.prom").read_text()
    samples = [line for line in anna.splitlines() if not line.startswith("#")]
    assert samples and all('profile="anna"' in line for line in samples)
    assert 'tophits_playlist_tracks{playlist="daily",profile="anna"} 50' in samples
    assert [body["title"] for body in recorder.bodies("/anna")] == ["tophits (anna): playlists updated"]
    assert [body["title"] for body in recorder.bodies("/ben")] == ["tophits (ben): playlists updated"]
