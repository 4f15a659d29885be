"""The command line: parse options, build the services, call one action, render its result.

The only Typer module. Every TophitsError becomes one line on stderr and its documented exit code;
anything else is a bug (exit 1, traceback only under `-v`). Actions and Rich load only where used.
"""

# No `from __future__ import annotations`: Typer would eval every annotation string again on each run.

import datetime
import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
import typer.core

from spotify_tophits import __version__, arguments, render
from spotify_tophits.coercion import defer_coercion
from spotify_tophits.errors import ExitCode, TophitsError
from spotify_tophits.logs import escape_controls, journal_priority
from spotify_tophits.services import Clock, Services

if TYPE_CHECKING:
    from spotify_tophits.config import Settings

T = TypeVar("T")


# Typer would import pydantic for every command; only a value that needs converting loads it now.
defer_coercion(typer.core)
# No pretty tracebacks (locals would print tokens and secrets); plain help: Rich's panels cost start-up.
app = typer.Typer(
    cls=arguments.root_group(typer.core.TyperGroup),
    name="tophits",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
backup_app = typer.Typer(help="Write a verified archive of state, config and playlists; verify, list, prune.")
systemd_app = typer.Typer(help="Install or remove the systemd units that schedule tophits.", no_args_is_help=True)
app.add_typer(backup_app, name="backup")
app.add_typer(systemd_app, name="systemd")
state: dict[str, Any] = {"verbose": 0, "quiet": False, "clock": Clock(), "environ": None}
Flag = functools.partial(typer.Option, show_default=False)
DryRun = Annotated[bool, Flag("--dry-run", help="Change nothing; show what would change.")]
Destination = Annotated[Path | None, Flag("--dest", help="The archive directory (default: [backup] directory).")]
UserUnits = Annotated[bool, Flag("--user", help="Units for systemctl --user (default when not root).")]
SystemUnits = Annotated[bool, Flag("--system", help="Hardened system units with a tophits user (as root).")]


def _version(value: bool) -> None:
    if value:
        from spotify_tophits.store import SCHEMA_VERSION

        typer.echo(f"tophits {__version__} (state schema {SCHEMA_VERSION})")
        raise typer.Exit()


@app.callback()
def main_options(
    context: typer.Context,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail; -vv for debug logs.")] = 0,
    quiet: Annotated[bool, Flag("--quiet", "-q", help="Only errors.")] = False,
    version: Annotated[bool, Flag("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
    profile: Annotated[str | None, Flag(metavar="NAME", help="This account's files (or TOPHITS_PROFILE).")] = None,
) -> None:
    """Keep Daily, Weekly, Monthly and Yearly top-hits playlists current on Spotify."""
    from spotify_tophits.config.paths import with_profile
    from spotify_tophits.logs import configure_logging

    # A test passes its clock (and sleep) as Click's `obj`; a real run uses the machine's.
    state.update(verbose=verbose, quiet=quiet, clock=context.obj if isinstance(context.obj, Clock) else Clock())
    state["environ"] = guarded(lambda: with_profile(os.environ, profile))  # settings read the profile from it
    configure_logging(verbose, quiet)


def fail(message: str, code: int) -> NoReturn:
    # Under journald the reason for a failure is an error (`journalctl -p err`), not an info line.
    typer.echo(f"{journal_priority('error')}tophits: {escape_controls(message)}", err=True)
    raise typer.Exit(code)


def guarded(action: Callable[[], T]) -> T:
    """Run an action; turn its TophitsError into a message and exit code, and any other error into exit 1."""
    try:
        return action()
    except TophitsError as error:
        fail(error.message, int(error.exit_code))
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as error:  # noqa: BLE001 - the one boundary for bugs
        from spotify_tophits.store.base import database_error

        if (converted := database_error(error, None)) is not None:  # a full disk or a damaged DB: not a bug
            fail(converted.message, int(converted.exit_code))
        if state["verbose"]:
            traceback.print_exc()
        fail(f"internal error: {type(error).__name__}: {error} (a bug; run with -v for the traceback and report it)", 1)


def check_exit(code: int, line: str) -> NoReturn:  # a monitoring-plugin line and its exit code
    typer.echo(escape_controls(line))
    raise typer.Exit(code)


def services() -> Services:
    """Load the settings and return the services every command works with (exit 3 on bad settings)."""
    return Services.from_clock(guarded(load_settings), state["clock"])


def load_settings() -> "Settings":  # the chosen profile's (exit 3 on bad settings, through `guarded`)
    from spotify_tophits.config import load_settings as load

    return load(state["environ"])


@app.command()
def auth(
    status: Annotated[bool, Flag("--status", help="Show who is authorised and the token's age.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the redirect.")] = 300.0,
) -> None:
    """Authorise tophits with your Spotify account (works on a headless VPS)."""
    from spotify_tophits.actions.auth import auth_status, authorise, capture_redirect, check_timeout

    tools = services()
    if status:
        report = guarded(lambda: auth_status(tools.settings, tools.clock()))
        render.auth_status(report)
        raise typer.Exit(ExitCode.AUTH if report.needs_auth else ExitCode.OK)
    redirect = tools.settings.credentials.redirect_uri
    receive = functools.partial(
        capture_redirect,
        redirect_uri=redirect,
        announce=render.authorise_prompt,
        stdin=sys.stdin,
        timeout=guarded(lambda: check_timeout(timeout)),
    )
    render.auth_result(guarded(lambda: authorise(tools.settings, receive, tools.clock(), tools.sleep)))


@app.command()
def update(
    playlists: Annotated[list[str] | None, typer.Argument(help="Only these: daily, weekly, monthly, yearly.")] = None,
    dry_run: DryRun = False,
    force: Annotated[bool, Flag("--force", help="Accept a list under half the playlist's size.")] = False,
) -> None:
    """Fetch today's charts and bring every playlist up to date."""
    from spotify_tophits.actions.update import run_update
    from spotify_tophits.ops.notify import run_job, send, update_summary

    tools = services()
    job = functools.partial(run_update, tools, only=playlists or (), dry_run=dry_run, force=force)
    result = guarded(lambda: run_job(tools.settings, "update", job))
    render.update_result(result, verbose=state["verbose"] > 0, quiet=bool(state["quiet"]))
    if not dry_run:
        send(tools.settings, update_summary(result), tools.clock())
    raise typer.Exit(result.exit_code)


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, max=800, help="Simulated days to run.")] = 40,
    directory: Annotated[Path | None, Flag("--dir", help="Keep the demo's config and state here.")] = None,
    last_day: Annotated[datetime.datetime | None, Flag(formats=["%Y-%m-%d"], help="Default: today (UTC).")] = None,
) -> None:
    """Run the real update pipeline against the built-in emulator: no account, no network."""
    from spotify_tophits.actions.demo import run_demo

    end = last_day.date() if last_day else state["clock"].now().date()
    result = guarded(lambda: run_demo(directory, days, end, render.demo_progress, clock=state["clock"]))
    render.demo_result(result, kept=bool(directory))


