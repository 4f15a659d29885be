"""The systemd units, from one definition for both flavours, and installing them.

Each directive carries the flavours it belongs to and, when it is not obvious, the reason it is
there; rendering writes that reason as a comment above the line. The files shipped in `systemd/`
are rendered from here (a test keeps them identical), and `tophits systemd install` renders them
again with the absolute path of the running `tophits`.

- system flavour: a dedicated `tophits` user, directories under /etc, /var/lib and /var/cache
  made by systemd, the client secret as a systemd credential, and a hardened sandbox;
- user flavour (`systemctl --user`): only the sandboxing an unprivileged manager enforces without
  namespaces (see HARDENING), platformdirs paths, the secret in ~/.config/tophits/.env. Needs
  lingering to run while you are logged out.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from spotify_tophits.errors import ConfigError, UsageError
from spotify_tophits.ops import host
from spotify_tophits.ops.templates import instance_timers, timezone_dropins, with_templates

SYSTEM, USER = "system", "user"
BOTH = (SYSTEM, USER)
TIMERS = instance_timers(None)
DOCUMENTATION = "https://pypi.org/project/spotify-tophits/"


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of a unit file: a section header or a directive, the flavours it is in, and why."""

    text: str
    why: str = ""
    flavours: tuple[str, ...] = BOTH


def section(name: str) -> Line:
    return Line(f"[{name}]")


# The user flavour gets the subset an unprivileged user manager enforces with seccomp and
# no_new_privs alone. Everything that needs a mount, UTS or user namespace (ProtectSystem=,
# ProtectHome=, PrivateTmp=, PrivateDevices=, PrivateUsers=, ProtectKernel*=, ProtectHostname=, ...)
# stays system-only: in a user manager it implies PrivateUsers=, which fails at start (exit 218/226,
# and then the failure alert fails the same way) where unprivileged user namespaces are restricted,
# as on Ubuntu 24.04's AppArmor default.
HARDENING = [
    Line("NoNewPrivileges=yes", "tophits never needs to gain privileges (no setuid helpers)"),
    Line("ProtectSystem=strict", "the whole file system is read-only except the directories below", (SYSTEM,)),
    Line("ProtectHome=yes", "home directories are none of tophits' business", (SYSTEM,)),
    Line("PrivateTmp=yes", "", (SYSTEM,)),
    Line("PrivateDevices=yes", "", (SYSTEM,)),
    Line("PrivateUsers=yes", "", (SYSTEM,)),
    Line("ProtectKernelTunables=yes", "", (SYSTEM,)),
    Line("ProtectKernelModules=yes", "", (SYSTEM,)),
    Line("ProtectKernelLogs=yes", "", (SYSTEM,)),
    Line("ProtectControlGroups=yes", "", (SYSTEM,)),
    Line("ProtectClock=yes", "", (SYSTEM,)),
    Line("ProtectHostname=yes", "", (SYSTEM,)),
    Line("ProtectProc=invisible", "other processes are invisible; the run lock uses flock, not /proc", (SYSTEM,)),
    Line("ProcSubset=pid", "", (SYSTEM,)),
    Line(
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "HTTPS to Spotify and the charts; AF_UNIX for name resolution",
    ),
    Line("RestrictNamespaces=yes"),
    Line("RestrictRealtime=yes"),
    Line("RestrictSUIDSGID=yes"),
    Line("LockPersonality=yes"),
    Line("MemoryDenyWriteExecute=yes", "CPython needs no writable-executable memory"),
    Line("RemoveIPC=yes", "", (SYSTEM,)),
    Line("SystemCallArchitectures=native"),
    Line("SystemCallFilter=@system-service", "the system calls an ordinary service needs, nothing more"),
    Line("SystemCallFilter=~@privileged @resources"),
    Line("CapabilityBoundingSet=", "no capabilities at all", (SYSTEM,)),
    Line("AmbientCapabilities=", "", (SYSTEM,)),
    Line("DevicePolicy=closed", "", (SYSTEM,)),
]


# Every unit and every `systemd-run` line names the same modes: systemd applies a unit's mode to
# an existing directory each time that unit starts, so one unit without them (the notify unit once)
# turns /var/lib/tophits from 0700 into systemd's default 0755 until the next run.
DIRECTORIES = [
    Line(
        "StateDirectory=tophits",
        "/var/lib/tophits, passed as $STATE_DIRECTORY: state.db, token.json, backups/",
        (SYSTEM,),
    ),
    Line("StateDirectoryMode=0700", "", (SYSTEM,)),
    Line(
        "ConfigurationDirectory=tophits",
        "/etc/tophits, read-only: config.toml and .env, 0640 root:tophits (systemd install sets that)",
        (SYSTEM,),
    ),
    Line("ConfigurationDirectoryMode=0755", "", (SYSTEM,)),
]


