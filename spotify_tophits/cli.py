"""The command line: parse options, build the services, call one action, render its result.

The only Typer module. Every TophitsError becomes one line on stderr and its documented exit
code; anything else is a bug (exit 1), with the traceback only under `-v`.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from spotify_tophits import __version__
from spotify_tophits.errors import ExitCode, TophitsError

if TYPE_CHECKING:
    from spotify_tophits.config import Settings

T = TypeVar("T")
app = typer.Typer(
    name="tophits",
    help="Keep Daily, Weekly, Monthly and Yearly top-hits playlists current on Spotify.",
    no_args_is_help=True,
    add_completion=False,
    # Pretty tracebacks with locals would print tokens and secrets held in local variables.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
state = {"verbose": 0, "quiet": False}


def _version(value: bool) -> None:
    if value:
        from spotify_tophits.store import SCHEMA_VERSION

        typer.echo(f"tophits {__version__} (state schema {SCHEMA_VERSION})")
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail; -vv for debug logs.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Keep Daily, Weekly, Monthly and Yearly top-hits playlists current on Spotify."""
    state["verbose"] = verbose
    state["quiet"] = quiet
    from spotify_tophits.logs import configure_logging

    configure_logging(verbose, quiet)


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"tophits: {message}", err=True)
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
        if state["verbose"]:
            traceback.print_exc()
        fail(
            f"internal error: {type(error).__name__}: {error} (a bug; run with -v for the traceback and report it)",
            ExitCode.INTERNAL,
        )


def _settings() -> Settings:
    from spotify_tophits.config import load_settings

    return load_settings()


@app.command()
def auth(
    status: Annotated[
        bool, typer.Option("--status", help="Show who is authorised and the token's age; no network.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the redirect.")] = 300.0,
) -> None:
    """Authorise tophits with your Spotify account (works on a headless VPS)."""
    from spotify_tophits import render
    from spotify_tophits.actions.auth import auth_status, authorise, capture_redirect
    from spotify_tophits.clock import utc_now

    settings = guarded(_settings)
    if status:
        render.auth_status(guarded(lambda: auth_status(settings, utc_now())))
        return
    credentials = guarded(settings.require_credentials)

    def receive(url: str) -> str:
        return capture_redirect(url, credentials.redirect_uri, render.authorise_prompt, sys.stdin, timeout)

    render.auth_result(guarded(lambda: authorise(settings, receive, utc_now())))


@app.command()
def update(
    playlists: Annotated[
        list[str] | None,
        typer.Argument(help="Only these playlists (daily, weekly, monthly, yearly).", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Make no change on Spotify; show what would change.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Accept a list under half the playlist's current size.")
    ] = False,
) -> None:
    """Fetch today's charts and bring every playlist up to date."""
    from spotify_tophits import render
    from spotify_tophits.actions import Services
    from spotify_tophits.actions.update import UpdateResult, run_update
    from spotify_tophits.notify import job_hooks

    settings = guarded(_settings)

    def job() -> UpdateResult:
        with job_hooks(settings, "update"):
            return run_update(Services(settings), only=playlists or (), dry_run=dry_run, force=force)

    result = guarded(job)
    render.update_result(result, verbose=state["verbose"] > 0, quiet=bool(state["quiet"]))
    if not dry_run:
        from spotify_tophits.notify import Message, send

        send(settings, Message("info", "tophits: playlists updated", render.update_summary_line(result)))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, max=800, help="Simulated days to run.")] = 40,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Keep the demo's config and state here (default: a temporary dir).")
    ] = None,
    last_day: Annotated[
        datetime.datetime | None,
        typer.Option("--last-day", formats=["%Y-%m-%d"], help="Last simulated day (default: today)."),
    ] = None,
) -> None:
    """Run the real update pipeline against the built-in emulator: no account, no network."""
    from spotify_tophits import render
    from spotify_tophits.actions.demo import run_demo

    end = last_day.date() if last_day else datetime.date.today()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        result = guarded(lambda: run_demo(directory, days, end, render.demo_progress))
    else:
        with tempfile.TemporaryDirectory(prefix="tophits-demo-") as temporary:
            result = guarded(lambda: run_demo(Path(temporary), days, end, render.demo_progress))
    render.demo_result(result, kept=directory is not None)