@app.command()
def status(
    as_json: Annotated[bool, Flag("--json", help="One JSON object (schema: status.schema.json).")] = False,
    check: Annotated[bool, Flag("--check", help="One line; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")] = False,
    live: Annotated[bool, Flag("--live", help="Also ask Spotify for track counts and hand edits.")] = False,
    all_profiles: Annotated[bool, Flag("--all-profiles", help="Every profile; --check gives the worst.")] = False,
) -> None:
    """Show the playlists, recent runs, performance and alerts (local and fast unless --live)."""
    from spotify_tophits.actions import profiles as household
    from spotify_tophits.actions.status import add_live, collect_status, status_check

    if all_profiles:
        statuses, now = household.all_profiles(state["environ"], state["clock"].now()), state["clock"].now()
        check_exit(*household.all_profiles_check(statuses)) if check else render.all_status(statuses, now, as_json)
        return
    if check:
        check_exit(*status_check(load_settings, state["clock"].now))
    tools = services()
    now = tools.clock()
    report = guarded(lambda: collect_status(tools.settings, now))
    if live:
        report = guarded(lambda: add_live(report, tools, now))
    render.status_json(report) if as_json else render.status_report(report, now)


@app.command()
def show(
    playlist: Annotated[str, typer.Argument(help="daily, weekly, monthly or yearly.")] = "daily",
    period: Annotated[str | None, Flag("--period", help="An earlier monthly (2026-11) or yearly (2026) one.")] = None,
    explain: Annotated[int | None, Flag("--explain", metavar="N", help="Why entry N sits where it does.")] = None,
    as_json: Annotated[bool, Flag("--json", help="One JSON object (schema: show.schema.json).")] = False,
    as_csv: Annotated[bool, Flag("--csv", help="A header row and one row per entry (RFC 4180).")] = False,
) -> None:
    """Show a playlist as a chart: movement, points, chart days, peak, sources and match (local, fast)."""
    from spotify_tophits.actions.show import show_playlist

    tools = services()
    view = guarded(lambda: show_playlist(tools.settings, playlist, period, tools.clock(), explain, as_json, as_csv))
    render.show_view(view)


