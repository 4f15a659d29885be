"""The version vocabulary, one test per language: each names its versions, and a version asked is a version given."""

from __future__ import annotations

import re

import pytest

from spotify_tophits.charts import ChartRow
from spotify_tophits.matching import score_candidate
from spotify_tophits.spotify import Track
from spotify_tophits.titles import VERSION_VOCABULARY, read_tag, split_title

# Per language: real-looking chart titles and the version kinds each names.
EXAMPLES: dict[str, list[tuple[str, frozenset[str]]]] = {
    "en": [
        ("Heartbeat (Live at Wembley Stadium)", frozenset({"live"})),
        ("Heartbeat - Acoustic", frozenset({"acoustic"})),
        ("Heartbeat (Sped Up)", frozenset({"sped up"})),
        ("Heartbeat (Slowed + Reverb)", frozenset({"slowed"})),
        ("Heartbeat [Instrumental]", frozenset({"instrumental"})),
        ("Heartbeat - Orchestral Version", frozenset({"orchestral"})),
        ("Heartbeat (Demo)", frozenset({"demo"})),
        ("Heartbeat (Original Mix)", frozenset()),
        ("Heartbeat - Radio Edit", frozenset()),
    ],
    "es": [
        ("Corazón (En Vivo)", frozenset({"live"})),
        ("Corazón - En Directo", frozenset({"live"})),
        ("Corazón (Versión Acústica)", frozenset({"acoustic"})),
        ("Corazón (Sinfónico)", frozenset({"orchestral"})),
    ],
    "pt": [
        ("Coração - Ao Vivo", frozenset({"live"})),
        ("Coração (Ao Vivo no Rio)", frozenset({"live"})),
        ("Coração (Acústico)", frozenset({"acoustic"})),
    ],
    "fr": [
        ("Cœur (En Direct)", frozenset({"live"})),
        ("Cœur - Version Acoustique", frozenset({"acoustic"})),
        ("Cœur (Live à Bercy)", frozenset({"live"})),
    ],
    "de": [
        ("Herz (Akustik Version)", frozenset({"acoustic"})),
        ("Herz - Live in Berlin", frozenset({"live"})),
        ("Herz (Orchesterversion)", frozenset({"orchestral"})),
    ],
    "it": [
        ("Cuore (Dal Vivo)", frozenset({"live"})),
        ("Cuore - Versione Acustica", frozenset({"acoustic"})),
        ("Cuore (Strumentale)", frozenset({"instrumental"})),
    ],
    "ja": [
        ("心 (ライブ)", frozenset({"live"})),
        ("心 (アコースティック・バージョン)", frozenset({"acoustic"})),
        ("心（Live ver.）", frozenset({"live"})),
        ("心 【リミックス】", frozenset({"remix"})),
    ],
    "ko": [
        ("마음 (라이브)", frozenset({"live"})),
        ("마음 (어쿠스틱 Ver.)", frozenset({"acoustic"})),
        ("마음 (Inst.)", frozenset({"instrumental"})),
    ],
}


def test_every_language_of_the_vocabulary_has_examples_here_and_every_example_language_is_in_the_vocabulary():
    assert set(EXAMPLES) == set(VERSION_VOCABULARY) == {"en", "es", "pt", "fr", "de", "it", "ja", "ko"}


@pytest.mark.parametrize("language", sorted(EXAMPLES))
def test_the_vocabulary_reads_the_version_kinds_of_each_language(language):
    found = [(title, split_title(title).versions) for title, _ in EXAMPLES[language]]

    assert found == EXAMPLES[language]


@pytest.mark.parametrize("language", sorted(EXAMPLES))
def test_a_row_naming_a_version_in_each_language_takes_that_version_or_nothing(language):
    for title, kinds in EXAMPLES[language]:
        if not kinds:
            continue
        base = re.split(r" ?[\(\[（【]| - ", title)[0]
        row = ChartRow(1, title, ("Artista",), duration_ms=200_000)
        studio = Track("s" * 22, base, ("Artista",), 200_000, None)
        same = Track("v" * 22, title, ("Artista",), 200_000, None)

        assert score_candidate(row, studio) is None, title
        assert score_candidate(ChartRow(1, base, ("Artista",), duration_ms=200_000), same) is None, title
        assert score_candidate(row, same) is not None, title


def test_every_phrase_of_the_vocabulary_is_read_as_its_own_kind():
    for kinds in VERSION_VOCABULARY.values():
        for kind, phrases in kinds.items():
            for phrase in phrases:
                assert kind in read_tag(phrase).kinds, (kind, phrase)


def test_tags_that_name_different_performances_or_remixers_do_not_match():
    row = ChartRow(1, "Heartbeat (Live at Wembley)", ("Nova Quinn",), duration_ms=240_000)
    tokyo = Track("t" * 22, "Heartbeat - Live from Tokyo Dome", ("Nova Quinn",), 240_000, None)
    wembley = Track("w" * 22, "Heartbeat - Live At Wembley Stadium", ("Nova Quinn",), 240_000, None)
    plain_live = Track("l" * 22, "Heartbeat - Live", ("Nova Quinn",), 240_000, None)
    club = ChartRow(1, "Heartbeat (Club Remix)", ("Nova Quinn",), duration_ms=300_000)
    radio = Track("r" * 22, "Heartbeat (Radio Remix)", ("Nova Quinn",), 300_000, None)

    assert score_candidate(row, tokyo) is None
    # The same performance, named in more or less detail: accepted, a little less sure.
    assert score_candidate(row, wembley) == score_candidate(row, plain_live) == 0.95
    assert score_candidate(club, radio) is None
