"""A throwaway machine with a real systemd as PID 1, for testing tophits' units on this host.

    python tests/systemd_sandbox.py boot DIR [SECONDS]   # prints PID 1's host pid; SECONDS: power off by itself
    python tests/systemd_sandbox.py run DIR CMD [ARG...]  # as root inside, with a clean environment
    python tests/systemd_sandbox.py poweroff DIR          # shut down, remove the cgroup and DIR
    python tests/systemd_sandbox.py why-not               # why this machine cannot boot one (exit 1), or nothing

How it works: `unshare` makes new pid, mount, UTS, IPC and cgroup namespaces inside a cgroup of their
own; the first process there (this file, `namespace-init`) mounts a pure cgroup2 hierarchy, puts
copy-on-write overlays over /etc, /var, /usr, /opt, /srv, /home and /root (their upper layers live in
DIR/layers, so nothing reaches the host), gives the machine its own /dev, /run and /tmp, masks the units
that would touch the host's kernel or hardware, and then becomes systemd. The network is the host's:
a server on 127.0.0.1 outside is reachable inside. Powering off ends PID 1, and with it every process
of the pid namespace and every mount of the mount namespace; the cgroup and DIR are removed after.

Needs root, util-linux's `unshare` and `nsenter`, overlayfs, a cgroup2 hierarchy (pure, or hybrid at
/sys/fs/cgroup/unified), systemd and a D-Bus daemon. Only the standard library: the namespace stage
runs before anything else could be imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

SYSTEMD = Path("/lib/systemd/systemd")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MARKER = "tophits-systemd-sandbox.json"  # the state file; poweroff deletes only a directory holding it
COPY_ON_WRITE = ("etc", "var", "usr", "opt", "srv", "home", "root")
NAMESPACES = ("--pid", "--fork", "--mount", "--uts", "--ipc", "--cgroup")
# Units that would reach the host's kernel, hardware, clock or consoles from inside, or only slow the boot.
MASKED = [
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-hwdb-update.service",
    "systemd-modules-load.service",
    "kmod-static-nodes.service",
    "modprobe@.service",
    "systemd-sysctl.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-kernel-config.mount",
    "sys-fs-fuse-connections.mount",
    "dev-hugepages.mount",
    "systemd-journald-audit.socket",
    "systemd-timesyncd.service",
    "hwclock.service",
    "systemd-networkd.service",
    "systemd-networkd.socket",
    "systemd-networkd-wait-online.service",
    "systemd-resolved.service",
    "networking.service",
    "NetworkManager.service",
    "NetworkManager-wait-online.service",
    "ifupdown-wait-online.service",
    "systemd-pstore.service",
    "systemd-firstboot.service",
    "systemd-remount-fs.service",
    "systemd-random-seed.service",
    "systemd-repart.service",
    "systemd-boot-update.service",
    "ldconfig.service",
    "getty.target",
    "console-getty.service",
    "container-getty@.service",
    "getty@.service",
    "serial-getty@.service",
]
# Character devices of the private /dev: name, major, minor.
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))


class SandboxError(RuntimeError):
    """The sandbox could not boot, or a command inside it failed."""


def _mounts() -> list[tuple[str, str]]:
    """Return (mount point, file system type) of every mount this process sees."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        found.append((before.split()[4], after.split()[0]))
    return found


def cgroup2_root() -> Path | None:
    """Return where the host's cgroup2 hierarchy is mounted (pure or hybrid), or None."""
    mounted = dict(_mounts())
    for candidate in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if mounted.get(candidate) == "cgroup2":
            return Path(candidate)
    return None


