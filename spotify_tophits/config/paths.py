"""Where tophits keeps its files: one resolution chain per directory (DESIGN §6).

The `TOPHITS_*` variable wins, then the directory systemd hands a unit, then platformdirs'
per-user default. Nothing here creates a directory; callers do, with mode 0700.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "tophits"
SYSTEMD_VARIABLES = {"config": "CONFIGURATION_DIRECTORY", "state": "STATE_DIRECTORY"}


@dataclasses.dataclass(frozen=True)
class Paths:
    """Where tophits keeps its files, and which chain entry each directory came from."""

    config_file: Path
    config_dir: Path
    state_dir: Path
    origins: Mapping[str, str]

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


def _first_path(value: str) -> Path:
    # systemd passes a colon-separated list when a unit names several directories.
    return Path(value.split(":")[0])


def resolve_directory(kind: str, environ: Mapping[str, str]) -> tuple[Path, str]:
    """Given a kind (config or state), return the directory and the chain entry that chose it."""
    import platformdirs

    own = f"TOPHITS_{kind.upper()}_DIR"
    systemd = SYSTEMD_VARIABLES[kind]
    if environ.get(own):
        return Path(environ[own]), own
    if environ.get(systemd):
        return _first_path(environ[systemd]), systemd
    default = {"config": platformdirs.user_config_dir, "state": platformdirs.user_state_dir}[kind](APP_NAME)
    return Path(default), "platformdirs"


def resolve_paths(environ: Mapping[str, str]) -> Paths:
    """Given the environment, return the resolved paths (nothing is created)."""
    config_dir, config_origin = resolve_directory("config", environ)
    state_dir, state_origin = resolve_directory("state", environ)
    if environ.get("TOPHITS_CONFIG"):
        config_file = Path(environ["TOPHITS_CONFIG"])
        config_origin = "TOPHITS_CONFIG"
    else:
        config_file = config_dir / "config.toml"
    return Paths(
        config_file=config_file,
        config_dir=config_file.parent,
        state_dir=state_dir,
        origins={"config": config_origin, "state": state_origin},
    )
