"""Output of `status` (the dashboard, `--json`) and `doctor` (the checks, `--json`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_tophits.render.output import console, echo

if TYPE_CHECKING:
    import datetime

    from spotify_tophits.actions.doctor import DoctorReport
    from spotify_tophits.actions.profiles import ProfileStatus
    from spotify_tophits.actions.status import StatusReport


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
    if not report.playlists and not report.runs:
        _next_steps(report)


def _next_steps(report: StatusReport) -> None:
    """A fresh install: say what to run next, leaving out what is done already."""
    echo(f"Nothing has run yet (no state DB at {report.state_db}). Next steps:")
    if not report.auth["authorised"]:
        echo("  tophits auth              authorise tophits with your Spotify account")
    echo("  tophits update            fetch the charts and write the playlists")
    if not report.schedule["scheduled"]:
        echo("  tophits systemd install   run update every day")


def doctor_json(report: DoctorReport) -> None:
    import dataclasses
    import json

    echo(json.dumps({"checks": [dataclasses.asdict(c) for c in report.checks], "fixed": report.fixed}, indent=2))


def doctor_report(report: DoctorReport, quiet: bool = False) -> None:
    from spotify_tophits.actions.doctor import Level

    marks = {Level.OK: "✓", Level.WARNING: "!", Level.ERROR: "✗"}
    errors, warnings = report.count(Level.ERROR), report.count(Level.WARNING)
    if quiet and not errors and not warnings:
        return
    for check in report.checks:
        if quiet and check.level == Level.OK:
            continue
        level = {Level.ERROR: "error", Level.WARNING: "warning"}.get(check.level, "")
        echo(f"{marks[check.level]} {check.category}: {check.message}", level)
        if check.fix and check.level != Level.OK:
            echo(f"    fix: {check.fix}")
    for fixed in report.fixed:
        echo(f"fixed: {fixed}")
    if not errors and not warnings:
        echo("No issues found.")
    else:
        categories = len({c.category for c in report.checks if c.level != Level.OK})
        echo(f"{errors} errors and {warnings} warnings in {categories} categories.")


def profiles_list(statuses: list[ProfileStatus], now: datetime.datetime, as_json: bool) -> None:
    """One line per profile: name, account, playlists, last run, health in one word."""
    if as_json:
        import json

        echo(json.dumps([status.summary() for status in statuses], indent=2, sort_keys=True))
        return
    if not statuses:
        echo("No profiles yet: create one with `tophits --profile NAME auth`.")
        return
    for status in statuses:
        line = status.summary()
        last = f"{line['last_result']} {_ago(line['last_run'], now)}" if line["last_run"] else "never"
        problem = f" ({status.problem})" if status.problem else ""
        echo(
            f"{status.label:<14} {line['account'] or 'not authorised':<20} {line['playlists']} playlists,"
            f" last run {last}: {status.health}{problem}"
        )


def all_status(statuses: list[ProfileStatus], now: datetime.datetime, as_json: bool) -> None:
    """`status --all-profiles`: one dashboard per profile (or why it could not be read)."""
    if as_json:
        import json

        blocks = [
            {"profile": s.name, "problem": s.problem, "status": s.report.to_json() if s.report else None}
            for s in statuses
        ]
        echo(json.dumps({"profiles": blocks}, indent=2, sort_keys=True))
        return
    for index, status in enumerate(statuses):
        echo(("\n" if index else "") + f"== profile {status.label} ({status.account or 'not authorised'}) ==")
        if status.report is not None:
            status_report(status.report, now)
        else:
            echo(f"{status.health.upper()}: {status.problem}")
