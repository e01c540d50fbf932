"""`read_intent` on any words: it answers, quickly, and only names levels whose segments the words name."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.facts import StatedIntent
from fhir_mappings.intent import read_intent
from fhir_mappings.spine import Approach
from tests.fuzz.resource_shapes import ODD_STRINGS, SYSTEMS, WORDS

PHRASES = st.lists(st.one_of(st.sampled_from(WORDS), ODD_STRINGS), max_size=12).map(" ".join)
BODY_SITE_CODES = st.lists(st.tuples(st.none() | st.sampled_from(SYSTEMS) | st.text(), ODD_STRINGS), max_size=4)


@given(PHRASES, PHRASES, BODY_SITE_CODES)
def test_any_words_give_a_stated_intent(words: str, body_site: str, codes: list[tuple[str | None, str]]) -> None:
    intent = read_intent(words, body_site, codes)

    assert isinstance(intent, StatedIntent)
    assert intent.approach is None or isinstance(intent.approach, Approach)
    said = (words + " " + body_site).upper()
    # A nerve root is read as the foramen it exits, which names the root's segment as its upper or lower end.
    assert all(level.upper in said or (level.lower is not None and level.lower in said) for level in intent.levels)


def test_a_huge_note_is_read_in_linear_time() -> None:
    words = " ".join(WORDS * 10_000)  # about 2 MB of every phrase the vocabulary knows
    started = time.perf_counter()

    read_intent(words, words, [(None, words)])

    assert time.perf_counter() - started < 5.0
