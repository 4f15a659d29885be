"""CSV charts: Spotify Charts' export (`rank,uri,artist_names,track_name,...`) or a plain `rank,artist,title`."""

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
                response = self.session.get(self.location, timeout=15)
            except requests.RequestException as error:
                raise SourceError(f"{self.name}: cannot fetch ({type(error).__name__}); skipped") from None
            if response.status_code != 200:
                raise SourceError(f"{self.name}: answered HTTP {response.status_code}; skipped")
            data = response.content
        else:
            try:
                data = Path(self.location).read_bytes()
            except OSError as error:
                raise SourceError(f"{self.name}: cannot read {self.location}: {error.strerror}; skipped") from None
        try:
            # utf-8-sig drops the byte-order mark Spotify's and Shazam's exports start with.
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SourceError(f"{self.name}: not UTF-8 (byte {error.start}); save the file as UTF-8") from None

    def probe(self) -> int:
        return len(parse_csv(self.name, self._read(), self.minimum_rows))

    def fetch(self, today: datetime.date) -> Chart:
        """Return the chart in the file; its date comes from a YYYY-MM-DD in the name, else today."""
        match = DATE_IN_NAME.search(Path(self.location).name)
        chart_date = datetime.date.fromisoformat(match.group(1)) if match else today
        return Chart(self.name, self.chart_id, chart_date, parse_csv(self.name, self._read(), self.minimum_rows))


def parse_csv(source: str, text: str, minimum_rows: int) -> tuple[ChartRow, ...]:
    """Parse a chart CSV by header names; raise SourceError naming the line of the first bad row."""
    reader = csv.DictReader(io.StringIO(text))
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
            raise SourceError(f"{source}: line {line}: rank {values['rank']!r} is not a whole number") from None
        if spotify_format:
            uri_match = SPOTIFY_URI.match(values["uri"]) or re.search(r"track/([0-9A-Za-z]{22})", values["uri"])
            if not uri_match:
                raise SourceError(f"{source}: line {line}: {values['uri']!r} is not a Spotify track URI")
            title, artists, spotify_id = values["track_name"], values["artist_names"], uri_match.group(1)
        else:
            title, artists, spotify_id = values["title"], values["artist"], values.get("spotify_id") or None
        if not title or not artists:
            raise SourceError(f"{source}: line {line}: title and artist must not be empty")
        rows.append(
            ChartRow(
                rank=rank,
                title=title,
                artists=tuple(name.strip() for name in artists.split(",") if name.strip()),
                isrc=(values.get("isrc") or None),
                spotify_id=spotify_id,
            )
        )
    return validate_rows(source, rows, minimum_rows)
