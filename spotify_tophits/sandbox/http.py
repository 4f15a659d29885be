"""What every emulated service shares: an HTTP error to raise, the answer's shape, the search field syntax."""

from __future__ import annotations

import re
from typing import Any

# An answer: status, JSON body (None: empty), extra headers.
Response = tuple[int, Any, dict[str, str]]
# Spotify's and Deezer's advanced search both take `field:"quoted"` or `field:bare` filters.
FIELD_FILTER = re.compile(r'(isrc|track|artist):(?:"([^"]*)"|(\S+))')


class HttpError(Exception):
    """An error answer: the status, the message, extra headers and (Spotify's 429s) a reason."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
        plain: bool = False,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.reason = reason
        # Some of Spotify's answers are a bare text body, not the usual JSON error object.
        self.plain = plain


def endpoint_template(method: str, path: str) -> str:
    """Return the endpoint a request counts under: "GET /playlists/{id}/items" for any playlist id."""
    path = re.sub(r"^/v1", "", path)
    path = re.sub(r"/(playlists|tracks|track|playlist)/[^/]+", lambda m: f"/{m.group(1)}/{{id}}", path)
    return f"{method} {path}"