@app.command()
def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (schema: status.schema.json).")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="One line; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
    ] = False,
    live: Annotated[bool, typer.Option("--live", help="Also ask Spotify for track counts and hand edits.")] = False,
) -> None:
    """Show the playlists, recent runs, performance and alerts (local and fast unless --live)."""
    from spotify_tophits import render
    from spotify_tophits.actions.status import add_live, check_line, collect_status
    from spotify_tophits.clock import utc_now

    now = utc_now()
    if check:
        try:
            report = collect_status(_settings(), now)
        except TophitsError as error:
            typer.echo(f"TOPHITS UNKNOWN - {error.message}")
            raise typer.Exit(3) from None
        code, line = check_line(report)
        typer.echo(line)
        raise typer.Exit(code)
    settings = guarded(_settings)
    report = guarded(lambda: collect_status(settings, now))
    if live:
        report = guarded(lambda: add_live(report, settings, now))
    if as_json:
        render.status_json(report)
    else:
        render.status_report(report, now)


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the checks that need the network.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Do the safe fixes: create directories, tighten modes.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Print nothing when all is well; only problems otherwise.")
    ] = False,
    notify: Annotated[
        bool, typer.Option("--notify", help="Send ✗ and ! findings to the notification channels, once a day each.")
    ] = False,
) -> None:
    """Check the installation, one line per check, with the command that fixes each problem."""
    from spotify_tophits import render
    from spotify_tophits.actions.doctor import run_doctor
    from spotify_tophits.clock import utc_now

    now = utc_now()
    report = guarded(lambda: run_doctor(now, offline=offline, fix=fix))
    if notify:
        from spotify_tophits.notify import notify_findings

        settings = guarded(_settings)
        notify_findings(settings, report.checks, now.astimezone(settings.zone).date())
    if as_json:
        render.doctor_json(report)
    else:
        render.doctor_report(report, quiet=quiet)
    raise typer.Exit(report.exit_code(strict))


backup_app = typer.Typer(
    help="Write a verified archive of the state, config and playlists; verify, list and prune archives.",
    no_args_is_help=False,
)
app.add_typer(backup_app, name="backup")


@backup_app.callback(invoke_without_command=True)
def backup(
    context: typer.Context,
    kind: Annotated[str, typer.Option(help="full (state, config, playlists), state or config.")] = "full",
    destination: Annotated[Path | None, typer.Option("--dest", help="Directory for the archive.")] = None,
    include_secrets: Annotated[
        bool, typer.Option("--include-secrets", help="Also archive .env and token.json (keep the archive safe).")
    ] = False,
    offline: Annotated[bool, typer.Option(help="Take playlists from the last snapshots instead of Spotify.")] = False,
    prune: Annotated[bool, typer.Option(help="Apply the retention policy after a successful backup.")] = False,
) -> None:
    """Write one archive (tophits-<kind>-<UTC time>.tar.gz, mode 0600), verified after writing."""
    if context.invoked_subcommand is not None:
        return
    from spotify_tophits import render
    from spotify_tophits.actions import Services
    from spotify_tophits.actions.backup import BackupResult, run_backup
    from spotify_tophits.notify import job_hooks

    settings = guarded(_settings)

    def job() -> BackupResult:
        with job_hooks(settings, "backup"):
            return run_backup(
                Services(settings),
                kind=kind,
                destination=destination,
                include_secrets=include_secrets,
                offline=offline,
                prune=prune,
            )

    render.backup_result(guarded(job))


@backup_app.command("verify")
def backup_verify(archive: Annotated[Path, typer.Argument(help="The archive to check.")]) -> None:
    """Check every checksum, the manifest, and that the state DB inside opens and passes integrity_check."""
    from spotify_tophits import render
    from spotify_tophits.archive import verify_archive

    render.verified(guarded(lambda: verify_archive(archive)))


@backup_app.command("list")
def backup_list(
    destination: Annotated[Path | None, typer.Option("--dest", help="Directory to list.")] = None,
) -> None:
    """List archives with kind, age, size and whether each verifies."""
    from spotify_tophits import render
    from spotify_tophits.actions.backup import list_backups
    from spotify_tophits.clock import utc_now

    settings = guarded(_settings)
    render.backup_list(guarded(lambda: list_backups(settings, destination)), utc_now())


