"""What procedure notes affirm for the documentation checklist: drug, dose, volume, response and complications.

The words are data (`data/documentation_vocabulary.yaml`); doses and volumes are numbers with a unit. A phrase counts
when the note affirms it: "No medication injected" is not a drug. "No complications" is read as one phrase, so it
documents the complications item instead of being negated by its own "no".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mappings.context import Assertion, reader_for
from fhir_mappings.facts import Documented
from fhir_mappings.phrases import PhraseBook, Text, phrase_book

_DOSE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:mg|mcg|µg|g|units?|mEq)(?!\w)", re.IGNORECASE)
_VOLUME = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ml|cc)(?!\w)", re.IGNORECASE)
_NO_ROOTS: frozenset[str] = frozenset()


@cache
def _book() -> PhraseBook:
    text = resources.files("fhir_mappings.data").joinpath("documentation_vocabulary.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return phrase_book(((name,), words) for name, words in data.items())


def read_documented(notes: Iterable[str]) -> Documented:
    found: set[str] = set()
    for note in notes:
        found.update(_affirmed_items(note))
    return Documented(
        drug="drugs" in found,
        dose="dose" in found,
        volume="volume" in found,
        response="response" in found,
        complications="complications" in found,
    )


def _affirmed_items(note: str) -> set[str]:
    text = Text(note)
    read, _ = reader_for(text, _NO_ROOTS)

    def affirmed(start: int, end: int) -> bool:
        return read(start, end).assertion is Assertion.AFFIRMED

    found = {str(label[0]) for start, end, labels in _book().matches(text) if affirmed(start, end) for label in labels}
    if any(affirmed(*match.span()) for match in _DOSE.finditer(note)):
        found.add("dose")
    if any(affirmed(*match.span()) for match in _VOLUME.finditer(note)):
        found.add("volume")
    return found
