"""`read_stated_relief` on any words: it answers, quickly, with amounts and lengths a note could state."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.relief import read_stated_relief
from tests.fuzz.resource_shapes import ODD_STRINGS, WORDS

RELIEF_WORDS = (
    "70%", "relief", "reduced by", "improved", "from 8/10 to 2/10", "8/10", "->", "for", "8 weeks", "3 months", "six",
    "weeks", "less than", "no", "denies", "and reports", "if she reports", "given", ",", ".", ";", "which has lasted",
)  # fmt: skip
PHRASES = st.lists(st.one_of(st.sampled_from(WORDS + RELIEF_WORDS), ODD_STRINGS), max_size=16).map(" ".join)


@given(PHRASES)
def test_any_words_give_amounts_of_at_most_all_the_pain_and_lengths_of_no_less_than_nothing(words: str) -> None:
    for relief in read_stated_relief(words):
        assert relief.percent <= 100
        assert relief.weeks is None or relief.weeks >= 0


def test_a_huge_note_is_read_in_linear_time() -> None:
    words = " ".join(("She denies weakness and reports 70% relief, which has lasted 8 weeks.",) * 2_000)
    started = time.perf_counter()

    read_stated_relief(words)

    assert time.perf_counter() - started < 5.0