@app.command()
def profiles(as_json: Annotated[bool, Flag("--json", help="Print the list as JSON.")] = False) -> None:
    """List the profiles (accounts) on this host: account, playlists, last run, health."""
    from spotify_tophits.actions.profiles import all_profiles

    render.profiles_list(all_profiles(state["environ"], state["clock"].now()), state["clock"].now(), as_json)


@app.command()
def doctor(
    as_json: Annotated[bool, Flag("--json", help="Print the checks as JSON.")] = False,
    offline: Annotated[bool, Flag("--offline", help="Skip the checks that need the network.")] = False,
    strict: Annotated[bool, Flag("--strict", help="Warnings fail too (exit 1).")] = False,
    fix: Annotated[bool, Flag("--fix", help="Do the safe fixes: create directories, tighten modes.")] = False,
    quiet: Annotated[bool, Flag("--quiet", help="Print only problems; nothing when all is well.")] = False,
    notify: Annotated[bool, Flag("--notify", help="Send ✗ and ! findings to the channels, once a day.")] = False,
) -> None:
    """Check the installation, one line per check, with the command that fixes each problem."""
    from spotify_tophits.actions.doctor import run_doctor

    now, sleep = state["clock"].now(), state["clock"].sleep
    job = functools.partial(run_doctor, now, sleep=sleep, environ=state["environ"])
    report = guarded(lambda: job(offline=offline, fix=fix, notify=notify))
    render.doctor_json(report) if as_json else render.doctor_report(report, quiet=quiet)
    raise typer.Exit(report.exit_code(strict))


@backup_app.callback(invoke_without_command=True)
def backup(
    context: typer.Context,
    kind: Annotated[str, typer.Option(help="full (state, config, playlists), state or config.")] = "full",
    destination: Destination = None,
    include_secrets: Annotated[bool, Flag("--include-secrets", help="Also .env and token.json.")] = False,
    offline: Annotated[bool, typer.Option(help="Take playlists from the last snapshots, not Spotify.")] = False,
    prune: Annotated[bool, typer.Option(help="Apply the retention policy after a successful backup.")] = False,
) -> None:
    """Write one archive (tophits-<kind>-<UTC time>.tar.gz, mode 0600), verified after writing."""
    if context.invoked_subcommand is not None:
        return
    from spotify_tophits.actions.backup import run_backup
    from spotify_tophits.ops.notify import run_job

    tools = services()
    job = functools.partial(run_backup, tools, kind=kind, destination=destination, offline=offline, prune=prune)
    render.backup_result(
        guarded(lambda: run_job(tools.settings, "backup", lambda: job(include_secrets=include_secrets)))
    )


@backup_app.command("verify")
def backup_verify(archive: Annotated[Path, typer.Argument(help="The archive to check.")]) -> None:
    """Check every checksum, the manifest, and that the state DB inside opens and passes integrity_check."""
    from spotify_tophits.archive import verify_archive

    limit = services().settings.backup.max_state_db_bytes
    render.verified(guarded(lambda: verify_archive(archive, max_state_bytes=limit)))


@backup_app.command("list")
def backup_list(destination: Destination = None) -> None:
    """List archives with kind, age, size and whether each verifies."""
    from spotify_tophits.actions.backup import list_backups

    tools = services()
    render.backup_list(guarded(lambda: list_backups(tools.settings, destination)), tools.clock())


@backup_app.command("prune")
def backup_prune(dry_run: DryRun = False) -> None:
    """Delete archives the retention policy ([backup] keep_last/daily/weekly/monthly) does not keep."""
    from spotify_tophits.actions.backup import prune_backups

    tools = services()
    render.pruned(guarded(lambda: prune_backups(tools.settings, tools.clock(), dry_run=dry_run)), dry_run)


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="The archive to restore from.")],
    only: Annotated[str | None, typer.Option(help="Restore only state, config or playlists.")] = None,
    playlist: Annotated[str | None, typer.Option(help="Push only this playlist (daily, weekly, ...).")] = None,
    playlists: Annotated[bool, Flag("--playlists", help="Also push archived playlists to Spotify.")] = False,
    dry_run: DryRun = False,
    yes: Annotated[bool, Flag("--yes", "-y", help="Do not ask (needed in non-interactive runs).")] = False,
    into: Annotated[str | None, Flag("--into-profile", help="Restore another profile's archive into this one.")] = None,
) -> None:
    """Restore state, config and/or playlists from a verified archive (a safety copy is written first)."""
    from spotify_tophits.actions.restore import RestorePlan, confirmation, run_restore

    def ask(plan: RestorePlan) -> bool:
        render.restore_plan(plan)
        return typer.confirm("Restore now?", default=False)

    tools = services()
    confirm = confirmation(yes, sys.stdin.isatty(), ask)
    job = functools.partial(
        run_restore, tools, archive, only=only, playlist=playlist, dry_run=dry_run, into_profile=into
    )
    render.restore_result(guarded(lambda: job(confirm=confirm, push_playlists=playlists)))


