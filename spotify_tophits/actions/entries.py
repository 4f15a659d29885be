"""The entries of a ranked playlist as `update` records them when it writes: the ranking's points, chart
days and sources, with the name, artists and match the resolution cache holds for each track."""

from __future__ import annotations

from spotify_tophits.overrides import Overrides
from spotify_tophits.ranking import Ranking, Window
from spotify_tophits.store import Entry, Store, WrittenVersion

# How a pinned track was matched: the user named it in overrides.toml.
PINNED = "pinned"


def written_entries(store: Store, ranked: Ranking, overrides: Overrides) -> list[Entry]:
    """Return one Entry per chosen track of a ranking, position 1 first."""
    facts = store.track_facts([score.spotify_id for score in ranked.chosen])
    pinned = {track: song for song, track in overrides.pins.items()}
    entries = []
    for position, score in enumerate(ranked.chosen, start=1):
        known = facts.get(score.spotify_id)
        title, artists = (known.title, known.artists) if known else ("", ())
        if not title and score.spotify_id in pinned:
            # A pin can name a track no search ever found: take the chart's own title then.
            title, artists = store.song_label(pinned[score.spotify_id]) or ("", ())
        method, confidence = (known.method, round(known.confidence, 4)) if known else ("unknown", None)
        if score.spotify_id in pinned:
            method, confidence = PINNED, None
        entries.append(
            Entry(
                position=position,
                spotify_id=score.spotify_id,
                title=title,
                artists=artists,
                points=round(score.points, 6),
                chart_days=len(score.days),
                sources=tuple(score.sources),
                match_method=method,
                match_confidence=confidence,
            )
        )
    return entries


def written_version(store: Store, window: Window, ranked: Ranking, overrides: Overrides) -> WrittenVersion | None:
    """Return the version a write left on Spotify (the saved record, its window and entries), for the run record."""
    saved = store.get_playlist(window.key, window.period)
    if saved is None:
        return None
    return WrittenVersion(saved, (window.start, window.end), written_entries(store, ranked, overrides))