@backup_app.command("prune")
def backup_prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say which archives would be deleted.")] = False,
) -> None:
    """Delete archives the retention policy ([backup] keep_last/daily/weekly/monthly) does not keep."""
    from spotify_tophits import render
    from spotify_tophits.actions.backup import prune_backups
    from spotify_tophits.clock import utc_now

    settings = guarded(_settings)
    render.pruned(guarded(lambda: prune_backups(settings, utc_now(), dry_run=dry_run)), dry_run)


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="The archive to restore from.")],
    only: Annotated[str | None, typer.Option(help="Restore only state, config or playlists.")] = None,
    playlist: Annotated[str | None, typer.Option(help="Push only this playlist (daily, weekly, ...).")] = None,
    playlists: Annotated[bool, typer.Option("--playlists", help="Also push archived playlists to Spotify.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Verify and show what would change; change nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed in non-interactive runs).")] = False,
) -> None:
    """Restore state, config and/or playlists from a verified archive (a safety copy is written first)."""
    from spotify_tophits import render
    from spotify_tophits.actions import Services
    from spotify_tophits.actions.restore import RestorePlan, run_restore
    from spotify_tophits.errors import DataSafetyError

    settings = guarded(_settings)

    def confirm(plan: RestorePlan) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise DataSafetyError("restore changes files; in a non-interactive run pass --yes to confirm")
        render.restore_plan(plan)
        return typer.confirm("Restore now?", default=False)

    result = guarded(
        lambda: run_restore(
            Services(settings),
            archive,
            confirm=confirm,
            only=only,
            playlist=playlist,
            push_playlists=playlists,
            dry_run=dry_run,
        )
    )
    render.restore_result(result)


@app.command()
def notify(
    failed_unit: Annotated[
        str | None, typer.Option("--failed-unit", help="Report that this systemd unit failed (used by OnFailure=).")
    ] = None,
    test: Annotated[bool, typer.Option("--test", help="Send a test message to every channel.")] = False,
) -> None:
    """Send notifications to the channels in config.toml: a failed unit, or a test message."""
    from spotify_tophits import render
    from spotify_tophits.notify import Message, failed_unit_message, send, unit_result

    settings = guarded(_settings)
    if test:
        messages = [
            Message(severity, f"tophits: test ({severity})", f"A test {severity} notification from tophits.")
            for severity in ("critical", "warning", "info")
        ]
    elif failed_unit:
        result, status, tail = unit_result(failed_unit)
        messages = [failed_unit_message(settings, failed_unit, status, result, tail)]
    else:
        fail("give --failed-unit UNIT or --test", ExitCode.USAGE)
    if not settings.notify.channels:
        fail("no notification channels in config.toml ([[notify.channels]])", ExitCode.CONFIG)
    deliveries = [send(settings, message) for message in messages]
    render.deliveries(deliveries)
    # A dead channel never fails a job; only a test with nothing delivered reports failure.
    if test and not any(delivery.sent for delivery in deliveries):
        raise typer.Exit(ExitCode.TEMPORARY)


systemd_app = typer.Typer(help="Install or remove the systemd units that schedule tophits.", no_args_is_help=True)
app.add_typer(systemd_app, name="systemd")


def _flavour(user: bool, system: bool) -> str:
    if user and system:
        fail("choose one of --user and --system", ExitCode.USAGE)
    if user or system:
        return "user" if user else "system"
    return "system" if os.geteuid() == 0 else "user"


@systemd_app.command("install")
def systemd_install(
    user: Annotated[bool, typer.Option("--user", help="Units for systemctl --user (default when not root).")] = False,
    system: Annotated[
        bool, typer.Option("--system", help="Hardened system units with a tophits user (default as root).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the files and commands instead.")] = False,
) -> None:
    """Write the units with this tophits' absolute path, reload systemd and enable the timers."""
    from spotify_tophits import render
    from spotify_tophits.units import apply_install, plan_install

    settings = guarded(_settings)
    plan = guarded(lambda: plan_install(_flavour(user, system), settings.timezone))
    if dry_run:
        render.install_plan(plan)
        return
    render.done(guarded(lambda: apply_install(plan)))


@systemd_app.command("uninstall")
def systemd_uninstall(
    user: Annotated[bool, typer.Option("--user", help="The systemctl --user units.")] = False,
    system: Annotated[bool, typer.Option("--system", help="The system units.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed.")] = False,
) -> None:
    """Stop and disable the timers and remove the unit files (state and config stay)."""
    from spotify_tophits import render
    from spotify_tophits.units import apply_uninstall, plan_uninstall

    plan = plan_uninstall(_flavour(user, system))
    if dry_run:
        render.install_plan(plan)
        return
    render.done(guarded(lambda: apply_uninstall(plan)))


def main() -> None:
    """Console-script entry point."""
    logging.captureWarnings(True)
    app()
