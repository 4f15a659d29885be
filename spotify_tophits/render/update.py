"""Output of `update` and `demo`: sources, playlists, what changed, and the rows to check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_tophits.render.output import console, echo

if TYPE_CHECKING:
    from spotify_tophits.actions.demo import DemoResult
    from spotify_tophits.actions.update import UpdateResult


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
        + (f" ({result.searches} searches)" if result.searches else "")
    )
    for warning in result.warnings:
        echo(f"warning: {warning}", "warning")
    if verbose and result.unmatched:
        echo("unmatched rows (not on Spotify, or no candidate agreed on title and artist):")
        for source, artists, title in result.unmatched:
            echo(f"  {source}: {artists} – {title}")
    if verbose and result.no_clean_twin:
        echo(f"{result.no_clean_twin} rows left out: Spotify has them only explicit ([matching] explicit = clean-only)")
    if verbose and result.low_confidence:
        echo("matches to check (lower confidence, or not the chart's rating):")
        for check in result.low_confidence:
            echo(f"  {check.source} #{check.rank}: {check.row}")
            echo(f"    → {check.track}, confidence {check.confidence:.2f}: {check.why}")
    if verbose and result.overrides:
        echo("overrides applied (overrides.toml):")
        for line in result.overrides:
            echo(f"  {line}")


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
    echo()
    for playlist in result.playlists:
        label = " (final)" if playlist.status == "final" else ""
        echo(f"{playlist.name}{label}: {len(playlist.tracks)} tracks")
    if result.daily_top is not None:
        from spotify_tophits.render.show import show_table

        echo()
        show_table(result.daily_top)
    echo()
    echo("Run history (last 5):")
    for update in result.updates[-5:]:
        writes = sum(o.writes for o in update.playlists)
        rate = "-" if update.match_rate is None else f"{update.match_rate:.0%}"
        echo(f"  {update.today}: ok, {update.requests.get('total', 0)} requests, {writes} writes, match rate {rate}")
    if kept:
        echo(f"\nState kept in {result.directory}; try: TOPHITS_STATE_DIR={result.directory}/state tophits status")