def why_not() -> str | None:
    """Return, in one line, why this machine cannot boot a sandbox; None when it can."""
    if os.geteuid() != 0:
        return "needs root (it makes namespaces, mounts and a cgroup)"
    for tool in ("unshare", "nsenter", "mount", "umount"):
        if shutil.which(tool) is None:
            return f"'{tool}' is missing (install util-linux)"
    if not Path("/proc/self/ns/cgroup").exists():
        return "the kernel has no cgroup namespaces"
    if cgroup2_root() is None:
        return "no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified"
    if "overlay" not in Path("/proc/filesystems").read_text().split():
        return "the kernel has no overlayfs"
    if not SYSTEMD.exists():
        return f"{SYSTEMD} is missing (install systemd)"
    if not (shutil.which("dbus-daemon") or shutil.which("dbus-broker")):
        return "no D-Bus daemon (install dbus)"
    trial = subprocess.run(
        ["unshare", *NAMESPACES, "--propagation", "private", "true"], capture_output=True, text=True, check=False
    )
    if trial.returncode != 0:
        return f"unshare cannot make the namespaces: {trial.stderr.strip().splitlines()[-1:]}"
    return None


# -- the namespace stage: PID 1 of the new namespaces, before it becomes systemd ---------------------------------
def _mount(*arguments: str) -> None:
    subprocess.run(["mount", *arguments], check=True)


def _read_only_bind(path: str) -> None:
    _mount("--bind", path, path)
    _mount("-o", "remount,bind,ro", path)