@app.command()
def notify(
    failed_unit: Annotated[str | None, Flag("--failed-unit", help="Report that this systemd unit failed.")] = None,
    test: Annotated[bool, Flag("--test", help="Send a test message to every channel.")] = False,
    manager: Annotated[
        str | None, Flag("--manager", help="The failed unit's systemd manager: system or user (default: ask both).")
    ] = None,
) -> None:
    """Send notifications to the channels in config.toml: a failed unit, or a test message."""
    from spotify_tophits.config.paths import with_unit_profile
    from spotify_tophits.errors import ConfigError
    from spotify_tophits.ops.fallback import fallback_settings, remember
    from spotify_tophits.ops.notify import notifications, send

    state["environ"] = with_unit_profile(state["environ"], failed_unit)  # tophits-update@anna: anna's channels

    def settings() -> "Settings":
        try:
            loaded = load_settings()
        except ConfigError as broken:
            # The alert for a unit that failed on a broken config.toml must not fail on it too.
            if failed_unit is None:
                raise
            return fallback_settings(state["environ"], broken)
        remember(loaded)
        return loaded

    tools = Services.from_clock(guarded(settings), state["clock"])
    messages = guarded(lambda: notifications(tools.settings, failed_unit, test, manager))
    deliveries = [send(tools.settings, message, tools.clock()) for message in messages]
    render.deliveries(deliveries)
    # A dead channel never fails a job; only a test with nothing delivered reports failure.
    if test and not any(delivery.sent for delivery in deliveries):
        raise typer.Exit(ExitCode.TEMPORARY)


@systemd_app.command("install")
def systemd_install(
    user: UserUnits = False,
    system: SystemUnits = False,
    dry_run: DryRun = False,
    force: Annotated[bool, Flag("--force", help="Install even if the system units cannot see this tophits.")] = False,
) -> None:
    """Write the units with this tophits' absolute path, reload systemd and enable the timers."""
    from spotify_tophits.config import load_settings as load
    from spotify_tophits.ops import host
    from spotify_tophits.ops.units import SYSTEM, apply_install, choose_flavour, plan_install

    flavour = guarded(lambda: choose_flavour(user, system))
    environ = state["environ"]
    if flavour == SYSTEM:
        # System units read /etc/tophits (CONFIGURATION_DIRECTORY), never the config of whoever installs them.
        environ = host.system_environment(environ, host.SYSTEM_CONFIG_DIRECTORY)
    settings = guarded(lambda: load(environ))
    install = functools.partial(plan_install, config_directory=host.SYSTEM_CONFIG_DIRECTORY, force=force)
    plan = guarded(lambda: install(flavour, settings.timezone, profile=settings.paths.profile))
    render.install_plan(plan) if dry_run else render.done(guarded(lambda: apply_install(plan)))


@systemd_app.command("uninstall")
def systemd_uninstall(user: UserUnits = False, system: SystemUnits = False, dry_run: DryRun = False) -> None:
    """Stop and disable the timers and remove the unit files (state and config stay)."""
    from spotify_tophits.ops.units import apply_uninstall, choose_flavour, plan_uninstall

    flavour = guarded(lambda: choose_flavour(user, system))
    plan = guarded(lambda: plan_uninstall(flavour, profile=state["environ"].get("TOPHITS_PROFILE")))
    render.install_plan(plan) if dry_run else render.done(guarded(lambda: apply_uninstall(plan)))


def main() -> None:
    """Console-script entry point. Click exits 1 when a reader closes the pipe early (`| head`): not a bug, so 0."""
    logging.captureWarnings(True)
    try:
        app()
    except SystemExit as ending:
        closed_pipe = ending.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper"
        raise SystemExit(0 if closed_pipe else ending.code) from None
