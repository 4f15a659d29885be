"""Playlist name templates: only the documented fields, no attribute or index access, within Spotify's limits.

`str.format` would let `{prefix.__class__.__mro__}` walk objects, so a template is parsed once and
only `{prefix}`, `{year}` and `{month:<strftime>}` are accepted; rendering substitutes those alone.
"""

from __future__ import annotations

import datetime
import string

# Spotify's limits: longer names and descriptions are refused or cut by the Web API.
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 300
FIELDS = ("prefix", "month", "year")
ALLOWED = "use only {prefix}, {month:%B %Y} and {year}"
# The longest month name in English, to check a template's longest rendering.
LONGEST_MONTH = datetime.date(2026, 9, 1)


def template_problem(template: str) -> str | None:
    """Return what is wrong with a name template (None when it only uses the documented fields)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        return f"is not a valid template ({error})"
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS:
            return f"is not a valid template: {{{field}}} is not allowed; {ALLOWED}"
        if conversion is not None or "{" in (spec or "") or (spec and field != "month"):
            return f"is not a valid template: {{{field}}} is formatted in a way that is not allowed; {ALLOWED}"
    return None


def render_name(template: str, prefix: str, period_start: datetime.date) -> str:
    """Given a checked template, the persona prefix and the period's first day, return the playlist name."""
    pieces = []
    for literal, field, spec, _ in string.Formatter().parse(template):
        pieces.append(literal)
        if field == "prefix":
            pieces.append(prefix)
        elif field == "year":
            pieces.append(str(period_start.year))
        elif field == "month":
            pieces.append(period_start.strftime(spec or "%B %Y"))
    return "".join(pieces)
