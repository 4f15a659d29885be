"""tophits' system units on a real systemd (tests/systemd_sandbox.py), driven against the emulator.

One test, in the order an operator meets things: install from a wheel into /opt, `systemd install
--system`, a run that works, doctor, then three failures (a source down, no token, a broken config),
each of which must reach the webhook with the right words, the journal at the right priority, and
leave /var/lib/tophits 0700. Runs where this machine can boot systemd (root, unshare, cgroup2);
skipped with the reason elsewhere. The one network use beyond loopback is building the dependency
wheels on the host, once per pyproject.toml (the same index .ci/run installs from).
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import WORLDWIDE, follow_authorise_redirect, no_sleep
from systemd_sandbox import Sandbox, why_not

from spotify_tophits.actions.auth import authorise
from spotify_tophits.config import load_settings
from spotify_tophits.sandbox.accounts import CLIENT_ID, CLIENT_SECRET
from spotify_tophits.sandbox.server import Emulator
from spotify_tophits.sandbox.spotify_api import USER_ID
from spotify_tophits.services import Clock

ROOT = Path(__file__).parents[1]
TOPHITS = "/opt/tophits/bin/tophits"
UPDATE = "tophits-update.service"
NOTIFY = f"tophits-notify@{UPDATE}.service"
FAILED = f"tophits: {UPDATE} failed"
# The distribution's Python, as an operator would use: not a pyenv under /root, which the units cannot see.
INTERPRETER = "/usr/bin/python3"
SKIP = why_not() or (None if Path(INTERPRETER).exists() else f"{INTERPRETER} is missing")
# .ci/run sets TOPHITS_REQUIRE_SYSTEMD where the machine can boot systemd: there, never skip.
REQUIRED = bool(os.environ.get("TOPHITS_REQUIRE_SYSTEMD"))
pytestmark = [
    pytest.mark.systemd,
    pytest.mark.skipif(SKIP is not None and not REQUIRED, reason=f"cannot boot systemd here: {SKIP}"),
]


class Webhook:
    """A loopback HTTP server keeping each POSTed JSON body; `next()` waits for the next one."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []  # type: ignore[type-arg]
        self.arrived = threading.Condition()
        webhook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with webhook.arrived:
                    webhook.bodies.append(body)
                    webhook.arrived.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.seen = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def next(self, title: str, timeout: float = 60) -> dict:  # type: ignore[type-arg]
        """Return the next body with this title not returned before, waiting up to `timeout` seconds."""

        def fresh() -> list[int]:
            return [i for i, body in enumerate(self.bodies) if i >= self.seen and body["title"] == title]

        with self.arrived:
            if not self.arrived.wait_for(lambda: fresh(), timeout):
                raise AssertionError(f"no alert {title!r} within {timeout} s; got {self.bodies}")
            self.seen = fresh()[0] + 1
            return self.bodies[self.seen - 1]


