"""CSV charts: Spotify Charts' export (`rank,uri,artist_names,track_name,...`) or a plain `rank,artist,title`,
either with an optional `explicit` column (true/false) giving the row's content rating."""

from __future__ import annotations

import csv
import datetime
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_tophits.charts import Chart, ChartRow
from spotify_tophits.errors import SourceError
from spotify_tophits.sources.base import validate_rows

if TYPE_CHECKING:
    import requests

DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
SPOTIFY_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
# A chart is a few hundred rows; anything this large is a mistake or hostile, and is refused unread.
MAX_CSV_BYTES = 16 * 1024 * 1024
MAX_RANK = 100_000
# The optional `explicit` column: the row's content rating (empty: not said).
CSV_RATINGS: dict[str, bool | None] = {
    "": None,
    "true": True,
    "1": True,
    "yes": True,
    "false": False,
    "0": False,
    "no": False,
}


class CsvSource:
    """A chart read from a local CSV file or an http(s) URL."""

    def __init__(self, *, name: str, location: str, session: requests.Session, minimum_rows: int) -> None:
        self.name = name
        self.location = location
        self.chart_id = location
        self.session = session
        self.minimum_rows = minimum_rows

    def _read(self) -> str:
        if self.location.startswith(("http://", "https://")):
            import requests

            try:
                with self.session.get(self.location, timeout=15, stream=True) as response:
                    if response.status_code != 200:
                        raise SourceError(f"{self.name}: answered HTTP {response.status_code}; skipped")
                    data = b""
                    for chunk in response.iter_content(64 * 1024):
                        data += chunk
                        if len(data) > MAX_CSV_BYTES:
                            raise SourceError(f"{self.name}: larger than {MAX_CSV_BYTES // 2**20} MiB; skipped")
            except requests.RequestException as error:
                raise SourceError(f"{self.name}: cannot fetch ({type(error).__name__}); skipped") from None
        else:
            try:
                with Path(self.location).open("rb") as handle:
                    data = handle.read(MAX_CSV_BYTES + 1)
            except OSError as error:
                raise SourceError(f"{self.name}: cannot read {self.location}: {error.strerror}; skipped") from None
            if len(data) > MAX_CSV_BYTES:
                raise SourceError(f"{self.name}: larger than {MAX_CSV_BYTES // 2**20} MiB; skipped")
        try:
            # utf-8-sig drops the byte-order mark Spotify's and Shazam's exports start with.
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SourceError(f"{self.name}: not UTF-8 (byte {error.start}); save the file as UTF-8") from None

    def probe(self) -> int:
        return len(parse_csv(self.name, self._read(), self.minimum_rows))

    def fetch(self, today: datetime.date) -> Chart:
        """Return the chart in the file; its date comes from a YYYY-MM-DD in the name, else today."""
        name = Path(self.location).name
        match = DATE_IN_NAME.search(name)
        chart_date = today
        if match:
            try:
                chart_date = datetime.date.fromisoformat(match.group(1))
            except ValueError:
                raise SourceError(
                    f"{self.name}: file name {name!r} names no real day ({match.group(1)}); skipped"
                ) from None
        return Chart(self.name, self.chart_id, chart_date, parse_csv(self.name, self._read(), self.minimum_rows))


def parse_csv(source: str, text: str, minimum_rows: int) -> tuple[ChartRow, ...]:
    """Parse a chart CSV by header names; raise SourceError naming the line of the first bad row."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _parse_records(source, reader, minimum_rows)
    except csv.Error as error:
        # A field over the csv module's limit (128 KiB), a NUL byte, an unclosed quote.
        raise SourceError(f"{source}: line {reader.line_num + 1}: not a readable CSV row ({error}); skipped") from None


def _parse_records(source: str, reader: csv.DictReader[str], minimum_rows: int) -> tuple[ChartRow, ...]:
    headers = {name.strip().lower() for name in reader.fieldnames or []}
    spotify_format = {"rank", "uri", "artist_names", "track_name"} <= headers
    plain_format = {"rank", "artist", "title"} <= headers
    if not spotify_format and not plain_format:
        raise SourceError(
            f"{source}: header must have rank,uri,artist_names,track_name or rank,artist,title; got {sorted(headers)}"
        )
    rows = []
    for record in reader:
        line = reader.line_num
        values = {key.strip().lower(): (value or "").strip() for key, value in record.items() if key}
        try:
            rank = int(values["rank"])
        except ValueError:
            raise SourceError(f"{source}: line {line}: rank {values['rank'][:40]!r} is not a whole number") from None
        if not 1 <= rank <= MAX_RANK:
            raise SourceError(f"{source}: line {line}: rank {values['rank'][:40]} is not between 1 and {MAX_RANK}")
        if spotify_format:
            uri_match = SPOTIFY_URI.match(values["uri"]) or re.search(r"track/([0-9A-Za-z]{22})", values["uri"])
            if not uri_match:
                raise SourceError(f"{source}: line {line}: {values['uri'][:80]!r} is not a Spotify track URI")
            title, artists, spotify_id = values["track_name"], values["artist_names"], uri_match.group(1)
        else:
            title, artists, spotify_id = values["title"], values["artist"], values.get("spotify_id") or None
        if not title or not artists:
            raise SourceError(f"{source}: line {line}: title and artist must not be empty")
        rating = values.get("explicit", "").casefold()
        if rating not in CSV_RATINGS:
            raise SourceError(f"{source}: line {line}: explicit {rating[:20]!r} must be true, false or empty")
        rows.append(
            ChartRow(
                rank=rank,
                title=title,
                artists=tuple(name.strip() for name in artists.split(",") if name.strip()),
                isrc=(values.get("isrc") or None),
                spotify_id=spotify_id,
                explicit=CSV_RATINGS[rating],
            )
        )
    return validate_rows(source, rows, minimum_rows)
