"""Output of `show`: the chart as a table (Rich on a terminal, aligned text otherwise), `--json`, `--csv`,
and `--explain`. `--json` and `--csv` never import Rich."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from spotify_tophits.render.output import echo

if TYPE_CHECKING:
    from spotify_tophits.actions.explain import Explanation
    from spotify_tophits.actions.show import ShowEntry, ShowResult, ShowView

COLUMNS = ("#", "move", "title", "artists", "points", "days", "peak", "sources", "match")
# How many of the tracks the caps cut `--explain` lists.
CUT_SHOWN = 10


def width(text: str) -> int:
    """Return how many terminal columns text takes: East Asian wide characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(character) in ("W", "F") else 1 for character in text)


def _pad(text: str, columns: int, right: bool) -> str:
    padding = " " * max(0, columns - width(text))
    return padding + text if right else text + padding


def _number(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _cells(entry: ShowEntry) -> tuple[str, ...]:
    return (
        str(entry.position),
        entry.movement_label,
        entry.title,
        ", ".join(entry.artists),
        _number(entry.points),
        _number(entry.chart_days),
        str(entry.peak_position),
        ", ".join(entry.sources) or "-",
        entry.match_label,
    )


def _header(result: ShowResult) -> list[str]:
    window = "-"
    if result.window_start is not None and result.window_end is not None:
        window = result.window_start.isoformat()
        if result.window_end != result.window_start:
            window += f" – {result.window_end.isoformat()}"
    written = f"{result.written_at[:16].replace('T', ' ')} UTC" if result.written_at else "never"
    return [result.name, f"window {window}, last written {written}"]


def show_view(view: ShowView) -> None:
    """Print what `tophits show` was asked for."""
    if view.explanation is not None:
        show_explanation(view.explanation)
    elif view.output == "json":
        show_json(view.chart)
    elif view.output == "csv":
        show_csv(view.chart)
    else:
        show_table(view.chart)


def show_table(result: ShowResult) -> None:
    """Print the chart: a header, then one row per entry, or what to do next when there is nothing yet."""
    header = _header(result)
    if not result.entries:
        echo(header[0])
        echo(result.note or "nothing written yet")
        if result.next_steps:
            echo("next steps:")
            for step in result.next_steps:
                echo(f"  {step}")
        return
    rows = [_cells(entry) for entry in result.entries]
    if sys.stdout.isatty():
        from spotify_tophits.render.output import console

        terminal = console()
        if terminal is not None:
            from rich.table import Table
            from rich.text import Text

            from spotify_tophits.logs import escape_controls

            table = Table(title=header[0], caption=header[1])
            for column in COLUMNS:
                table.add_column(column, justify="right" if column in ("#", "points", "days", "peak") else "left")
            for row in rows:
                # Text, not markup: a title such as "[Live]" prints as written.
                table.add_row(*(Text(escape_controls(cell)) for cell in row))
            terminal.print(table)
            if result.url:
                # A terminal that supports OSC 8 makes this a clickable link.
                terminal.print(f"[link={result.url}]{result.url}[/link]")
            return
    echo(header[0])
    echo(header[1])
    if result.url:
        echo(result.url)
    widths = [max(width(row[index]) for row in [COLUMNS, *rows]) for index in range(len(COLUMNS))]
    for row in [COLUMNS, *rows]:
        cells = [
            _pad(cell, columns, right=index in (0, 4, 5, 6))
            for index, (cell, columns) in enumerate(zip(row, widths, strict=True))
        ]
        echo("  ".join(cells).rstrip())


def show_json(result: ShowResult) -> None:
    from spotify_tophits.actions.show import json_text

    echo(json_text(result))


def show_csv(result: ShowResult) -> None:
    """Print a header row and one row per entry, RFC 4180 quoting and CRLF line ends."""
    from spotify_tophits.actions.show import csv_text

    sys.stdout.write(csv_text(result))
    sys.stdout.flush()


def show_explanation(explanation: Explanation) -> None:
    """Print why an entry sits where it does: points by day and source, tie-breaks, overrides and cuts."""
    entry = explanation.entry
    start, end = explanation.window
    echo(f"#{entry.position} {', '.join(entry.artists)} – {entry.title} ({entry.spotify_id})")
    window = start.isoformat() if start == end else f"{start.isoformat()} – {end.isoformat()}"
    echo(f"{explanation.playlist}, window {window}; matched by {entry.match_label}")
    echo(f"points by chart day and source (recomputed from the stored history), total {explanation.points:.4f}:")
    rows = [("day", "source", "rank", "rows", "points")] + [
        (c.chart_date.isoformat(), c.source, str(c.rank), str(c.rows), f"{c.points:.4f}")
        for c in explanation.contributions
    ]
    widths = [max(len(row[index]) for row in rows) for index in range(5)]
    for row in rows:
        echo(
            "  "
            + "  ".join(
                cell.rjust(w) if i >= 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    for neighbour in explanation.neighbours:
        side = "above" if neighbour.above else "below"
        echo(
            f"{side}: #{neighbour.position} {neighbour.label} ({neighbour.points:.4f} points),"
            f" decided by {neighbour.decided_by}"
        )
    for line in explanation.touched:
        echo(line)
    if explanation.cut:
        echo("cut by the artist cap or the song dedupe, with points above the last entry's:")
        for label, points, reason in explanation.cut[:CUT_SHOWN]:
            echo(f"  {label} ({points:.4f} points): {reason}")
        if len(explanation.cut) > CUT_SHOWN:
            echo(f"  … and {len(explanation.cut) - CUT_SHOWN} more")
    for line in explanation.differences:
        echo(f"note: {line}")