def wheelhouse() -> Path:
    """Return a directory with the wheels of tophits (this checkout) and its dependencies, for INTERPRETER.

    The dependencies are resolved by INTERPRETER's own pip (environment markers differ between
    Python releases), fetched once per pyproject.toml and kept beside the running Python; the
    checkout's own wheel is built offline from them every time.
    """
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    cache = Path(sys.prefix) / "systemd-test-wheels" / key
    dependencies, builder = cache / "wheels", cache / "builder"
    pip = [str(builder / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "wheel", "--quiet"]
    if not (cache / "complete").exists() or not (builder / "bin" / "python").exists():
        shutil.rmtree(cache, ignore_errors=True)
        subprocess.run([INTERPRETER, "-m", "venv", str(builder)], check=True)
        subprocess.run([*pip, "--wheel-dir", str(dependencies), str(ROOT), "setuptools>=70"], check=True)
        for own in dependencies.glob("spotify_tophits-*.whl"):
            own.unlink()
        (cache / "complete").touch()
    house = Path(tempfile.mkdtemp(prefix="tophits-wheels-"))
    try:
        for wheel in dependencies.glob("*.whl"):
            shutil.copy(wheel, house)
        build = [*pip, "--no-deps", "--no-index", "--find-links", str(dependencies), "--wheel-dir", str(house)]
        subprocess.run([*build, str(ROOT)], check=True, cwd=tempfile.gettempdir())
    except BaseException:
        shutil.rmtree(house)
        raise
    return house


@dataclasses.dataclass
class Host:
    """The sandbox with tophits installed as a system service, and helpers to look at it."""

    sandbox: Sandbox

    def run(self, *command: str, check: bool = True, stdin: str | None = None) -> str:
        return self.sandbox.run(*command, check=check, stdin=stdin).stdout

    def write(self, path: str, text: str, mode: str = "0644", owner: str = "root") -> None:
        self.run("install", "-D", "-m", mode, "-o", owner, "-g", owner, "/dev/stdin", path, stdin=text)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        text = self.run("systemctl", "show", unit, *(f"--property={name}" for name in properties))
        return dict(line.split("=", 1) for line in text.splitlines())

    def start(self, unit: str) -> int:
        """Start a oneshot and wait for it; return its exit status."""
        self.run("systemctl", "start", unit, check=False)
        return int(self.show(unit, "ExecMainStatus")["ExecMainStatus"])

    def mode(self, path: str) -> str:
        return self.run("stat", "-c", "%a %U:%G", path).strip()


def install(sandbox: Sandbox, emulator_environment: dict[str, str], webhook: Webhook, token: str) -> Host:
    host = Host(sandbox)
    wheels = wheelhouse()
    try:
        archive = subprocess.run(["tar", "-C", str(wheels), "-cf", "-", "."], capture_output=True, check=True).stdout
    finally:
        shutil.rmtree(wheels)
    sandbox.run("sh", "-c", "mkdir -p /opt/tophits-wheels && tar -C /opt/tophits-wheels -xf -", stdin=archive)
    host.run(INTERPRETER, "-m", "venv", "/opt/tophits")
    pip = ["/opt/tophits/bin/pip", "--disable-pip-version-check", "install", "--quiet", "--no-index"]
    host.run(*pip, "--find-links", "/opt/tophits-wheels", "spotify-tophits")

    host.run("install", "-d", "-m", "0755", "/etc/tophits")
    host.write("/etc/tophits/.env", f"SPOTIPY_CLIENT_ID={CLIENT_ID}\n")
    host.write("/etc/tophits/spotify-client-secret", CLIENT_SECRET, "0600")
    host.write(
        "/etc/tophits/config.toml",
        'timezone = "Europe/Berlin"\nsources = ["deezer:worldwide"]\n[deezer]\nrequests_per_5s = 10000\n'
        f'[[notify.channels]]\nwebhook = "{webhook.url}"\nseverities = ["critical", "warning"]\n',
    )
    host.run(TOPHITS, "systemd", "install", "--system")
    # The units talk to the emulator on the host's loopback (the network is shared).
    endpoints = " ".join(f"{k}={v}" for k, v in emulator_environment.items() if k.startswith("TOPHITS_"))
    host.write("/etc/systemd/system/tophits-.service.d/emulator.conf", f"[Service]\nEnvironment={endpoints}\n")
    host.run("systemctl", "daemon-reload")
    # An authorisation made on the host against the same emulator, as `tophits auth` would leave it.
    host.run("install", "-d", "-m", "0700", "-o", "tophits", "-g", "tophits", "/var/lib/tophits")
    host.write("/var/lib/tophits/token.json", token, "0600", "tophits")
    return host


def test_system_units_run_alert_and_log_on_a_real_systemd(settings, emulator, world):
    webhook = Webhook()
    authorise(settings, follow_authorise_redirect, Clock().now(), no_sleep)
    token = settings.paths.token_file.read_text()
    emulator.set_deezer_chart(WORLDWIDE, world.chart(world.start))
    sandbox = Sandbox(Path(tempfile.mkdtemp(prefix="tophits-systemd-")))
    try:
        sandbox.boot(lifetime=900)  # the watchdog powers it off should this process die first
        host = install(sandbox, emulator.environment(), webhook, token)
        check_the_install(host)
        check_a_run_that_works(host)
        check_doctor_finds_nothing_wrong(host, webhook)
        check_a_failure_with_a_run_record(host, emulator, webhook)
        check_a_failure_before_any_run_record(host, webhook)
        check_a_broken_config_still_alerts(host, webhook)
        check_the_readmes_systemd_run_line(host)
        check_two_profiles_run_side_by_side(host, emulator)
        check_user_units_run_hardened(host, emulator.environment())
    finally:
        webhook.server.shutdown()
        sandbox.poweroff()
    assert not sandbox.scratch.exists()


def check_the_install(host: Host) -> None:
    assert host.mode("/etc/tophits/.env") == "640 root:tophits"
    assert host.mode("/etc/tophits/config.toml") == "640 root:tophits"
    timer = host.show("tophits-update.timer", "TimersCalendar", "UnitFileState")
    assert "OnCalendar=*-*-* 06:00:00 Europe/Berlin" in timer["TimersCalendar"], timer
    assert timer["UnitFileState"] == "enabled"
    # The next elapse, in Berlin: 06:00 plus the fixed random delay of up to 15 minutes.
    berlin = host.run(
        "env", "TZ=Europe/Berlin", "systemctl", "show", "tophits-update.timer", "-p", "NextElapseUSecRealtime"
    )
    assert " 06:0" in berlin or " 06:1" in berlin, berlin


def check_a_run_that_works(host: Host) -> None:
    assert host.start(UPDATE) == 0, host.run("journalctl", "-u", UPDATE, "-o", "cat", "--no-pager")
    assert host.show(UPDATE, "Result")["Result"] == "success"
    assert host.mode("/var/lib/tophits") == "700 tophits:tophits"
    assert host.mode("/var/lib/tophits/last-channels.json") == "600 tophits:tophits"


def check_doctor_finds_nothing_wrong(host: Host, webhook: Webhook) -> None:
    assert host.start("tophits-doctor.service") == 0
    said = host.run("journalctl", "-u", "tophits-doctor.service", "-o", "cat", "--no-pager")
    assert "✗" not in said, said
    assert [body for body in webhook.bodies if body["severity"] == "critical"] == []


def check_a_failure_with_a_run_record(host: Host, emulator: Emulator, webhook: Webhook) -> None:
    emulator.revoke_refresh_tokens()
    assert host.start(UPDATE) == 4
    alert = webhook.next(FAILED)
    assert alert["severity"] == "critical"
    assert alert["message"].startswith(f"{UPDATE} failed (exit 4: Spotify authorisation needed).")
    assert "Last error: " in alert["message"] and "invalid_grant" in alert["message"], alert["message"]
    assert host.mode("/var/lib/tophits") == "700 tophits:tophits"


def check_a_failure_before_any_run_record(host: Host, webhook: Webhook) -> None:
    host.run("rm", "/var/lib/tophits/token.json")
    assert host.start(UPDATE) == 4
    alert = webhook.next(FAILED)
    invocation = host.show(UPDATE, "InvocationID")["InvocationID"]
    errors = host.run("journalctl", "-u", UPDATE, "-p", "err", "-o", "cat", "--no-pager").splitlines()
    # tophits' own line of this run, at err: what `journalctl -p err -u tophits-update` shows an operator
    reason = host.run("journalctl", f"_SYSTEMD_INVOCATION_ID={invocation}", "-p", "err", "-o", "cat", "--no-pager")
    reason = reason.strip()
    assert reason in errors
    assert reason.startswith("tophits: ") and "tophits auth" in reason, reason
    assert alert["severity"] == "critical"
    assert alert["message"].startswith(f"{UPDATE} failed (exit 4: Spotify authorisation needed).")
    assert "No run record for this failure" in alert["message"], alert["message"]
    assert "Last error" not in alert["message"] and "invalid_grant" not in alert["message"]
    assert reason in alert["message"]  # the journal's line, read by the notify unit
    assert host.show(NOTIFY, "Result")["Result"] == "success"
    assert host.mode("/var/lib/tophits") == "700 tophits:tophits"


def check_a_broken_config_still_alerts(host: Host, webhook: Webhook) -> None:
    host.run("sh", "-c", "echo 'sources = [' >> /etc/tophits/config.toml")
    assert host.start(UPDATE) == 3
    alert = webhook.next(FAILED)
    assert alert["message"].startswith(f"{UPDATE} failed (exit 3: configuration or credentials missing or invalid).")
    assert "not valid TOML" in alert["message"]
    critical = host.run("journalctl", "-u", NOTIFY, "-p", "crit", "-o", "cat", "--no-pager")
    assert "alerting through the last notification channels that worked" in critical
    assert host.mode("/var/lib/tophits") == "700 tophits:tophits"


def readme_systemd_run(*more: str) -> list[str]:
    """Return the README's `systemd-run ... tophits auth` command, without sudo and its terminal, plus `more`."""
    text = (ROOT / "README.md").read_text()
    start = text.index("sudo systemd-run")
    lines = []
    for line in text[start:].splitlines():
        lines.append(line.split("#")[0].rstrip().removesuffix("\\"))
        if not line.split("#")[0].rstrip().endswith("\\"):
            break
    words = shlex.split(" ".join(lines))
    assert words[:2] == ["sudo", "systemd-run"] and "--pty" in words, words
    return ["systemd-run", "--quiet", *(("--pipe" if word == "--pty" else word) for word in words[2:]), *more]


def check_the_readmes_systemd_run_line(host: Host) -> None:
    host.run("sh", "-c", "sed -i '$d' /etc/tophits/config.toml")  # mend the config broken above
    ran = host.sandbox.run(*readme_systemd_run("--status"), check=False)
    said = ran.stdout + ran.stderr
    assert "Not authorised: no token at /var/lib/tophits/token.json" in said, said
    assert host.mode("/var/lib/tophits") == "700 tophits:tophits"
    exposure = host.run("systemd-analyze", "security", UPDATE).splitlines()[-1]
    assert float(exposure.split(": ")[1].split()[0]) <= 1.5, exposure


def check_two_profiles_run_side_by_side(host: Host, emulator: Emulator) -> None:
    """Two profiles' template instances, started together: each account gets its own playlists and directory."""
    for profile in ("anna", "ben"):
        emulator.sign_in(f"{profile}-user", profile.title())
        settings = load_settings(dict(os.environ) | {"TOPHITS_PROFILE": profile})
        authorise(settings, follow_authorise_redirect, Clock().now(), no_sleep)
        host.write(
            f"/etc/tophits/profiles/{profile}/config.toml",
            f'prefix = "{profile} · "\nsources = ["deezer:worldwide"]\n[deezer]\nrequests_per_5s = 10000\n',
        )
        host.run(
            "install", "-d", "-m", "0700", "-o", "tophits", "-g", "tophits", f"/var/lib/tophits/profiles/{profile}"
        )
        host.write(
            f"/var/lib/tophits/profiles/{profile}/token.json", settings.paths.token_file.read_text(), "0600", "tophits"
        )
        host.run(TOPHITS, "systemd", "install", "--system", "--profile", profile)
    assert host.show("tophits-update@anna.timer", "UnitFileState")["UnitFileState"] == "enabled"
    # One `systemctl start` runs both jobs at the same time and waits for both.
    host.run("systemctl", "start", "tophits-update@anna.service", "tophits-update@ben.service")
    for profile in ("anna", "ben"):
        assert host.show(f"tophits-update@{profile}.service", "Result")["Result"] == "success"
        assert host.mode(f"/var/lib/tophits/profiles/{profile}") == "700 tophits:tophits"
        assert host.mode(f"/var/lib/tophits/profiles/{profile}/state.db") == "600 tophits:tophits"
        names = sorted(playlist.name for playlist in emulator.user_playlists(f"{profile}-user"))
        assert len(names) == 4 and all(name.startswith(f"{profile} · ") for name in names), names
    assert host.mode("/var/lib/tophits") == "700 tophits:tophits"
    emulator.sign_in(USER_ID)  # the browser's account again, for the checks that follow


def check_user_units_run_hardened(host: Host, emulator_environment: dict[str, str]) -> None:
    """The user flavour's hardening lets tophits run under an unprivileged user manager."""
    host.run("useradd", "--create-home", "kai")
    host.run("loginctl", "enable-linger", "kai")
    uid = host.run("id", "-u", "kai").strip()
    as_kai = ["runuser", "-u", "kai", "--", "env", f"XDG_RUNTIME_DIR=/run/user/{uid}"]
    host.run("systemctl", "start", f"user@{uid}.service")
    endpoints = " ".join(f"{k}={v}" for k, v in emulator_environment.items() if k.startswith("TOPHITS_"))
    drop_in = "/home/kai/.config/systemd/user/tophits-.service.d"
    write_drop_in = f"mkdir -p {drop_in} && cat > {drop_in}/emulator.conf"
    host.run(*as_kai, "sh", "-c", write_drop_in, stdin=f"[Service]\nEnvironment={endpoints}\n")
    host.run(*as_kai, TOPHITS, "systemd", "install", "--user")
    exposure = host.run(*as_kai, "systemd-analyze", "--user", "security", "tophits-doctor.service").splitlines()[-1]
    assert float(exposure.split(": ")[1].split()[0]) <= 6.5, exposure
    host.run(*as_kai, "systemctl", "--user", "start", "tophits-doctor.service", check=False)
    shown = host.run(*as_kai, "systemctl", "--user", "show", "tophits-doctor.service", "-p", "ExecMainStatus")
    # 1: doctor ran to the end and found kai's install unconfigured; a sandbox failure would be 2xx.
    assert shown.strip() == "ExecMainStatus=1", shown
    said = host.run("journalctl", f"_UID={uid}", "-o", "cat", "--no-pager")
    assert "✗ credentials: SPOTIPY_CLIENT_ID is not set" in said, said