def _service(description: str, command: str, timeout: str, notify: bool, extra: Sequence[Line] = ()) -> list[Line]:
    lines = [
        section("Unit"),
        Line(f"Description={description}"),
        Line(f"Documentation={DOCUMENTATION}"),
        Line(
            "Wants=network-online.target",
            "the charts and Spotify are on the network: wait for it at boot (a user manager cannot see this"
            " system target, so the user flavour relies on Persistent= catch-up instead)",
            (SYSTEM,),
        ),
        Line("After=network-online.target", "", (SYSTEM,)),
    ]
    if notify:
        lines.append(
            Line(
                "OnFailure=tophits-notify@%n.service",
                "a failed run sends a notification (tophits notify --failed-unit)",
            )
        )
    lines += [
        section("Service"),
        Line("Type=oneshot", "one job, then exit; the timer does the scheduling"),
        Line(f"ExecStart={{tophits}} {command}"),
        *extra,
        Line(
            f"TimeoutStartSec={timeout}",
            "a backstop only: tophits never sleeps on long rate limits, it exits 5 and the timer retries",
        ),
        Line("Nice=10", "a background job: let interactive work go first"),
        Line("IOSchedulingClass=idle"),
        Line("UMask=0077", "token, state and archives are private to the service user"),
        Line("User=tophits", "a dedicated unprivileged user (useradd --system tophits)", (SYSTEM,)),
        Line("Group=tophits", "", (SYSTEM,)),
        *DIRECTORIES,
        Line(
            "LoadCredential=spotify-client-secret:/etc/tophits/spotify-client-secret",
            "the client secret reaches tophits as a credential, never through Environment= (world-readable)",
            (SYSTEM,),
        ),
        Line(
            "# no Restart=: exit 5 (temporary) is the next timer run's to retry, not a restart loop's",
            "",
        ),
        *HARDENING,
    ]
    return lines


def _timer(description: str, calendar: str, delay: str) -> list[Line]:
    return [
        section("Unit"),
        Line(f"Description={description}"),
        Line(f"Documentation={DOCUMENTATION}"),
        section("Timer"),
        Line(f"OnCalendar={calendar}", "daily; rollover is decided by tophits from dates, not by the calendar"),
        Line("Persistent=true", "a machine that was off runs the missed job at boot and catches up"),
        Line(f"RandomizedDelaySec={delay}", "spread the load on Spotify and the chart sources"),
        Line("FixedRandomDelay=yes", "the same offset every day, so runs stay about 24 h apart"),
        section("Install"),
        Line("WantedBy=timers.target"),
    ]


def definitions(timezone: str = "UTC") -> dict[str, list[Line]]:
    """Return every unit's lines. The timers fire in the configured time zone."""
    return with_templates(
        {
            "tophits-update.service": _service("tophits: update the top-hits playlists", "update", "30min", True),
            "tophits-update.timer": _timer("tophits: daily playlist update", f"*-*-* 06:00:00 {timezone}", "15min"),
            "tophits-backup.service": _service(
                "tophits: back up state, config and playlists", "backup --prune", "15min", True
            ),
            "tophits-backup.timer": _timer("tophits: daily backup", f"*-*-* 03:30:00 {timezone}", "30min"),
            "tophits-doctor.service": _service(
                "tophits: daily health check, notifying only when something needs you",
                "doctor --quiet --notify",
                "10min",
                False,
                [
                    Line(
                        "SuccessExitStatus=1",
                        "doctor exits 1 when a check fails, but it has already sent that finding itself:"
                        " no second notification through OnFailure=",
                    )
                ],
            ),
            "tophits-doctor.timer": _timer(
                "tophits: daily health check and backup verification", f"*-*-* 07:30:00 {timezone}", "30min"
            ),
            "tophits-notify@.service": [
                section("Unit"),
                Line("Description=tophits: notify that %i failed"),
                Line(f"Documentation={DOCUMENTATION}"),
                section("Service"),
                Line("Type=oneshot"),
                Line(
                    "ExecStart={tophits} notify --failed-unit %i --manager system",
                    "%i is the unit that failed; tophits asks this manager for its result",
                    (SYSTEM,),
                ),
                Line(
                    "ExecStart={tophits} notify --failed-unit %i --manager user",
                    "%i is the unit that failed; tophits asks this manager for its result",
                    (USER,),
                ),
                Line("TimeoutStartSec=2min"),
                Line("UMask=0077"),
                Line("User=tophits", "", (SYSTEM,)),
                Line("Group=tophits", "", (SYSTEM,)),
                Line(
                    "SupplementaryGroups=systemd-journal",
                    "the alert quotes the failed unit's last log lines (works with PrivateUsers=)",
                    (SYSTEM,),
                ),
                *DIRECTORIES,
                *HARDENING,
            ],
        }
    )


def render(name: str, flavour: str, tophits: str, timezone: str = "UTC") -> str:
    """Return the text of one unit for a flavour, with ExecStart pointing at `tophits`."""
    out = [f"# {name} ({flavour} flavour), generated by `tophits systemd install`; see the README."]
    for line in definitions(timezone)[name]:
        if flavour not in line.flavours:
            continue
        if line.text.startswith("[") and len(out) > 1:
            out.append("")
        if line.why:
            out.append(f"# {line.why}")
        out.append(line.text.replace("{tophits}", tophits))
    return "\n".join(out) + "\n"


