"""Where tophits keeps its files: one resolution chain per directory (DESIGN §6), and profiles.

The `TOPHITS_*` variable wins, then the directory systemd hands a unit, then platformdirs'
per-user default. A profile (`--profile NAME` or `TOPHITS_PROFILE`) keeps one account's files in
`<directory>/profiles/NAME/` under whichever entry won; no profile means the directories
themselves, exactly as before profiles existed. Nothing here creates a directory; callers do,
with mode 0700.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

from spotify_tophits.errors import ConfigError, UsageError

APP_NAME = "tophits"
SYSTEMD_VARIABLES = {"config": "CONFIGURATION_DIRECTORY", "state": "STATE_DIRECTORY"}
PROFILE_VARIABLE = "TOPHITS_PROFILE"
PROFILES = "profiles"
PROFILE_PATTERN = re.compile(r"[a-z0-9-]{1,32}")


@dataclasses.dataclass(frozen=True)
class Paths:
    """Where tophits keeps its files, and which chain entry each directory came from."""

    config_file: Path
    config_dir: Path
    state_dir: Path
    origins: Mapping[str, str]
    profile: str | None = None
    # The `.env` every profile shares (one Spotify app for the household); None without a profile.
    shared_env_file: Path | None = None

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def token_file(self) -> Path:
        return self.state_dir / "token.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "update.lock"

    @property
    def env_file(self) -> Path:
        return self.config_file.parent / ".env"


def profile_problem(name: str) -> str | None:
    """Return why `name` cannot be a profile name, or None when it can."""
    if name == "default":
        return "is reserved for the installation without a profile; leave the profile out for it"
    if PROFILE_PATTERN.fullmatch(name):
        return None
    return "is not a profile name; use 1 to 32 lower-case letters, digits and hyphens, e.g. 'anna'"


def profile_of(environ: Mapping[str, str]) -> str | None:
    """Return the profile `TOPHITS_PROFILE` selects (None when unset), or raise ConfigError for a bad name."""
    name = environ.get(PROFILE_VARIABLE) or None
    if name is not None:
        problem = profile_problem(name)
        if problem:
            raise ConfigError(f"{PROFILE_VARIABLE} = {name!r} {problem}")
    return name


def with_profile(environ: Mapping[str, str], profile: str | None) -> dict[str, str]:
    """Return the environment with `--profile NAME` as TOPHITS_PROFILE (the option wins); UsageError for a bad name."""
    problem = profile_problem(profile) if profile is not None else None
    if problem:
        raise UsageError(f"--profile {profile!r} {problem}")
    return dict(environ) | ({PROFILE_VARIABLE: profile} if profile else {})


def with_unit_profile(environ: Mapping[str, str], unit: str | None) -> dict[str, str]:
    """Return the environment for reporting a failed unit: a template instance (`tophits-update@anna.service`)
    is the profile anna's, unless a profile was chosen already."""
    match = re.fullmatch(r"tophits-[a-z]+@([a-z0-9-]{1,32})\.service", unit or "")
    if match is None or environ.get(PROFILE_VARIABLE) or profile_problem(match.group(1)):
        return dict(environ)
    return dict(environ) | {PROFILE_VARIABLE: match.group(1)}


def _first_path(value: str) -> Path:
    # systemd passes a colon-separated list when a unit names several directories.
    return Path(value.split(":")[0])


def within_profile(directory: Path, profile: str | None) -> Path:
    """Return the profile's directory under `directory`, or `directory` itself when it already is one.

    A template unit (`StateDirectory=tophits/profiles/%i`) hands over the profile's own directory;
    appending the profile again would hide the files under `profiles/NAME/profiles/NAME`.
    """
    if profile is None or directory.parts[-2:] == (PROFILES, profile):
        return directory
    return directory / PROFILES / profile


def resolve_directory(kind: str, environ: Mapping[str, str], profile: str | None = None) -> tuple[Path, str]:
    """Given a kind (config or state), return the (profile's) directory and the chain entry that chose it."""
    import platformdirs

    own = f"TOPHITS_{kind.upper()}_DIR"
    systemd = SYSTEMD_VARIABLES[kind]
    if environ.get(own):
        return within_profile(Path(environ[own]), profile), own
    if environ.get(systemd):
        return within_profile(_first_path(environ[systemd]), profile), systemd
    default = {"config": platformdirs.user_config_dir, "state": platformdirs.user_state_dir}[kind](APP_NAME)
    return within_profile(Path(default), profile), "platformdirs"


def resolve_paths(environ: Mapping[str, str]) -> Paths:
    """Given the environment (and its `TOPHITS_PROFILE`), return the resolved paths (nothing is created)."""
    profile = profile_of(environ)
    config_dir, config_origin = resolve_directory("config", environ, profile)
    state_dir, state_origin = resolve_directory("state", environ, profile)
    shared_env = config_dir.parent.parent / ".env" if profile else None
    if environ.get("TOPHITS_CONFIG"):
        # A config file named directly is used as it is, profile or not; its .env is beside it.
        config_file = Path(environ["TOPHITS_CONFIG"])
        config_origin = "TOPHITS_CONFIG"
        shared_env = None
    else:
        config_file = config_dir / "config.toml"
    return Paths(
        config_file=config_file,
        config_dir=config_file.parent,
        state_dir=state_dir,
        origins={"config": config_origin, "state": state_origin},
        profile=profile,
        shared_env_file=shared_env,
    )


def profile_roots(environ: Mapping[str, str]) -> dict[str, Path]:
    """Return the config and state directories that hold `profiles/` (the default installation's)."""
    roots = {}
    for kind in ("config", "state"):
        directory, _ = resolve_directory(kind, environ)
        # Inside a template unit the chain already names one profile's directory: its root is two up.
        roots[kind] = directory.parent.parent if directory.parent.name == PROFILES else directory
    return roots


def find_profiles(environ: Mapping[str, str]) -> list[str]:
    """Return the names of the profiles that have a config or state directory, sorted."""
    names: set[str] = set()
    for root in profile_roots(environ).values():
        folder = root / PROFILES
        if folder.is_dir():
            names.update(
                entry.name for entry in folder.iterdir() if entry.is_dir() and profile_problem(entry.name) is None
            )
    return sorted(names)
