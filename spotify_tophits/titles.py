"""Titles and credits as matching reads them: normalising, splitting, and the version vocabulary (pure).

A chart title carries more than the song's name: featured artists, and tags in brackets or after
" - " naming a version (live, acoustic, remix...) or the same recording (remaster, radio edit).
The version vocabulary is data, kept here in one place, in every language tophits' charts speak;
each phrase maps to one kind, so "(En Vivo)", "(Ao Vivo)" and "- Live at Wembley" all say "live".
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence

# Language → version kind → phrases, written as `normalise` leaves them (lower case, Latin accents
# folded). A phrase of a script written without spaces (Japanese, Korean) matches inside a tag;
# the others match whole words.
VERSION_VOCABULARY: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "live": ("live", "in concert", "unplugged", "live session", "live sessions"),
        "acoustic": ("acoustic", "stripped"),
        "remix": ("remix", "remixed", "rmx", "mix", "rework", "bootleg", "vip", "dub"),
        "karaoke": ("karaoke", "backing track", "originally performed by"),
        "instrumental": ("instrumental", "inst"),
        "cover": ("cover", "tribute"),
        "sped up": ("sped up", "speed up", "nightcore"),
        "slowed": ("slowed", "slowed down", "reverb"),
        "demo": ("demo",),
        "orchestral": ("orchestral", "symphonic", "orchestra"),
        "piano": ("piano version",),
        "a cappella": ("a cappella", "acapella"),
    },
    "es": {
        "live": ("en vivo", "en directo", "directo"),
        "acoustic": ("acustico", "acustica", "version acustica"),
        "remix": ("remezcla",),
        "instrumental": ("version instrumental",),
        "orchestral": ("sinfonico", "sinfonica", "orquestal"),
        "sped up": ("acelerada", "acelerado"),
        "slowed": ("ralentizada", "ralentizado"),
    },
    "pt": {
        "live": ("ao vivo",),
        "acoustic": ("acustico", "acustica", "versao acustica", "luau"),
        "orchestral": ("sinfonico", "sinfonica"),
        "remix": ("remixado",),
    },
    "fr": {
        "live": ("en direct", "en concert", "en public"),
        "acoustic": ("acoustique", "version acoustique"),
        "orchestral": ("symphonique",),
        "instrumental": ("version instrumentale", "instrumentale"),
    },
    "de": {
        "live": ("live in", "konzert", "livemitschnitt"),
        "acoustic": ("akustik", "akustisch", "akustikversion"),
        "orchestral": ("orchester", "orchesterversion", "sinfonisch"),
    },
    "it": {
        "live": ("dal vivo",),
        "acoustic": ("acustico", "acustica", "versione acustica"),
        "orchestral": ("sinfonico", "orchestrale"),
        "instrumental": ("strumentale", "versione strumentale"),
    },
    "ja": {
        "live": ("ライブ", "ライヴ"),
        "acoustic": ("アコースティック",),
        "remix": ("リミックス",),
        "instrumental": ("インストゥルメンタル", "インスト"),
        "karaoke": ("カラオケ",),
        "orchestral": ("オーケストラ",),
        "piano": ("ピアノ",),
    },
    "ko": {
        "live": ("라이브",),
        "acoustic": ("어쿠스틱",),
        "remix": ("리믹스",),
        "instrumental": ("인스트루멘탈", "반주"),
        "orchestral": ("오케스트라",),
    },
}
# Tags that name the same recording (or a cut of it people count as the same song), removed from a
# tag before its version words are read: "Original Mix" is not a remix, "Radio Edit" is the single.
SAME_RECORDING = (
    "original mix",
    "radio mix",
    "single mix",
    "album mix",
    "radio edit",
    "single edit",
    "edit",
    "remaster",
    "remastered",
    "single version",
    "album version",
    "radio version",
    "original version",
    "mono",
    "stereo",
    "clean",
    "explicit",
    "super clean",
    "dirty",
)
# Words that say nothing about which version: left out when two version tags are compared.
TAG_FILLER = frozenset(
    (
        *("version", "versions", "ver", "v", "from", "at", "in", "on", "the", "a", "of", "and", "with"),
        *("session", "sessions", "de", "del", "desde", "la", "el", "en", "do", "da", "no", "na", "nos"),
        *("des", "le", "les", "au", "du", "im", "am", "aus", "dem", "der", "di"),
        "バージョン",
        "버전",
    )
)
FEATURE = re.compile(r"\s*[\(\[]?\s*\b(?:feat\.?|ft\.?|featuring|with)\s+([^\)\]]+)[\)\]]?", re.IGNORECASE)
BRACKETED = re.compile(r"[\(\[【「]([^\)\]】」]*)[\)\]】」]")
DASH_SUFFIX = re.compile(r"\s+[-–—~]\s+(.+)$")
ARTIST_SEPARATORS = re.compile(r"\s*(?:,|&|\bx\b|\band\b|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b|;|/)\s*", re.I)


def _fold_latin_accents(text: str) -> str:
    # Beyoncé and Beyonce are one artist, but a Japanese dakuten or a Devanagari vowel sign
    # changes the word: drop combining marks only where they sit on a Latin letter.
    decomposed = unicodedata.normalize("NFKD", text)
    kept: list[str] = []
    for character in decomposed:
        if unicodedata.combining(character) and kept and kept[-1].isascii() and kept[-1].isalpha():
            continue
        kept.append(character)
    return unicodedata.normalize("NFC", "".join(kept))


def normalise(text: str) -> str:
    """Return text in NFKC, casefolded, Latin accents folded, punctuation dropped, letters of every script kept."""
    text = _fold_latin_accents(unicodedata.normalize("NFKC", text).casefold()).replace("&", " and ")
    # Marks stay: they are part of words in Devanagari, Thai, Arabic and others.
    return " ".join(
        "".join(ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else " " for ch in text).split()
    )


def _spaced(phrase: str) -> bool:
    # Latin, Cyrillic, Greek... separate words with spaces; Japanese and Korean tags often do not.
    return all(ord(character) < 0x3000 for character in phrase)


# Every phrase once, longest first, with its kind: "version acustica" is read before "acustica".
PHRASES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {(phrase, kind) for kinds in VERSION_VOCABULARY.values() for kind, words in kinds.items() for phrase in words},
        key=lambda item: (-len(item[0]), item[0]),
    )
)


@dataclasses.dataclass(frozen=True)
class Tag:
    """What one version tag says: the kinds it names, and its other words ("wembley", "club", a remixer)."""

    kinds: frozenset[str]
    words: frozenset[str]


def read_tag(tag: str) -> Tag:
    """Return the version kinds a tag names and the words left over (same-recording words removed)."""
    text = f" {normalise(tag)} "
    for phrase in SAME_RECORDING:
        text = text.replace(f" {phrase} ", " ")
    kinds: set[str] = set()
    for phrase, kind in PHRASES:
        spaced = f" {phrase} "
        if _spaced(phrase) and spaced in text:
            kinds.add(kind)
            text = text.replace(spaced, " ")
        elif not _spaced(phrase) and phrase in text:
            kinds.add(kind)
            text = text.replace(phrase, " ")
    words = frozenset(word for word in text.split() if word not in TAG_FILLER and not word.isdigit())
    return Tag(frozenset(kinds), words if kinds else frozenset())


@dataclasses.dataclass(frozen=True)
class TitleParts:
    """A title split into its base, the version kinds it names, what else its version tags say, and artists
    it features."""

    base: str
    versions: frozenset[str]
    version_words: frozenset[str]
    featured: tuple[str, ...]


def split_title(title: str) -> TitleParts:
    """Split a title into base title, version kinds (from brackets and ' - ' suffixes) and featured artists."""
    featured: list[str] = []

    def take_feature(match: re.Match[str]) -> str:
        featured.extend(split_artists(match.group(1)))
        return " "

    title = unicodedata.normalize("NFKC", title)
    text = FEATURE.sub(take_feature, title)
    tags = list(BRACKETED.findall(text))
    text = BRACKETED.sub(" ", text)
    suffix = DASH_SUFFIX.search(text)
    if suffix:
        tags.append(suffix.group(1))
        text = text[: suffix.start()]
    versions: set[str] = set()
    words: set[str] = set()
    for tag in tags:
        read = read_tag(tag)
        versions |= read.kinds
        words |= read.words
    base = normalise(text) or normalise(title)
    return TitleParts(base, frozenset(versions), frozenset(words), tuple(featured))


def split_artists(text: str) -> list[str]:
    """Split an artist credit such as 'A feat. B & C' into names."""
    return [name.strip() for name in ARTIST_SEPARATORS.split(text) if name and name.strip()]


def primary_name(artists: Sequence[str]) -> str:
    """Return the first artist of a credit as written ("Gunna & Future" gives "Gunna"), for search filters."""
    names = split_artists(artists[0]) if artists else []
    return names[0] if names else ""


def primary_artist(artists: Sequence[str]) -> str:
    """Return the normalised first artist of a credit."""
    return normalise(primary_name(artists))


def song_key(title: str, artists: Sequence[str]) -> str:
    """Return the key under which a song counts once in a playlist (DESIGN §3): the normalised primary artist
    and the title without version tags, so a live cut or a remix of a listed song takes no second slot."""
    return f"{primary_artist(artists)}|{split_title(title).base}"


def recording_key(title: str, artists: Sequence[str]) -> str:
    """Return the key of one recording of a song: the song key, the version kinds its title names, and what else
    its version tags say ("live:tokyo" is not "live:wembley")."""
    parts = split_title(title)
    version = ",".join(sorted(parts.versions)) + (
        f":{' '.join(sorted(parts.version_words))}" if parts.version_words else ""
    )
    return song_key(title, artists) + (f"|{version}" if version else "")