def choose_flavour(user: bool, system: bool) -> str:
    """Return the flavour `--user` / `--system` ask for; neither means system units as root, user units otherwise."""
    if user and system:
        raise UsageError("choose one of --user and --system")
    if user or system:
        return USER if user else SYSTEM
    return SYSTEM if os.geteuid() == 0 else USER


def unit_directory(flavour: str) -> Path:
    """Where systemd looks for units of this flavour."""
    if flavour == SYSTEM:
        return Path("/etc/systemd/system")
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def tophits_executable() -> str:
    """Return the absolute path of the running `tophits` (the console script next to this Python)."""
    beside = Path(sys.executable).parent / "tophits"
    if beside.exists():
        return str(beside)
    found = shutil.which("tophits")
    return str(Path(found).resolve()) if found else f"{sys.executable} -m spotify_tophits"


@dataclasses.dataclass(frozen=True)
class InstallPlan:
    """Files to write (path, text) and commands to run, in order."""

    flavour: str
    files: tuple[tuple[Path, str], ...]
    commands: tuple[tuple[str, ...], ...]


def plan_install(
    flavour: str,
    timezone: str,
    tophits: str | None = None,
    directory: Path | None = None,
    force: bool = False,
    config_directory: Path = host.SYSTEM_CONFIG_DIRECTORY,
    profile: str | None = None,
) -> InstallPlan:
    """Return what installing the units of a flavour writes and runs (pure apart from path lookups).

    For the system flavour, raise UsageError when its sandbox would hide `tophits` (unless `force`),
    and make the config files in `config_directory` 0640 root:tophits.
    """
    if flavour not in BOTH:
        raise UsageError("choose --user or --system")
    tophits = tophits or tophits_executable()
    if flavour == SYSTEM and not force:
        host.refuse_hidden_executable(tophits)
    target = directory or unit_directory(flavour)
    # A profile installs the templates (not the default's plain units) and its timers' own time zone.
    names = [name for name in definitions() if "@" in name or not profile]
    files = tuple((target / name, render(name, flavour, tophits, timezone)) for name in names)
    if profile:
        units = definitions(timezone)
        files += tuple(
            timezone_dropins(profile, target, lambda t: [x.text for x in units[t] if "OnCalendar" in x.text])
        )
    systemctl = ("systemctl", *(("--user",) if flavour == USER else ()))
    commands: list[tuple[str, ...]] = []
    if flavour == SYSTEM:
        commands.append(
            (
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                str(host.SYSTEM_STATE_DIRECTORY),
                "--shell",
                "/usr/sbin/nologin",
                host.SERVICE_GROUP,
            )
        )
        commands += host.ownership_commands(config_directory)
        commands += host.ownership_commands(config_directory / "profiles" / profile) if profile else []
    commands += [(*systemctl, "daemon-reload"), (*systemctl, "enable", "--now", *instance_timers(profile))]
    return InstallPlan(flavour, files, tuple(commands))


def plan_uninstall(flavour: str, directory: Path | None = None, profile: str | None = None) -> InstallPlan:
    """Return what uninstalling removes and runs: timers stopped, their catch-up stamps cleaned, files gone."""
    target = directory or unit_directory(flavour)
    systemctl = ("systemctl", *(("--user",) if flavour == USER else ()))
    # A profile's uninstall stops its instances and removes its drop-ins; the shared unit files stay.
    timers = instance_timers(profile)
    names = [f"{timer}.d/timezone.conf" for timer in timers] if profile else definitions()
    files = tuple((target / name, "") for name in names)
    commands = (
        (*systemctl, "disable", "--now", *timers),
        (*systemctl, "clean", "--what=state", *timers),
        (*systemctl, "daemon-reload"),
    )
    return InstallPlan(flavour, files, commands)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def apply_install(plan: InstallPlan) -> list[str]:
    """Write the files and run the commands; return what was done. Raise ConfigError on a failed command."""
    done = []
    for path, text in plan.files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
        done.append(f"wrote {path}")
    for command in plan.commands:
        if command[0] == "useradd" and _user_exists(command[-1]):
            continue
        _run(command)
        done.append(" ".join(command))
    return done


def apply_uninstall(plan: InstallPlan) -> list[str]:
    """Stop and disable the timers, remove the files; return what was done."""
    done = []
    _run(plan.commands[0], check=False)
    _run(plan.commands[1], check=False)
    for path, _ in plan.files:
        if path.exists():
            path.unlink()
            done.append(f"removed {path}")
    _run(plan.commands[2])
    done.append(" ".join(plan.commands[2]))
    return done


def _run(command: tuple[str, ...], check: bool = True) -> None:
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(f"`{' '.join(command)}` could not run ({error}); is systemd available here?") from None
    if check and result.returncode != 0:
        raise ConfigError(f"`{' '.join(command)}` failed: {result.stderr.strip() or result.returncode}")
