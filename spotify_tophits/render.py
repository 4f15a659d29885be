"""Turn action results into what a person reads: Rich tables on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import datetime

    from rich.console import Console

    from spotify_tophits.actions.auth import AuthResult, AuthStatus
    from spotify_tophits.actions.backup import BackupResult, ListedArchive
    from spotify_tophits.actions.demo import DemoResult
    from spotify_tophits.actions.doctor import DoctorReport
    from spotify_tophits.actions.restore import RestorePlan, RestoreResult
    from spotify_tophits.actions.status import StatusReport
    from spotify_tophits.actions.update import UpdateResult
    from spotify_tophits.archive import ArchiveFile, Verified
    from spotify_tophits.notify import Delivery
    from spotify_tophits.units import InstallPlan


def console() -> Console | None:
    """Return a Rich console when stdout is a terminal, else None (plain output)."""
    from rich.console import Console

    terminal = Console()
    return terminal if terminal.is_terminal else None


def echo(line: str = "") -> None:
    typer.echo(line)


# -- auth ------------------------------------------------------------------------------------------
def authorise_prompt(url: str, listening: bool) -> None:
    echo("Open this URL in a browser (on any machine) and approve tophits:")
    echo(f"\n  {url}\n")
    if listening:
        echo("Waiting for the browser to come back here. If it ends on a page that does not load")
        echo("(the browser runs on another machine), paste that page's full address below.")
    else:
        echo("Then paste the full address of the page the browser ends on (it may not load) below.")


def auth_result(result: AuthResult) -> None:
    who = result.display_name or result.user_id
    echo(f"Authorised as {who} ({result.user_id}).")
    renew_by = f"{result.expires_at:%Y-%m-%d}"
    echo(f"Spotify refresh tokens die 6 months after authorisation: run `tophits auth` again before {renew_by}.")


def auth_status(status: AuthStatus) -> None:
    if not status.present:
        echo(f"Not authorised: no token at {status.token_file}. Run `tophits auth`.")
        raise typer.Exit(4)
    who = status.display_name or status.user_id or "unknown user"
    echo(f"Authorised as {who} ({status.user_id})")
    echo(f"  token file: {status.token_file}")
    if status.authorized_at:
        from spotify_tophits.clock import describe_duration, utc_now

        age = describe_duration((utc_now() - status.authorized_at).total_seconds())
        echo(f"  authorised: {status.authorized_at:%Y-%m-%d %H:%M} UTC ({age} ago)")
    if status.expires_at is not None and status.days_left is not None:
        echo(f"  refresh token expires: {status.expires_at:%Y-%m-%d} ({status.days_left} days left)")
    echo(f"  scopes: {' '.join(status.scopes) or '-'}")
    if status.missing_scopes:
        echo(f"  missing scopes: {' '.join(status.missing_scopes)}; run `tophits auth`")
        raise typer.Exit(4)
    if status.days_left is not None and status.days_left < 0:
        echo("  the refresh token has expired; run `tophits auth`")
        raise typer.Exit(4)


# -- update ------------------------------------------------------------------------------------------
def update_summary_line(result: UpdateResult) -> str:
    """One line per playlist for an info notification."""
    lines = [f"{o.name}: {o.tracks}/{o.size} tracks, +{o.added} -{o.removed}, {o.status}" for o in result.playlists]
    rate = "-" if result.match_rate is None else f"{result.match_rate:.0%}"
    lines.append(
        f"match rate {rate}, {len(result.unmatched)} unmatched, {result.requests.get('total', 0)} Spotify requests"
    )
    return "\n".join(lines + [f"warning: {w}" for w in result.warnings])


def update_result(result: UpdateResult, verbose: bool, quiet: bool) -> None:
    if quiet and not result.exit_code:
        return
    prefix = "[dry run] " if result.dry_run else ""
    for report in result.sources:
        if report.status == "fetched":
            rate = f" ({report.matched / report.rows:.0%})" if report.rows else ""
            echo(f"{prefix}source {report.name}: {report.rows} rows, {report.matched} matched{rate}")
        elif report.status == "cached":
            echo(f"{prefix}source {report.name}: today's chart already stored")
        else:
            echo(f"{prefix}source {report.name}: FAILED: {report.message}")
    terminal = console()
    if terminal is not None and result.playlists:
        from rich.table import Table

        table = Table(title=f"{prefix}Playlists on {result.today}")
        for column in ("playlist", "tracks", "added", "removed", "unchanged", "status", "window"):
            table.add_column(column)
        for outcome in result.playlists:
            table.add_row(
                outcome.name,
                f"{outcome.tracks}/{outcome.size}",
                f"+{outcome.added}",
                f"-{outcome.removed}",
                str(outcome.tracks - outcome.added),
                outcome.status + (f" ({outcome.writes} writes)" if outcome.writes else ""),
                outcome.window,
            )
        terminal.print(table)
    else:
        for outcome in result.playlists:
            echo(
                f"{prefix}{outcome.name}: {outcome.tracks}/{outcome.size} tracks, +{outcome.added} -{outcome.removed}"
                f" ({outcome.tracks - outcome.added} unchanged), {outcome.status}"
                + (f", {outcome.writes} writes" if outcome.writes else "")
            )
    for outcome in result.playlists:
        if outcome.message and outcome.status != "empty":
            echo(f"  {outcome.name}: {outcome.message}")
    rate = "-" if result.match_rate is None else f"{result.match_rate:.0%}"
    echo(
        f"{prefix}{result.rows_new} new chart rows, match rate {rate}, {len(result.unmatched)} unmatched,"
        f" {result.requests.get('total', 0)} Spotify requests"
    )
    for warning in result.warnings:
        echo(f"warning: {warning}")
    if verbose and result.unmatched:
        echo("unmatched rows (not on Spotify, or no candidate agreed on title and artist):")
        for source, artists, title in result.unmatched:
            echo(f"  {source}: {artists} – {title}")
    if verbose and result.low_confidence:
        echo("matches to check (text search, lower confidence):")
        for source, artists, title, confidence in result.low_confidence:
            echo(f"  {source}: {artists} – {title} ({confidence:.2f})")
    if verbose and result.overrides:
        echo("overrides applied (overrides.toml):")
        for line in result.overrides:
            echo(f"  {line}")


# -- demo ------------------------------------------------------------------------------------------------
def demo_progress(result: UpdateResult) -> None:
    changed = [o for o in result.playlists if o.writes]
    names = ", ".join(f"{o.name} ({o.status})" for o in changed) or "no changes"
    echo(f"{result.today}: {result.rows_new} new rows, {result.requests.get('total', 0)} requests; {names}")


def demo_result(result: DemoResult, kept: bool) -> None:
    echo()
    echo(f"Simulated {len(result.updates)} days, {result.first_day} to {result.last_day}:")
    echo(f"{result.requests} requests to the emulator, {result.writes} of them writes.")
    for name, (charts, rows, matched) in result.source_totals().items():
        echo(f"  {name}: {charts} charts, {rows} rows, {matched / rows:.0%} matched to Spotify")
    for playlist in result.playlists:
        echo()
        label = " (final)" if playlist.status == "final" else ""
        echo(f"{playlist.name}{label}: {len(playlist.tracks)} tracks")
        for position, track in enumerate(playlist.tracks[:5], start=1):
            echo(f"  {position:>2}. {track}")
    echo()
    echo("Run history (last 5):")
    for update in result.updates[-5:]:
        writes = sum(o.writes for o in update.playlists)
        rate = "-" if update.match_rate is None else f"{update.match_rate:.0%}"
        echo(f"  {update.today}: ok, {update.requests.get('total', 0)} requests, {writes} writes, match rate {rate}")
    if kept:
        echo(f"\nState kept in {result.directory}; try: TOPHITS_STATE_DIR={result.directory}/state tophits status")


# -- backup and restore ------------------------------------------------------------------------------------
def size_in_words(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


def backup_result(result: BackupResult) -> None:
    echo(f"wrote {result.path} ({result.kind}, {size_in_words(result.size)}, {len(result.files)} files, verified)")
    if result.playlists_from == "snapshots":
        echo("playlists were taken from the last recorded snapshots (offline)")
    if result.secrets:
        echo("warning: this archive holds your Spotify client secret and tokens; keep it private")
    for path in result.pruned:
        echo(f"pruned {path}")


def verified(result: Verified) -> None:
    manifest = result.manifest
    echo(f"{result.path}: OK ({manifest.kind}, created {manifest.created_at}, tophits {manifest.tophits_version})")
    for entry in manifest.files:
        echo(f"  {entry['name']}: {size_in_words(int(entry['size']))}, sha256 ok")
    if manifest.row_counts:
        echo("  state.db: integrity ok; " + ", ".join(f"{n} {t}" for t, n in sorted(manifest.row_counts.items())))


def backup_list(listed: list[ListedArchive], now: datetime.datetime) -> None:
    from spotify_tophits.clock import describe_duration

    if not listed:
        echo("no archives yet; run `tophits backup`")
        return
    for item in listed:
        age = describe_duration((now - item.archive.created_at).total_seconds())
        status = "ok" if item.ok else f"FAILED: {item.problem}"
        label = f" [{item.archive.label}]" if item.archive.label else ""
        size = size_in_words(item.archive.size)
        echo(f"{item.archive.path.name}  {item.archive.kind}{label}  {age} ago  {size}  {status}")


def pruned(archives: list[ArchiveFile], dry_run: bool) -> None:
    verb = "would delete" if dry_run else "deleted"
    for item in archives:
        echo(f"{verb} {item.path.name}")
    if not archives:
        echo("nothing to prune")


def restore_plan(plan: RestorePlan) -> None:
    echo(f"{plan.archive} ({plan.kind}, created {plan.created_at}) verified. Restoring will:")
    for change in plan.changes:
        echo(f"  - {change}")


def restore_result(result: RestoreResult) -> None:
    if result.dry_run:
        restore_plan(result.plan)
        echo("dry run: nothing was changed")
        return
    if result.safety_copy:
        echo(f"safety copy of the previous state: {result.safety_copy}")
    echo(f"restored {', '.join(result.plan.parts)} from {result.plan.archive}")
    for name in result.playlists:
        echo(f"pushed {name} to Spotify")


# -- status -----------------------------------------------------------------------------------------------------------
def _ago(text: str | None, now: datetime.datetime) -> str:
    if not text:
        return "never"
    from spotify_tophits.clock import describe_duration, parse_utc

    moment = parse_utc(text)
    return f"{describe_duration((now - moment).total_seconds())} ago ({moment:%Y-%m-%d %H:%M} UTC)"


def status_json(report: StatusReport) -> None:
    import json

    echo(json.dumps(report.to_json(), indent=2, sort_keys=True))


def status_report(report: StatusReport, now: datetime.datetime) -> None:
    terminal = console()
    echo(
        f"tophits {report.version} (state schema {report.schema_version}), time zone {report.timezone}:"
        f" {report.level.upper()}"
    )
    active = [p for p in report.playlists if p.status == "active"]
    final = [p for p in report.playlists if p.status == "final"]
    if terminal is not None:
        from rich.table import Table

        table = Table(title="Playlists")
        for column in ("playlist", "tracks", "updated", "window", "link"):
            table.add_column(column)
        for playlist in active:
            tracks = f"{playlist.tracks}/{playlist.size}"
            if playlist.live_tracks is not None:
                tracks += f" (live {playlist.live_tracks}{', edited by hand' if playlist.drift else ''})"
            table.add_row(
                playlist.name,
                tracks,
                _ago(playlist.updated_at, now)
                + (f"\nlast attempt failed: {playlist.last_error}" if playlist.last_error else ""),
                playlist.window or "-",
                playlist.url or "-",
            )
        terminal.print(table)
    else:
        echo("Playlists:")
        for playlist in active:
            failed = f" — last attempt failed: {playlist.last_error}" if playlist.last_error else ""
            live = ""
            if playlist.live_tracks is not None:
                live = f", live {playlist.live_tracks}" + (", edited by hand" if playlist.drift else "")
            echo(
                f"  {playlist.name}: {playlist.tracks}/{playlist.size} tracks{live},"
                f" updated {_ago(playlist.updated_at, now)},"
                f" window {playlist.window or '-'}, {playlist.url or 'not created yet'}{failed}"
            )
    if final:
        echo("Finalised: " + ", ".join(f"{p.name} ({p.tracks})" for p in final))
    echo("Recent runs:")
    for run in report.runs:
        rate = "-" if run.match_rate is None else f"{run.match_rate:.0%}"
        duration = "-" if run.duration_seconds is None else f"{run.duration_seconds:.1f} s"
        error = f" – {run.error}" if run.error else ""
        echo(
            f"  {run.started_at}  {run.command:<7} {run.result:<11} {duration:>8}  {run.requests:>4} requests,"
            f" {run.rate_limited} 429s, match {rate}{error}"
        )
    if not report.runs:
        echo("  none yet")
    schedule = report.schedule
    echo(
        f"Next run: {schedule['next_run']} ({schedule['unit']})"
        if schedule["scheduled"]
        else "Next run: not scheduled (tophits systemd install)"
    )
    performance = report.performance
    latency = performance.latency_ms
    echo(
        f"Last {performance.days} days: {performance.runs} runs, latency p50/p95/p99"
        f" {latency.get('p50', '-')}/{latency.get('p95', '-')}/{latency.get('p99', '-')} ms,"
        f" {performance.requests_per_run or 0} requests per run, error rate"
        f" {'-' if performance.error_rate is None else f'{performance.error_rate:.0%}'},"
        f" {performance.rate_limit_events} rate limits"
    )
    backups = report.backups
    verified = "" if backups.last_verified is None else f", last verified {_ago(backups.last_verified, now)}"
    echo(f"Backups: {backups.count}, newest {_ago(backups.newest, now)}{verified}")
    if report.auth["authorised"]:
        echo(
            f"Spotify: authorised as {report.auth['user']},"
            f" refresh token expires {str(report.auth['refresh_token_expires_at'])[:10]}"
        )
    for alert in report.alerts:
        mark = "✗" if alert.severity == "critical" else "!"
        echo(f"{mark} {alert.message} — fix: {alert.fix}")


# -- doctor ---------------------------------------------------------------------------------------------------------
def doctor_json(report: DoctorReport) -> None:
    import dataclasses
    import json

    echo(json.dumps({"checks": [dataclasses.asdict(c) for c in report.checks], "fixed": report.fixed}, indent=2))


def doctor_report(report: DoctorReport, quiet: bool = False) -> None:
    marks = {"ok": "✓", "warning": "!", "error": "✗"}
    if quiet and not report.count("error") and not report.count("warning"):
        return
    for check in report.checks:
        if quiet and check.level == "ok":
            continue
        echo(f"{marks[check.level]} {check.category}: {check.message}")
        if check.fix and check.level != "ok":
            echo(f"    fix: {check.fix}")
    for fixed in report.fixed:
        echo(f"fixed: {fixed}")
    errors, warnings = report.count("error"), report.count("warning")
    if not errors and not warnings:
        echo("No issues found.")
    else:
        categories = len({c.category for c in report.checks if c.level != "ok"})
        echo(f"{errors} errors and {warnings} warnings in {categories} categories.")


# -- notify and systemd -----------------------------------------------------------------------------------------
def deliveries(items: list[Delivery]) -> None:
    for delivery in items:
        for label in delivery.sent:
            echo(f"sent to {label}")
        for reason in delivery.failed:
            echo(f"NOT sent: {reason}")
        if not delivery.sent and not delivery.failed:
            echo("no channel takes this severity")


def install_plan(plan: InstallPlan) -> None:
    for path, text in plan.files:
        if text:
            echo(f"# --- {path}")
            echo(text)
        else:
            echo(f"would remove {path}")
    echo("# --- commands")
    for command in plan.commands:
        echo(" ".join(command))


def done(lines: list[str]) -> None:
    for line in lines:
        echo(line)
