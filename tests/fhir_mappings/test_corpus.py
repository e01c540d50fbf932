"""The reader against the labelled corpus: precision and recall per attribute, printed, with the issue's targets."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.intent import read_text
from tests.fhir_mappings.corpus_score import CARD_ATTRIBUTES, Phrase, as_labels, load, score, table

PRECISION = 0.98  # every attribute a card or a suggestion can rest on
RECALL = 0.90


def read(phrase: Phrase) -> dict[str, frozenset[Any]]:
    """Each phrase read where the record holds it: a reason as a reason, every other text as the order's words."""
    if phrase.source == "reasons":
        return as_labels(read_text("", reason_words=phrase.text))
    return as_labels(read_text(phrase.text))


def test_the_corpus_is_large_enough_and_every_label_is_known() -> None:
    corpus = load()

    assert len(corpus) >= 400
    assert {phrase.source for phrase in corpus} == {"orders", "reasons", "notes", "appointments"}


def test_the_reader_meets_the_precision_and_recall_targets_on_the_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    scores = score(load(), read)
    with capsys.disabled():
        print("\n" + table(scores))

    failing = {
        name: tally.misses
        for name, tally in scores.items()
        if (name in CARD_ATTRIBUTES and tally.precision < PRECISION) or tally.recall < RECALL
    }
    assert not failing, failing
