"""What an order or note says about an injection: approach, levels, guidance, catheter, in its own words.

Coded data is sparse in real orders, so the words of the code text, order details, body sites and notes are read
too, with a vocabulary kept as data (`data/injection_vocabulary.yaml`). A phrase counts only when it is affirmed and
about this injection (`fhir_mappings.context`): "IV catheter", "s/p L4-L5 laminectomy", "T2 hyperintense", "for
bilateral leg pain" say nothing about it. Body sites coded in SNOMED CT are read with `data/body_site_regions.yaml`,
and their codes outweigh the words: structured data wins wherever both speak.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mappings.code_systems import SNOMED_CT, is_system
from fhir_mappings.context import ABOUT_THE_INJECTION, Assertion, Context, Reading, Target, reader_for
from fhir_mappings.context import tells_history as reason_tells_history
from fhir_mappings.facts import Evidence, Modality, StatedIntent
from fhir_mappings.phrases import PhraseBook, Phrases, Text, phrase_book
from fhir_mappings.reading_memo import ReadingMemo
from fhir_mappings.spine import Approach, SpinalLevel, SpinalRegion, region_of_segment

# A segment is C1-C8, T1-T12, L1-L5 or S1-S5; an interspace joins two, written with '-', '/', an en dash or 'to',
# or shortened to the lower segment's number ("L4-5", "C6/7").
_SEGMENT = r"(?:C[1-8]|T1[0-2]|T[1-9]|L[1-5]|S[1-5])"
_LEVEL = re.compile(rf"(?<![\w-])({_SEGMENT})(?:\s*(?:-|–|/|to)\s*({_SEGMENT}|\d{{1,2}}))?(?![\w])", re.IGNORECASE)
# Each text is read up to this many characters: the longest real procedure notes are a few thousand, and the cap
# bounds what a hostile or runaway text (megabytes of vocabulary words) costs a hook call.
_LONGEST_READ = 32_768
_ROOT_WORDS = frozenset({"root", "roots", "nerve root", "nerve roots"})
# Told as done asks only how a phrase is asserted, not what it is about: a nerve root needs no full reading for it.
_NO_ROOT_WORDS: frozenset[str] = frozenset()
_NEXT_SEGMENT = {"T12": "L1", "L5": "S1"}
_COUNTS = {"C": 8, "T": 12, "L": 5, "S": 5}
# SNOMED CT laterality qualifiers (a bodySite coding or qualifier): right and left together, right, left.
_BILATERAL = "51440002"
_ONE_SIDE = frozenset({"24028007", "7771000"})


# The attribute each vocabulary list sets, and the value it sets it to.
_FLAGS = (
    "without_guidance",
    "catheter",
    "infusion",
    "single_shot",
    "bolus_only",
    "neurolytic",
    "bilateral",
    "pump_trial",
)


@cache
def _vocabulary() -> PhraseBook:
    text = resources.files("fhir_mappings.data").joinpath("injection_vocabulary.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    lists: list[tuple[tuple[object, ...], list[str]]] = [
        *((("approach", Approach(name)), words) for name, words in data["approach"].items()),
        *((("guidance", Modality(name)), words) for name, words in data["guidance"].items()),
        *((("region", SpinalRegion(name)), words) for name, words in data["region"].items()),
        *(((name, True), data[name]) for name in _FLAGS),
        *((("undecided", name), words) for name, words in data["undecided"].items()),
    ]
    return phrase_book(lists)


@cache
def _body_site_regions() -> dict[str, SpinalRegion]:
    text = resources.files("fhir_mappings.data").joinpath("body_site_regions.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return {entry["code"]: SpinalRegion(name) for name, entries in data["regions"].items() for entry in entries}


def parse_levels(text: str) -> tuple[SpinalLevel, ...]:
    """Every level written in `text`, in order, without regard to what it is the level of."""
    levels: list[SpinalLevel] = []
    for match in _LEVEL.finditer(text):
        level = _level(match)
        if level not in levels:
            levels.append(level)
    return tuple(levels)


def _level(match: re.Match[str]) -> SpinalLevel:
    upper = match.group(1).upper()
    lower = match.group(2).upper() if match.group(2) else None
    if lower is not None and lower.isdigit():
        # "L4-5": the lower segment's letter is the upper's; a number that names no later segment is not a level.
        number = int(lower)
        lower = f"{upper[0]}{number}" if int(upper[1:]) < number <= _COUNTS[upper[0]] else None
    return SpinalLevel(upper, lower)


def foramen_of_root(segment: str) -> SpinalLevel:
    """The foramen a nerve root exits: a cervical root above its own vertebra (C6 at C5-C6, C8 at C7-T1), a thoracic or
    lumbar root below it (L5 at L5-S1), a sacral root through its own foramen (S1)."""
    letter, number = segment[0], int(segment[1:])
    if letter == "C":
        if number == 1:
            return SpinalLevel(segment)
        return SpinalLevel("C7", "T1") if number == 8 else SpinalLevel(f"C{number - 1}", segment)
    if letter == "S":
        return SpinalLevel(segment)
    return SpinalLevel(segment, _NEXT_SEGMENT.get(segment, f"{letter}{number + 1}"))


@dataclass
class _Found:
    """The phrases of one text read as about this injection and affirmed, each with whether its target is certain."""

    values: dict[str, dict[Any, bool]] = field(default_factory=dict)
    undecided: set[str] = field(default_factory=set)
    """Attributes the text says are still to be chosen ("will decide level"): whatever it writes of them is not read."""

    def add(self, attribute: str, value: Any, reading: Reading) -> None:
        if attribute == "undecided":
            if reading.target is Target.INJECTION and reading.assertion is Assertion.HYPOTHETICAL:
                self.undecided.add(str(value))
        elif reading.about_this_injection:
            seen = self.values.setdefault(attribute, {})
            seen[value] = seen.get(value, False) or reading.certain

    def of(self, attribute: str) -> dict[Any, bool]:
        if _DECIDED_BY.get(attribute, attribute) in self.undecided:
            return {}
        return self.values.get(attribute, {})


# The attribute of each vocabulary list that an undecided word leaves open, where it is not the list's own name.
_DECIDED_BY = {"level": "levels", "root": "levels", "without_guidance": "guidance"}


@dataclass(frozen=True, slots=True)
class TextReading:
    """What a text says about this injection, and whether it tells of a past procedure."""

    intent: StatedIntent
    tells_history: bool


def read_intent(
    words: str,
    body_site_words: str = "",
    body_site_codes: Iterable[tuple[str | None, str]] = (),
    reason_words: str = "",
) -> StatedIntent:
    """The intent stated in `words` (the free text of the order or procedure), `body_site_words` (its body sites'
    text), `body_site_codes` (its body sites' codings, as (system, code)) and `reason_words` (its reasons' text, read
    only for a stated pump trial: a reason names symptoms and findings, not the injection's levels or side)."""
    return read_text(words, body_site_words, body_site_codes, reason_words).intent


def read_text(
    words: str,
    body_site_words: str = "",
    body_site_codes: Iterable[tuple[str | None, str]] = (),
    reason_words: str = "",
) -> TextReading:
    codes = tuple(body_site_codes)
    # A coding without a system reads as one with an empty system: neither is SNOMED CT.
    coded = (part for system, code in codes for part in (system or "", code))
    return _READINGS.reading(
        (words, body_site_words, reason_words, *coded), lambda: _read_text(words, body_site_words, codes, reason_words)
    )


_READINGS: ReadingMemo[TextReading] = ReadingMemo()


def _read_text(
    words: str, body_site_words: str, body_site_codes: tuple[tuple[str | None, str], ...], reason_words: str
) -> TextReading:
    found = _Found()
    said = Text(words[:_LONGEST_READ])
    read, tells_history = reader_for(said, _ROOT_WORDS)
    _read_phrases(said, read, found, with_levels=True)
    # A body site's words name the injection's site and nothing else.
    if body_site_words:
        site = Text(body_site_words[:_LONGEST_READ])
        _read_phrases(site, lambda start, end: ABOUT_THE_INJECTION, found, with_levels=True)
    if reason_words:
        reason = Text(reason_words[:_LONGEST_READ])
        trials = [(start, end) for start, end, labels in _vocabulary().matches(reason) if _PUMP_TRIAL in labels]
        # Most reasons name a diagnosis and no plan: their context is built only when a pump trial is named.
        reason_context = Context(reason) if trials else None
        for start, end in trials:
            assert reason_context is not None
            # A reason is about the order it is given for, so a plan named in it with nothing else beside it is this
            # order's ("pump trial - chronic intractable pain").
            reading = reason_context.read(start, end)
            if reading.anchor is None:
                reading = Reading(Target.INJECTION, reading.assertion, True, None)
            found.add("pump_trial", True, reading)
        told = reason_context.tells_history if reason_context is not None else reason_tells_history(reason)
        tells_history = tells_history or told
    return TextReading(_intent(found, body_site_codes), tells_history)


Read = Callable[[int, int], Reading]


def _read_phrases(text: Text, read: Read, found: _Found, *, with_levels: bool) -> None:
    # Catheter words where the text also names another device may be that device's ("Catheter removed at end of
    # case" after "IV catheter placed"): they count only when they are certainly the injection's. ("no catheter" and
    # "no fluoroscopy" are phrases of their own, so the word they deny is not read on its own where they stand.)
    previous_end = -1
    for start, end, labels in _vocabulary().matches(text):
        reading = read(start, end)
        for name, value in labels:
            # "Transforaminal approach considered", "the L5-S1 level": the word names a value, not a choice left open.
            if name == "undecided" and _after_a_value(text.text, start, previous_end):
                continue
            if name not in _CATHETER_WORDS or reading.certain:
                found.add(str(name), value, reading)
        previous_end = end
    if with_levels:
        for match in _LEVEL.finditer(text.text):
            reading = read(*match.span())
            found.add("root" if reading.anchor in _ROOT_WORDS else "level", _level(match), reading)


def _after_a_value(text: str, start: int, previous_end: int) -> bool:
    before = text[:start].rstrip()
    return len(before) == previous_end or _LEVEL_AT_END.search(before) is not None


_LEVEL_AT_END = re.compile(_LEVEL.pattern + r"$", re.IGNORECASE)
_PUMP_TRIAL = ("pump_trial", True)
_CATHETER_WORDS = frozenset({"catheter", "single_shot", "bolus_only"})


def _intent(found: _Found, body_site_codes: tuple[tuple[str | None, str], ...]) -> StatedIntent:
    evidence: dict[str, Evidence] = {}

    def strength(attribute: str, *sources: dict[Any, bool]) -> None:
        if any(sources) and not any(certain for source in sources for certain in source.values()):
            evidence[attribute] = Evidence.MENTIONED

    approaches = found.of("approach")
    approach = next(iter(approaches)) if len(approaches) == 1 else None
    if approach is not None:
        strength("approach", approaches)
    levels = _levels(found.of("level"), found.of("root"), transforaminal=approach is Approach.TRANSFORAMINAL)
    strength("levels", found.of("level"), found.of("root"))
    guidance = frozenset(found.of("guidance"))
    strength("guidance", found.of("guidance"))
    without_guidance = bool(found.of("without_guidance")) and not guidance
    if without_guidance:
        strength("without_guidance", found.of("without_guidance"))
    catheter = _catheter(found)
    if catheter is not None:
        words = ("catheter", "infusion", "single_shot", "bolus_only")
        strength("catheter", *(found.of(name) for name in words))
    for attribute in ("neurolytic", "pump_trial"):
        strength(attribute, found.of(attribute))
    bilateral = bool(found.of("bilateral"))
    strength("bilateral", found.of("bilateral"))
    sides = {code.strip() for system, code in body_site_codes if is_system(system, SNOMED_CT)}
    if _BILATERAL in sides or sides & _ONE_SIDE:
        bilateral = _BILATERAL in sides
        evidence["bilateral"] = Evidence.STRUCTURED
    coded = _regions_coded(body_site_codes)
    if coded:
        regions = coded
        evidence["body_site_regions"] = Evidence.STRUCTURED
    else:
        named = found.of("region")
        regions = frozenset(named) | {region_of_segment(level.upper) for level in levels}
        if not levels:
            strength("body_site_regions", named)
        elif "levels" in evidence:
            strength("body_site_regions", named, found.of("level"), found.of("root"))
    return StatedIntent(
        approach=approach,
        levels=levels,
        body_site_regions=regions,
        guidance=guidance,
        without_guidance=without_guidance,
        catheter=catheter,
        neurolytic=bool(found.of("neurolytic")),
        bilateral=bilateral,
        pump_trial=bool(found.of("pump_trial")),
        evidence=tuple(sorted(evidence.items())),
    )


def _catheter(found: _Found) -> bool | None:
    """Single-bolus words outweigh everything; infusion words outweigh single-shot words (both: unknown); the word
    catheter alone says catheter, unless a single shot is stated."""
    if found.of("bolus_only"):
        return False
    if found.of("infusion"):
        return None if found.of("single_shot") else True
    if found.of("single_shot"):
        return False
    return True if found.of("catheter") else None


def _levels(
    written: dict[SpinalLevel, bool], roots: dict[SpinalLevel, bool], *, transforaminal: bool
) -> tuple[SpinalLevel, ...]:
    """The levels injected. A nerve root is the foramen it exits ("L5 root" is L5-S1), and so is a lone segment of a
    transforaminal injection ("right L5 TFESI"): "L5-S1 (L5 root) and S1" is two foramina, not three levels."""
    levels: list[SpinalLevel] = []
    for level in [*written, *roots]:
        named_as_root = level in roots or (transforaminal and level.lower is None)
        foramen = foramen_of_root(level.upper) if named_as_root and level.lower is None else level
        if foramen not in levels:
            levels.append(foramen)
    return tuple(levels)


def _regions_coded(codes: Iterable[tuple[str | None, str]]) -> frozenset[SpinalRegion]:
    table = _body_site_regions()
    return frozenset(
        region
        for system, code in codes
        if is_system(system, SNOMED_CT) and (region := table.get(code.strip())) is not None
    )


def names_this_injection(words: str, phrases: Phrases) -> bool:
    """Whether one of `phrases` ("epidural", "ESI") in `words` is about an injection done or to be done and affirmed:
    "Lumbar ESI L4-5 under fluoro" names one; "hx of ESI", "no epidural", "possible ESI" and "epidural blood patch"
    only mention one."""
    text = Text(words[:_LONGEST_READ])
    spans = list(phrases.spans(text))
    if not spans:
        return False
    read, _ = reader_for(text, _ROOT_WORDS)
    return any(read(start, end).about_this_injection for start, end in spans)


def done_reader(words: str) -> Callable[[int, int], bool]:
    """Whether the phrase at characters [start, end) of `words` is told as done, now or in the past ("failed 6 weeks
    of PT", "s/p 8 weeks of physical therapy", "no improvement with 6 weeks of PT"), not denied or hedged ("did not
    complete 6 weeks of PT", "PT was not tried", "declined PT", "plan: 6 weeks of PT"). The text is read once, so
    every phrase of one text is judged in the same context."""
    read, _ = reader_for(Text(words[:_LONGEST_READ]), _NO_ROOT_WORDS)

    def done(start: int, end: int) -> bool:
        return end <= _LONGEST_READ and read(start, end).assertion in (Assertion.AFFIRMED, Assertion.HISTORICAL)

    return done
