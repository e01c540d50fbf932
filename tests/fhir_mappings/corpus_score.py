"""The labelled corpus of realistic phrases and the precision and recall of a reading of it, per attribute.

Shared by the corpus test and `bench/reader_context.py`, which scores other readers (medspaCy's ConText, negspacy)
on the same phrases and labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fhir_mappings.spine import SpinalRegion

if TYPE_CHECKING:
    from fhir_mappings.intent import TextReading

CORPUS = Path(__file__).parent / "corpus"
SOURCES = ("orders", "reasons", "notes", "appointments")
# The attributes a card or a suggestion can rest on; `historical` only tells a reader what the words are about.
CARD_ATTRIBUTES = (
    "approach",
    "levels",
    "region",
    "guidance",
    "without_guidance",
    "catheter",
    "neurolytic",
    "bilateral",
    "pump_trial",
)
ATTRIBUTES = (*CARD_ATTRIBUTES, "historical")
_REGIONS = {SpinalRegion.CERVICAL_THORACIC: "CT", SpinalRegion.LUMBAR_SACRAL: "LS"}


@dataclass(frozen=True, slots=True)
class Phrase:
    source: str
    text: str
    labels: dict[str, frozenset[Any]]


def load() -> list[Phrase]:
    corpus: list[Phrase] = []
    for source in SOURCES:
        for entry in yaml.safe_load((CORPUS / f"{source}.yaml").read_text("utf-8")):
            labels = {name: _values(entry.get(name)) for name in ATTRIBUTES}
            corpus.append(Phrase(source, entry["t"], labels))
    return corpus


def _values(label: Any) -> frozenset[Any]:
    if label is None:
        return frozenset()
    return frozenset(label) if isinstance(label, list) else frozenset({label})


def as_labels(reading: TextReading) -> dict[str, frozenset[Any]]:
    """Our reader's output in the corpus's terms."""
    intent = reading.intent
    return {
        "approach": frozenset({intent.approach.value} if intent.approach else ()),
        "levels": frozenset(level.text for level in intent.levels),
        "region": frozenset(_REGIONS[region] for region in intent.body_site_regions),
        "guidance": frozenset(modality.value for modality in intent.guidance),
        "without_guidance": frozenset({True} if intent.without_guidance else ()),
        "catheter": frozenset(() if intent.catheter is None else {intent.catheter}),
        "neurolytic": frozenset({True} if intent.neurolytic else ()),
        "bilateral": frozenset({True} if intent.bilateral else ()),
        "pump_trial": frozenset({True} if intent.pump_trial else ()),
        "historical": frozenset({True} if reading.tells_history else ()),
    }


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positive + self.false_negative
        return self.true_positive / labelled if labelled else 1.0


Reader = Callable[[Phrase], dict[str, frozenset[Any]]]


def score(corpus: Iterable[Phrase], read: Reader, attributes: Iterable[str] = ATTRIBUTES) -> dict[str, Score]:
    scores = {name: Score() for name in attributes}
    for phrase in corpus:
        found = read(phrase)
        for name, tally in scores.items():
            expected, got = phrase.labels[name], found.get(name, frozenset())
            tally.true_positive += len(expected & got)
            tally.false_positive += len(got - expected)
            tally.false_negative += len(expected - got)
            if expected != got:
                tally.misses.append(
                    f"{phrase.source}: {phrase.text!r}: expected {sorted(map(str, expected))}, "
                    f"read {sorted(map(str, got))}"
                )
    return scores


def table(scores: dict[str, Score]) -> str:
    lines = [f"{'attribute':<18}{'precision':>10}{'recall':>8}{'TP':>5}{'FP':>5}{'FN':>5}"]
    lines.extend(
        f"{name:<18}{tally.precision:>10.3f}{tally.recall:>8.3f}{tally.true_positive:>5}{tally.false_positive:>5}"
        f"{tally.false_negative:>5}"
        for name, tally in scores.items()
    )
    return "\n".join(lines)