def namespace_init(scratch: Path) -> None:
    """Turn the fresh namespaces into a machine and exec systemd. Runs as their PID 1."""
    # cgroups: a pure cgroup2 tree whose root is the sandbox's own cgroup (the cgroup namespace's view)
    subprocess.run(["umount", "--recursive", "/sys/fs/cgroup"], check=False, capture_output=True)
    _mount("-o", "remount,bind,ro", "/sys")  # a read-only /sys also makes systemd skip udev and friends
    _mount("-t", "cgroup2", "cgroup2", "/sys/fs/cgroup")
    for knob in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"):
        if Path(knob).exists():
            _read_only_bind(knob)

    # files a container runtime bind-mounts into /etc (resolv.conf, hosts) vanish under an overlay: keep them
    layers = scratch / "layers"
    kept = {Path(point).name: Path(point).read_bytes() for point, _ in _mounts() if point.startswith("/etc/")}
    for top in COPY_ON_WRITE:
        directory = Path("/", top)
        if not directory.is_dir() or directory.is_symlink():
            continue
        upper, work = layers / f"{top}-upper", layers / f"{top}-work"
        upper.mkdir(parents=True)
        work.mkdir()
        _mount(
            "-t", "overlay", "overlay", "-o", f"lowerdir={directory},upperdir={upper},workdir={work}", str(directory)
        )
    for name, content in kept.items():
        target = Path("/etc", name)
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
            target.write_bytes(content)

    # a /dev of its own; systemd's console is a file in the scratch directory
    _mount("-t", "tmpfs", "-o", "mode=0755,nosuid,size=16m", "tmpfs", "/dev")
    os.umask(0)
    for name, major, minor in DEVICES:
        os.mknod(f"/dev/{name}", 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    os.mkdir("/dev/pts", 0o755)
    os.mkdir("/dev/shm", 0o1777)
    _mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts", "/dev/pts")
    _mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", "/dev/shm")
    os.symlink("pts/ptmx", "/dev/ptmx")
    for name, target in {"fd": "fd", "stdin": "fd/0", "stdout": "fd/1", "stderr": "fd/2"}.items():
        os.symlink(f"/proc/self/{target}", f"/dev/{name}")
    console = scratch / "console.log"
    console.touch()
    Path("/dev/console").touch()
    _mount("--bind", str(console), "/dev/console")
    os.umask(0o022)

    # runtime directories of its own (this also hides the scratch directory, which lies under /tmp)
    _mount("-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", "/run")
    _mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", "/tmp")

    # a clean machine: nothing the host enabled, no host file systems to mount, no hardware units
    for unit_directory in (Path("/etc/systemd/system"), Path("/etc/systemd/user")):
        for link in unit_directory.glob("*/*"):
            if link.parent.suffix in (".wants", ".requires", ".upholds") and link.is_symlink():
                link.unlink()
    if Path("/etc/fstab").exists():
        Path("/etc/fstab").write_text("")
    runtime_units = Path("/run/systemd/system")
    runtime_units.mkdir(parents=True)
    for unit in MASKED:
        (runtime_units / unit).symlink_to("/dev/null")

    # as a container manager leaves it: shared propagation for systemd's own sandboxing, the rest read-only
    _mount("--make-rshared", "/")
    _mount("-o", "remount,bind,ro", "/")
    stdin = os.open("/dev/null", os.O_RDONLY)
    os.dup2(stdin, 0)
    arguments = ["--system", "--unit=multi-user.target", "--show-status=no", "--log-target=journal-or-kmsg"]
    os.execve(SYSTEMD, [str(SYSTEMD), *arguments], {"container": "other", "PATH": PATH})


# -- the host side -----------------------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Sandbox:
    """One booted machine, described by the state file in its scratch directory."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch.resolve()
        self.state_file = self.scratch / MARKER
        self.unshare: subprocess.Popen[bytes] | None = None

    # state: cgroup, unshare (pid), pid (PID 1 on the host), pidns, watchdog (pid)
    def _state(self) -> dict[str, str | int]:
        try:
            state: dict[str, str | int] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state

    def _save(self, **values: str | int) -> None:
        self.state_file.write_text(json.dumps(self._state() | values))

    def pid(self) -> int | None:
        """Return PID 1's host pid while it is still this sandbox's (same pid namespace), else None."""
        state = self._state()
        pid = int(state.get("pid", 0))
        if not pid or not _alive(pid):
            return None
        try:
            same = os.readlink(f"/proc/{pid}/ns/pid") == state.get("pidns")
        except OSError:
            return None
        return pid if same else None

    def boot(self, timeout: float = 120, lifetime: float | None = None) -> int:
        """Start systemd and wait until it is up; return PID 1's host pid. On failure clean up and raise."""
        reason = why_not()
        if reason:
            raise SandboxError(f"cannot boot here: {reason}")
        self.scratch.mkdir(parents=True, exist_ok=True)
        if any(self.scratch.iterdir()):
            raise SandboxError(f"{self.scratch} is not empty")
        root = cgroup2_root()
        assert root is not None
        cgroup = root / f"tophits-sandbox-{self.scratch.name}"
        cgroup.mkdir()
        self._save(cgroup=str(cgroup))
        try:
            return self._start(cgroup, timeout, lifetime)
        except BaseException:
            with contextlib.suppress(SandboxError):
                self.poweroff()
            raise

    def _start(self, cgroup: Path, timeout: float, lifetime: float | None) -> int:
        # The shell joins the cgroup first, so the cgroup namespace unshare makes is rooted there.
        with (self.scratch / "boot.log").open("wb") as log:
            self.unshare = self._spawn(cgroup, log)
        self._save(unshare=self.unshare.pid)
        deadline = time.monotonic() + timeout
        pid = 0
        while not pid:
            children = Path(f"/proc/{self.unshare.pid}/task/{self.unshare.pid}/children")
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int(children.read_text().split()[0])
            if not pid:
                if self.unshare.poll() is not None or time.monotonic() > deadline:
                    raise SandboxError(f"the namespaces could not be set up:\n{self.logs()}")
                time.sleep(0.05)
        self._save(pid=pid, pidns=os.readlink(f"/proc/{pid}/ns/pid"))
        if lifetime:
            watchdog = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "watchdog", str(self.scratch), str(lifetime)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._save(watchdog=watchdog.pid)
        state = ""
        while state not in ("running", "degraded"):
            if self.pid() is None:
                raise SandboxError(f"systemd is not running:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise SandboxError(f"not up after {timeout:.0f} s (is-system-running: {state}):\n{self.logs()}")
            if state in ("maintenance", "stopping"):
                raise SandboxError(f"systemd entered {state}:\n{self.logs()}")
            time.sleep(0.2)
            state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
        return pid

    def _spawn(self, cgroup: Path, log: BinaryIO) -> subprocess.Popen[bytes]:
        """Start unshare inside `cgroup`, running this file's namespace stage as the new PID 1."""
        return subprocess.Popen(
            [
                "sh",
                "-c",
                'echo $$ > "$0" && exec "$@"',
                str(cgroup / "cgroup.procs"),
                "unshare",
                *NAMESPACES,
                "--propagation",
                "private",
                "--mount-proc",
                sys.executable,
                str(Path(__file__).resolve()),
                "namespace-init",
                str(self.scratch),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def logs(self) -> str:
        """Return the last lines of the namespace set-up and of systemd's console."""
        parts = []
        for name in ("boot.log", "console.log"):
            with contextlib.suppress(OSError):
                lines = (self.scratch / name).read_text(errors="replace").splitlines()[-20:]
                parts.append(f"--- {name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def run(
        self, *command: str, stdin: str | bytes | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as root inside (clean environment); return its result. `check`: raise when it fails."""
        pid = self.pid()
        if pid is None:
            raise SandboxError("the sandbox is not running")
        entered = [
            "nsenter",
            f"--target={pid}",
            "--mount",
            "--pid",
            "--uts",
            "--ipc",
            "--cgroup",
            "--root",
            "--wd",
            "--",
            "/usr/bin/env",
            "-i",
            f"PATH={PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            *command,
        ]
        data = stdin.encode() if isinstance(stdin, str) else stdin
        done = subprocess.run(entered, input=data, capture_output=True, timeout=timeout, check=False)
        result = subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
        )
        if check and result.returncode != 0:
            raise SandboxError(
                f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    def poweroff(self, timeout: float = 60) -> None:
        """Shut down (forced after `timeout`), remove the cgroup and the scratch directory. Safe to repeat."""
        if not self.state_file.exists():
            if self.scratch.exists() and not any(self.scratch.iterdir()):
                self.scratch.rmdir()
            return
        state = self._state()
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGRTMIN + 4)  # systemd: start poweroff.target
            if not _wait_gone(pid, timeout):
                os.kill(pid, signal.SIGKILL)  # the kernel then kills the whole pid namespace
                _wait_gone(pid, 10)
        unshare = int(state.get("unshare", 0))
        if self.unshare is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.unshare.wait(10)
        elif unshare and not _wait_gone(unshare, 10):
            with contextlib.suppress(ProcessLookupError):
                os.kill(unshare, signal.SIGKILL)
        watchdog = int(state.get("watchdog", 0))
        if watchdog and watchdog != os.getpid():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(watchdog, signal.SIGTERM)
        self._remove_cgroup(Path(str(state["cgroup"])) if state.get("cgroup") else None)
        if self.pid() is not None:
            raise SandboxError(f"PID 1 ({pid}) is still running; {self.scratch} stays")
        if any(point.startswith(f"{self.scratch}/") for point, _ in _mounts()):
            raise SandboxError(f"something is mounted under {self.scratch} on the host; it stays")
        shutil.rmtree(self.scratch)

    @staticmethod
    def _remove_cgroup(cgroup: Path | None) -> None:
        if cgroup is None or not cgroup.is_dir():
            return
        deadline = time.monotonic() + 10
        while cgroup.is_dir():
            for procs in cgroup.rglob("cgroup.procs"):
                for line in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(line), signal.SIGKILL)
            for directory, _, _ in sorted(os.walk(cgroup), key=lambda entry: -len(entry[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(directory)
            if cgroup.is_dir():
                if time.monotonic() > deadline:
                    raise SandboxError(f"cannot remove cgroup {cgroup}")
                time.sleep(0.1)


def main(arguments: list[str]) -> int:
    """The command line (see the module's docstring)."""
    match arguments:
        case ["why-not"]:
            reason = why_not()
            if reason:
                print(reason)
            return 1 if reason else 0
        case ["namespace-init", scratch]:
            namespace_init(Path(scratch))
            return 1
        case ["boot", scratch, *lifetime]:
            print(Sandbox(Path(scratch)).boot(lifetime=float(lifetime[0]) if lifetime else None))
            return 0
        case ["run", scratch, *command] if command:
            result = Sandbox(Path(scratch)).run(*command, check=False)
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            return result.returncode
        case ["poweroff", scratch]:
            Sandbox(Path(scratch)).poweroff()
            return 0
        case ["watchdog", scratch, seconds]:
            time.sleep(float(seconds))
            Sandbox(Path(scratch)).poweroff()
            return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SandboxError as error:
        print(f"systemd_sandbox: {error}", file=sys.stderr)
        sys.exit(1)
