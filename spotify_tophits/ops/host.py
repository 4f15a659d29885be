"""What a system install needs from the host: the settings its units will read, an interpreter they
can reach, and config files the service user can read but not change.

The system units see the host through their sandbox: `ConfigurationDirectory=` is /etc/tophits
(read-only), `ProtectHome=` hides /root and /home, `PrivateTmp=` replaces /tmp. So `systemd install
--system` run as root must not read root's own config, and must not point `ExecStart=` at a Python
that only root's login can see.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from spotify_tophits.errors import UsageError

SYSTEM_CONFIG_DIRECTORY = Path("/etc/tophits")
SYSTEM_STATE_DIRECTORY = Path("/var/lib/tophits")
SERVICE_GROUP = "tophits"
# Hidden from a system unit by ProtectHome=yes (/root, /home, /run/user) or PrivateTmp=yes (/tmp, /var/tmp).
HIDDEN_DIRECTORIES = ("/root", "/home", "/run/user", "/tmp", "/var/tmp")  # noqa: S108 - names, not used
# Files in /etc/tophits the service reads: root owns them, the service's group may read them.
READABLE_BY_SERVICE = (".env", "config.toml")
HIDDEN_FIX = (
    "install tophits where the units can see it: pipx into /opt (PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin"
    " pipx install spotify-tophits) or a venv under /opt (python3 -m venv /opt/tophits && /opt/tophits/bin/pip"
    " install spotify-tophits), then run that tophits; or pass --force"
)


def system_environment(
    environ: Mapping[str, str],
    config_directory: Path = SYSTEM_CONFIG_DIRECTORY,
    state_directory: Path = SYSTEM_STATE_DIRECTORY,
) -> dict[str, str]:
    """Return `environ` as the system units see it: systemd's directories, none of the caller's own paths."""
    own = {"TOPHITS_CONFIG", "TOPHITS_CONFIG_DIR", "TOPHITS_STATE_DIR"}
    kept = {key: value for key, value in environ.items() if key not in own}
    return kept | {"CONFIGURATION_DIRECTORY": str(config_directory), "STATE_DIRECTORY": str(state_directory)}


def _interpreter(executable: Path) -> str | None:
    """Return the interpreter on a script's `#!` line (None for a binary or an unreadable file)."""
    try:
        with executable.open("rb") as stream:
            first = stream.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    if not words:
        return None
    # `#!/usr/bin/env python3` names the interpreter in its second word; env itself is not the point.
    return words[1] if Path(words[0]).name == "env" and len(words) > 1 else words[0]


def launch_paths(command: str) -> list[str]:
    """Return every path starting `command` (an ExecStart= line's start) touches: the program, its
    `#!` interpreter, and where their symbolic links lead."""
    first = command.split()[0]
    found: list[str] = []
    for path in (first, _interpreter(Path(first))):
        if not path or not path.startswith("/"):
            continue
        for candidate in (path, str(Path(path).resolve())):
            if candidate not in found:
                found.append(candidate)
    return found


def hidden_from_system_units(paths: list[str]) -> list[tuple[str, str]]:
    """Return (path, hiding directory) for each path the system units' sandbox cannot see."""
    return [
        (path, hidden)
        for path in paths
        for hidden in HIDDEN_DIRECTORIES
        if path == hidden or path.startswith(hidden + "/")
    ]


def refuse_hidden_executable(command: str) -> None:
    """Raise UsageError when the system units could not start `command` (exit 203/EXEC), with the fix."""
    hidden = hidden_from_system_units(launch_paths(command))
    if hidden:
        path, directory = hidden[0]
        raise UsageError(
            f"{path} is under {directory}, which the system units cannot see (ProtectHome=, PrivateTmp=):"
            f" every run, and the failure alert, would fail with 203/EXEC; {HIDDEN_FIX}"
        )


def ownership_commands(config_directory: Path = SYSTEM_CONFIG_DIRECTORY) -> list[tuple[str, ...]]:
    """Return the commands that make the service's config files root-owned and readable by its group only.

    The service cannot write /etc/tophits (ProtectSystem=strict), so 0640 root:tophits lets it read
    its client id and channels while nobody else can, and tophits itself cannot change them.
    """
    commands: list[tuple[str, ...]] = []
    for name in READABLE_BY_SERVICE:
        path = config_directory / name
        if path.is_file():
            commands += [("chown", f"root:{SERVICE_GROUP}", str(path)), ("chmod", "0640", str(path))]
    return commands
