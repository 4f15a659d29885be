"""The managed playlists on Spotify: ours in the listing, adopted, created or recreated, renamed, and
their items reconciled with a ranked target (DESIGN §4). The update story calls `PlaylistSync.sync`
once per playlist window; a dry run reads but never writes.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Callable, Sequence

from spotify_tophits.config import PlaylistSettings, Settings, render_playlist_name
from spotify_tophits.config.names import MAX_DESCRIPTION_LENGTH
from spotify_tophits.errors import ConfigError, RateLimitedError, TemporaryError
from spotify_tophits.ranking import Window
from spotify_tophits.reconcile import reconcile
from spotify_tophits.spotify import PlaylistInfo, SpotifyGateway
from spotify_tophits.store import ManagedPlaylist, PlaylistState, Store


class Outcome(enum.StrEnum):
    """What happened to one playlist this run (a dry run says what would happen)."""

    UNCHANGED = "unchanged"
    WRITTEN = "written"
    CREATED = "created"
    RECREATED = "recreated"
    FINALISED = "finalised"
    REFUSED = "refused"
    EMPTY = "empty"
    KEPT = "kept"
    WOULD_BE_CREATED = "would be created"
    WOULD_BE_RECREATED = "would be recreated"
    WOULD_BE_WRITTEN = "would be written"


@dataclasses.dataclass(frozen=True)
class PlaylistOutcome:
    """What happened to one playlist this run."""

    key: str
    period: str
    name: str
    spotify_id: str | None
    window: str
    tracks: int
    size: int
    added: int
    removed: int
    status: Outcome
    writes: int
    message: str = ""

    @property
    def url(self) -> str | None:
        return f"https://open.spotify.com/playlist/{self.spotify_id}" if self.spotify_id else None


# Every description tophits writes carries this: how a playlist whose create answer was lost is recognised.
TOPHITS_MARK = "Ranked by tophits"


def describe_playlist(playlist: PlaylistSettings, window: Window, sources: Sequence[str]) -> str:
    """Return the playlist description: stable from day to day, so it costs no extra write."""
    origin = ", ".join(sources)
    if len(origin) > MAX_DESCRIPTION_LENGTH // 2:
        # Many or long source names would take the description past Spotify's limit: count them instead.
        origin = f"{len(sources)} chart sources"
    if window.final:
        label = f"{window.period_start:%B %Y}" if window.key == "monthly" else str(window.period_start.year)
        return f"Final: the top {playlist.size} of {label} from {origin}. {TOPHITS_MARK}; no longer updated."
    cadence = {"daily": "the latest chart day", "weekly": "last week", "monthly": "this month so far"}
    return f"The top {playlist.size} of {cadence.get(window.key, 'this year so far')} from {origin}. {TOPHITS_MARK}."


class PlaylistSync:
    """What one run knows about the user's playlists: the listing (read once) and who the user is."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        gateway: Callable[[], SpotifyGateway],
        now: datetime.datetime,
        *,
        dry_run: bool,
        force: bool,
        warnings: list[str],
    ) -> None:
        self.settings = settings
        self.store = store
        self.gateway = gateway
        self.now = now
        self.dry_run = dry_run
        self.force = force
        self.warnings = warnings
        self._listing: dict[str, PlaylistInfo] | None = None
        self._user_id: str | None = None

    def listing(self) -> dict[str, PlaylistInfo]:
        """Return the user's playlists by id, read once per run (the snapshot check)."""
        if self._listing is None:
            self._listing = {info.id: info for info in self.gateway().my_playlists()}
        return self._listing

    def user_id(self) -> str:
        """Return the authorised user's id (stored at `tophits auth`, else asked once)."""
        if self._user_id is None:
            self._user_id = self.store.get_meta("user_id")
            if self._user_id is None:
                self._user_id = self.gateway().current_user().id
                self.store.set_meta("user_id", self._user_id)
        return self._user_id

    def no_history(self, playlist: PlaylistSettings, today: datetime.date) -> PlaylistOutcome:
        """Return the outcome of a playlist with no chart history at all yet (nothing to rank, nothing done)."""
        name = render_playlist_name(playlist.name, self.settings.prefix, today)
        return PlaylistOutcome(
            playlist.key,
            playlist.key,
            name,
            None,
            "-",
            0,
            playlist.size,
            0,
            0,
            Outcome.EMPTY,
            0,
            "no chart history yet",
        )

    def keep(self, playlist: PlaylistSettings, window: Window) -> PlaylistOutcome:
        """Leave a playlist whose window holds no chart day (tophits was not running) exactly as it is.

        An empty window is no evidence that the playlist should shrink, so this is a warning, never
        a refusal. A final window is still finalised, with the tracks the playlist holds.
        """
        record = self.store.get_playlist(playlist.key, window.period)
        if window.final and record is not None and record.contents is not None:
            return self.sync(playlist, window, list(record.contents))
        name = record.name if record else render_playlist_name(playlist.name, self.settings.prefix, window.period_start)
        tracks = len(record.contents or ()) if record else 0
        return PlaylistOutcome(
            playlist.key,
            window.period,
            name,
            record.spotify_id if record else None,
            window.describe(),
            tracks,
            playlist.size,
            0,
            0,
            Outcome.KEPT,
            0,
            f"no chart days for {window.describe()}: tophits was not running; the playlist is left as it is",
        )

    def lost_create(self, name: str) -> PlaylistInfo | None:
        """Return an own playlist named `name` with tophits' description and no record (a lost create answer)."""
        known = {record.spotify_id for record in self.store.managed_playlists()}
        for info in self.listing().values():
            if (
                info.name == name
                and info.id not in known
                and TOPHITS_MARK in (info.description or "")
                and info.owner_id == self.user_id()
            ):
                return info
        return None

    def create(self, playlist: PlaylistSettings, name: str, description: str) -> PlaylistInfo:
        """Create a playlist idempotently: adopt the one a lost create answer left behind, else POST it.

        A failed POST /me/playlists may have been applied (the connection dropped after Spotify
        made it), so the listing is read once more: a match is adopted, else the POST is sent once more.
        """
        found = self.lost_create(name)
        if found is not None:
            return found
        try:
            return self.gateway().create_playlist(name, description, playlist.public)
        except TemporaryError as error:
            if isinstance(error, RateLimitedError):
                raise
            self._listing = None
            found = self.lost_create(name)
        # The fresh listing shows the failed create was not applied: creating once more is safe.
        return found or self.gateway().create_playlist(name, description, playlist.public)

    def adopt(self, playlist: PlaylistSettings, window: Window, name: str, description: str) -> ManagedPlaylist:
        """Take over the playlist named by `spotify_id` in the config, after checking it is ours."""
        spotify_id = playlist.spotify_id
        info = self.listing().get(spotify_id or "")
        if info is None or info.owner_id != self.user_id():
            raise ConfigError(
                f"playlists.{playlist.key}.spotify_id = {spotify_id!r} is not a playlist in your library that you"
                " own (Spotify-owned playlists answer 404 to Development Mode apps); remove the setting and"
                " tophits creates its own"
            )
        return ManagedPlaylist(
            playlist.key,
            window.period,
            spotify_id,
            None,
            name,
            description,
            None,
            PlaylistState.ACTIVE,
            self.now.isoformat(),
            None,
            None,
        )

    def sync(self, playlist: PlaylistSettings, window: Window, target: Sequence[str]) -> PlaylistOutcome:
        """Bring one playlist's window to its ranked target on Spotify; return what happened."""
        record = self.store.get_playlist(playlist.key, window.period)
        name = render_playlist_name(playlist.name, self.settings.prefix, window.period_start)
        description = describe_playlist(playlist, window, self.settings.sources)

        def outcome(
            status: Outcome, spotify_id: str | None, before: Sequence[str] | None, writes: int, message: str = ""
        ) -> PlaylistOutcome:
            previous = set(before or ())
            return PlaylistOutcome(
                key=playlist.key,
                period=window.period,
                name=name,
                spotify_id=spotify_id,
                window=window.describe(),
                tracks=len(target),
                size=playlist.size,
                added=len(set(target) - previous),
                removed=len(previous - set(target)),
                status=status,
                writes=writes,
                message=message,
            )

        known = record.contents if record else None
        if not target and record is None:
            return outcome(Outcome.EMPTY, None, None, 0, "no resolved chart rows in this window yet")
        if known and len(target) < len(known) / 2 and not self.force:
            message = (
                f"refused: the new list has {len(target)} tracks, under half of the {len(known)} it has now;"
                " check the sources, or run `tophits update --force` to accept it"
            )
            return outcome(Outcome.REFUSED, record.spotify_id if record else None, known, 0, message)

        if record is None and playlist.spotify_id:
            record = self.adopt(playlist, window, name, description)
        info = self.listing().get(record.spotify_id) if record and record.spotify_id else None
        if info is not None and info.owner_id != self.user_id():
            info = None
        status = Outcome.UNCHANGED
        if info is None:
            recreating = record is not None and record.spotify_id
            status = Outcome.RECREATED if recreating else Outcome.CREATED
            if self.dry_run:
                return outcome(Outcome.WOULD_BE_RECREATED if recreating else Outcome.WOULD_BE_CREATED, None, None, 0)
            info = self.create(playlist, name, description)
            self.listing()[info.id] = info
            record = ManagedPlaylist(
                key=playlist.key,
                period=window.period,
                spotify_id=info.id,
                # A playlist we just created is empty at this snapshot: no need to read it. An
                # adopted one (its create answer was lost) may not be: it is read.
                snapshot_id=info.snapshot_id if info.total == 0 else None,
                name=name,
                description=description,
                contents=(),
                status=PlaylistState.ACTIVE,
                created_at=self.now.isoformat(),
                updated_at=None,
                last_error=None,
            )
            # Saved before any item is written, so a crash here never creates a second playlist.
            self.store.save_playlist(record)
            if status == Outcome.RECREATED:
                self.warnings.append(f"{name}: the playlist was gone from your library; recreated it")
        assert record is not None
        renamed = info.name != name or info.description != description
        if renamed and not self.dry_run:
            self.gateway().change_details(info.id, name, description)
        snapshot = record.snapshot_id if record.spotify_id == info.id else None
        done = reconcile(self.gateway(), info, snapshot, record.contents, target, dry_run=self.dry_run)
        if done.writes and status == Outcome.UNCHANGED:
            status = Outcome.WRITTEN
        if window.final:
            status = Outcome.FINALISED
        if self.dry_run:
            changed = done.before is None or list(done.before) != target
            return outcome(Outcome.WOULD_BE_WRITTEN if changed else Outcome.UNCHANGED, info.id, done.before, 0)
        self.store.save_playlist(
            dataclasses.replace(
                record,
                spotify_id=info.id,
                snapshot_id=done.snapshot_id,
                name=name,
                description=description,
                contents=tuple(target),
                status=PlaylistState.FINAL if window.final else PlaylistState.ACTIVE,
                updated_at=self.now.isoformat(),
                last_error=None,
            )
        )
        self.listing()[info.id] = dataclasses.replace(
            info, name=name, description=description, snapshot_id=done.snapshot_id or ""
        )
        return outcome(status, info.id, done.before, done.writes + int(renamed))
