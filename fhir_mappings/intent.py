"""What an order or note says about an injection: approach, levels, guidance, catheter, in its own words.

Coded data is sparse in real orders, so the words of the code text, order details, body sites and notes are read
too, with a vocabulary kept as data (`data/injection_vocabulary.yaml`). Body sites coded in SNOMED CT are read with
the table `data/body_site_regions.yaml`. The regions an intent names come from its words and its body sites alike:
"lumbar interlaminar ESI" names the lumbar/sacral region as surely as a bodySite of lumbar spine does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mappings.code_systems import SNOMED_CT, is_system
from fhir_mappings.facts import Modality, StatedIntent
from fhir_mappings.spine import Approach, SpinalLevel, SpinalRegion, region_of_segment

# A segment is C1-C8, T1-T12, L1-L5 or S1-S5; an interspace joins two, written with '-', '/', an en dash or 'to'.
_SEGMENT = r"(?:C[1-8]|T1[0-2]|T[1-9]|L[1-5]|S[1-5])"
_LEVEL = re.compile(rf"\b({_SEGMENT})(?:\s*(?:-|–|/|to)\s*({_SEGMENT}))?\b", re.IGNORECASE)


class _Text:
    """A text with its lower-cased form, made once: every phrase list of the vocabulary looks at the same texts."""

    __slots__ = ("lowered", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        # Non-ASCII text can match case-folded forms a lower() test misses, so it always goes to the regex.
        self.lowered = text.lower() if text.isascii() else None


@dataclass(frozen=True, slots=True)
class _Phrases:
    """Whole-word, case-insensitive matching of a list of phrases.

    The pattern starts with a look-behind, so the regex engine tries it at every position of the text; most texts
    contain none of the phrases, and for ASCII text a plain substring test of the lower-cased text says so exactly,
    at a fraction of the cost (it halved `read_intent`, which reads every injection in a patient's history).
    """

    pattern: re.Pattern[str]
    folded: tuple[str, ...]

    def _may_match(self, text: _Text) -> bool:
        lowered = text.lowered
        return lowered is None or any(phrase in lowered for phrase in self.folded)

    def search(self, text: _Text) -> bool:
        return self._may_match(text) and self.pattern.search(text.text) is not None

    def sub(self, replacement: str, text: _Text) -> _Text:
        return _Text(self.pattern.sub(replacement, text.text)) if self._may_match(text) else text


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    approach: tuple[tuple[_Phrases, Approach], ...]
    guidance: tuple[tuple[_Phrases, Modality], ...]
    without_guidance: _Phrases
    catheter: _Phrases
    single_shot: _Phrases
    bolus_only: _Phrases
    neurolytic: _Phrases
    bilateral: _Phrases
    pump_trial: _Phrases
    region: tuple[tuple[_Phrases, SpinalRegion], ...]


def _phrases(words: Iterable[str]) -> _Phrases:
    ordered = sorted(words, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(word) for word in ordered) + r")(?![\w-])", re.IGNORECASE
    )
    # Non-ASCII phrases could match case-folded forms a lower() test misses, so they always go to the regex.
    folded = tuple(word.lower() for word in ordered) if all(word.isascii() for word in ordered) else ("",)
    return _Phrases(pattern, folded)


@cache
def _vocabulary() -> _Vocabulary:
    text = resources.files("fhir_mappings.data").joinpath("injection_vocabulary.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return _Vocabulary(
        approach=tuple((_phrases(words), Approach(name)) for name, words in data["approach"].items()),
        guidance=tuple((_phrases(words), Modality(name)) for name, words in data["guidance"].items()),
        without_guidance=_phrases(data["without_guidance"]),
        catheter=_phrases(data["catheter"]),
        single_shot=_phrases(data["single_shot"]),
        bolus_only=_phrases(data["bolus_only"]),
        neurolytic=_phrases(data["neurolytic"]),
        bilateral=_phrases(data["bilateral"]),
        pump_trial=_phrases(data["pump_trial"]),
        region=tuple((_phrases(words), SpinalRegion(name)) for name, words in data["region"].items()),
    )


@cache
def _body_site_regions() -> dict[str, SpinalRegion]:
    text = resources.files("fhir_mappings.data").joinpath("body_site_regions.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return {entry["code"]: SpinalRegion(name) for name, entries in data["regions"].items() for entry in entries}


def parse_levels(text: str) -> tuple[SpinalLevel, ...]:
    levels: list[SpinalLevel] = []
    for match in _LEVEL.finditer(text):
        upper = match.group(1).upper()
        lower = match.group(2).upper() if match.group(2) else None
        level = SpinalLevel(upper, lower)
        if level not in levels:
            levels.append(level)
    return tuple(levels)


def read_intent(
    words: str, body_site_words: str = "", body_site_codes: Iterable[tuple[str | None, str]] = ()
) -> StatedIntent:
    """The intent stated in `words` (all free text of the order), `body_site_words` (its body sites' text) and
    `body_site_codes` (its body sites' codings, as (system, code))."""
    vocabulary = _vocabulary()
    said = _Text(words)
    without_guidance = vocabulary.without_guidance.search(said)
    # "without fluoroscopy" names fluoroscopy only to deny it, so the denied phrases are removed before looking.
    affirmed = vocabulary.without_guidance.sub(" ", said)
    approaches = {approach for pattern, approach in vocabulary.approach if pattern.search(affirmed)}
    guidance = frozenset(modality for pattern, modality in vocabulary.guidance if pattern.search(affirmed))
    catheter: bool | None = None
    if vocabulary.bolus_only.search(affirmed):
        catheter = False
    elif vocabulary.catheter.search(affirmed):
        catheter = None if vocabulary.single_shot.search(affirmed) else True
    elif vocabulary.single_shot.search(affirmed):
        catheter = False
    levels = parse_levels(words + " " + body_site_words)
    # Regions come from the affirmed words; when nothing was denied those are the words, and so are their levels.
    affirmed_levels = levels if affirmed is said else parse_levels(affirmed.text + " " + body_site_words)
    return StatedIntent(
        approach=approaches.pop() if len(approaches) == 1 else None,
        levels=levels,
        body_site_regions=_regions_named(_Text(affirmed.text + " " + body_site_words), affirmed_levels)
        | _regions_coded(body_site_codes),
        guidance=guidance,
        without_guidance=without_guidance and not guidance,
        catheter=catheter,
        neurolytic=vocabulary.neurolytic.search(affirmed),
        bilateral=vocabulary.bilateral.search(affirmed),
        pump_trial=vocabulary.pump_trial.search(said),
    )


def _regions_named(words: _Text, levels: tuple[SpinalLevel, ...]) -> frozenset[SpinalRegion]:
    named = {region for pattern, region in _vocabulary().region if pattern.search(words)}
    named.update(region_of_segment(level.upper) for level in levels)
    return frozenset(named)


def _regions_coded(codes: Iterable[tuple[str | None, str]]) -> frozenset[SpinalRegion]:
    table = _body_site_regions()
    return frozenset(
        region
        for system, code in codes
        if is_system(system, SNOMED_CT) and (region := table.get(code.strip())) is not None
    )
