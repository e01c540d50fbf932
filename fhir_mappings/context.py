"""What a phrase in clinical text is about (its target) and whether it is asserted (affirmed, negated, past, planned).

A reading of the ConText algorithm (Harkema et al., J Biomed Inform 2009) sized for orders and procedure notes:

- **Assertion.** Trigger words open a scope that runs forward ("no", "s/p", "consider") or backward ("ago", "was not
  used", "deferred") to the end of their clause; a phrase in a scope is negated, historical or hypothetical. Clauses
  end at sentence punctuation, commas, a spaced dash and termination words ("but", "today", and verbs of reporting
  such as "reports", which start a new statement). Words that put a clause in the present ("today") outweigh a history
  trigger in it; pseudo-triggers ("prior to") trigger nothing.
- **Target.** A phrase is about the nearest thing named beside it: first the next few words after it ("bilateral leg
  pain", "L4-L5 laminectomy", "T2 hyperintense"), then the few before it ("stenosis at L3-4", "TFESI L5"), never past
  the clause or a word that introduces a reason or a neighbour ("for", "above"). The things are this injection
  (approach words, "epidural", "root", "foramen"…), another procedure, a device, an imaging finding or a symptom. A
  phrase inside a longer name is about what that name names ("IV catheter", "RF neurolysis").
- **Certainty.** A phrase with no thing beside it is about the injection when its sentence names only the injection,
  or when the whole text names nothing else (an order's own words); when its sentence also names something else, it
  may be about either, and is only *mentioned*.

The vocabulary is data (`data/injection_vocabulary.yaml`, section `context`); README "How text is read" says why
this is our own matcher and not medspaCy (measured on the corpus in tests/fhir_mappings/corpus).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mappings.phrases import Label, PhraseBook, Text, phrase_book


class Assertion(StrEnum):
    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"


class Target(StrEnum):
    INJECTION = "injection"
    PROCEDURE = "procedure"
    DEVICE = "device"
    FINDING = "finding"
    SYMPTOM = "symptom"


@dataclass(frozen=True, slots=True)
class Reading:
    """What one phrase of the text is about, and how it is asserted. `certain` is False when its sentence names the
    injection and something else, and nothing beside the phrase says which it is about."""

    target: Target
    assertion: Assertion
    certain: bool
    anchor: str | None  # the words of the thing found beside the phrase, lower-cased ("root", "laminectomy")

    @property
    def about_this_injection(self) -> bool:
        return self.target is Target.INJECTION and self.assertion is Assertion.AFFIRMED


ABOUT_THE_INJECTION = Reading(Target.INJECTION, Assertion.AFFIRMED, True, None)

# Words, levels ("L4-L5", "s/p", "B/L" are one word each), sentence ends, clause ends, and parentheses. The stop of
# "vs." ends no sentence: both alternatives it joins stay in one hedge.
_TOKEN = re.compile(r"\w+(?:[-/'’]\w+)*/?|(?<!\b[Vv][Ss])\.(?!\d)|[!?;\n,+()]|(?<!\S)[-–—](?!\S)")
_SENTENCE_ENDS = frozenset({".", "!", "?", ";", "\n"})
_CLAUSE_ENDS = frozenset({",", "+", "-", "–", "—"})
_ENDS = _SENTENCE_ENDS | _CLAUSE_ENDS
# Skipped, not counted, when looking for the thing a phrase is about: "bilateral L4 and L5 TFESI" names the TFESI.
_TRANSPARENT = frozenset(
    {"(", ")", "and", "or", "&", "the", "a", "an", "of", "right", "left", "r", "l", "rt", "lt", "right-sided"}
    | {"left-sided", "midline", "bilateral", "bilaterally", "bilat", "b/l", "at", "to", "on", "in"}
)
_LEVEL_TOKEN = re.compile(r"(?:C[1-8]|T1[0-2]|T[1-9]|L[1-5]|S[1-5])(?:[-/–][CTLS]?\d{1,2})?", re.IGNORECASE)
# How many words after (then before) a phrase may stand between it and the thing it is about.
_AFTER = 3
_BEFORE = 3
_SKIPPED = 8  # and at most this many skipped words, so a text of nothing but "and and and…" is still read in one pass
_PRECEDENCE = (Assertion.HISTORICAL, Assertion.HYPOTHETICAL, Assertion.NEGATED)  # a later one outweighs an earlier


@cache
def _lexicon() -> PhraseBook:
    """Every word the context is read by, in one book: ("target", Target), ("trigger", Assertion, _Scope),
    ("terminator",), ("stop",), ("pseudo",), ("present",)."""
    return phrase_book(_lexicon_lists())


@cache
def _lexicon_lists() -> tuple[tuple[Label, list[str]], ...]:
    text = resources.files("fhir_mappings.data").joinpath("injection_vocabulary.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)["context"]
    return (
        *((("target", Target(name)), words) for name, words in data["targets"].items()),
        *(((role,), data[role + "s" if role in ("terminator", "stop") else role]) for role in _ROLES),
        *trigger_lists(data),
    )


def trigger_lists(section: Mapping[str, Any]) -> list[tuple[Label, list[str]]]:
    """The trigger words of a vocabulary section written as the `context` one is (`negated`, `historical`,
    `hypothetical`, each by scope: `forward`, `backward`, `near_backward`, `near_both`), labelled as the reader
    reads them. A section may leave any of them out."""
    return [
        (("trigger", assertion, _Scope(direction)), list(words))
        for assertion in (Assertion.NEGATED, Assertion.HISTORICAL, Assertion.HYPOTHETICAL)
        for direction, words in (section.get(assertion.value) or {}).items()
    ]


def lexicon_with(extra: Iterable[tuple[Label, Iterable[str]]]) -> PhraseBook:
    """The context vocabulary and `extra` phrase lists in one book, for reading other things than the injection in
    context (an authorization's state: "auth pending"). Its words are added for those texts only: "ESI pending"
    says nothing about what is ordered, so the injection reader never sees them. Build `Context(text,
    list(book.matches(text)))`; labels the reader does not know are kept for the caller."""
    return phrase_book([*_lexicon_lists(), *((label, list(words)) for label, words in extra)])


class _Scope(StrEnum):
    """Where a trigger's scope runs: to either end of its clause, or only over the few words beside it. A hedge that
    follows its object ("fluoro if available", "catheter may be needed") or joins two alternatives ("TFESI vs
    interlaminar") is about the words next to it, not the firm statement its clause began with ("Caudal ESI with
    fluoro if available" is a caudal ESI)."""

    FORWARD = "forward"
    BACKWARD = "backward"
    NEAR_BACKWARD = "near_backward"
    NEAR_BOTH = "near_both"


_NEAR = 2  # words a near scope reaches: "fluoroscopic guidance", "epidural catheter", "transforaminal ESI"


_ROLES = ("terminator", "stop", "pseudo", "present")


def reader_for(text: Text, root_words: frozenset[str]) -> tuple[Callable[[int, int], Reading], bool]:
    """How to read the phrases of `text`, and whether it tells of a past procedure. Most texts of a history name only
    the injection ("Right L5-S1 transforaminal ESI under fluoroscopy"): nothing in them can make a phrase about
    something else or not affirmed, so they are read without building their context."""
    matches = list(_lexicon().matches(text))
    if all(
        label[0] in _INERT or (label == _INJECTION and text.text[start:end].lower() not in root_words)
        for start, end, labels in matches
        for label in labels
    ):
        return _about_the_injection, False
    context = Context(text, matches)
    return context.read, context.tells_history


def tells_history(text: Text) -> bool:
    """Whether `text` tells of a past procedure; its context is built only when a history word is in it."""
    matches = list(_lexicon().matches(text))
    if not any(
        label[0] == "trigger" and label[1] is Assertion.HISTORICAL for _, _, labels in matches for label in labels
    ):
        return False
    return Context(text, matches).tells_history


def _about_the_injection(start: int, end: int) -> Reading:
    return ABOUT_THE_INJECTION


_INERT = frozenset({"terminator", "stop", "pseudo", "present"})
_INJECTION = ("target", Target.INJECTION)


class Context:
    """The clauses, named things and trigger scopes of one text, so each phrase found in it can be read in place."""

    __slots__ = (
        "_anchor_after",
        "_anchor_before",
        "_anchor_over",
        "_assertions",
        "_clause",
        "_ends",
        "_pair",
        "_sentence",
        "_sentence_targets",
        "_starts",
        "_stop_at",
        "_text_targets",
        "_words",
        "tells_history",
    )

    def __init__(self, text: Text, matches: list[tuple[int, int, tuple[Label, ...]]] | None = None) -> None:
        tokens = [(match.start(), match.end(), match.group().lower()) for match in _TOKEN.finditer(text.text)]
        self._starts = [start for start, _, _ in tokens]
        self._ends = [end for _, end, _ in tokens]
        self._words = [word for _, _, word in tokens]
        count = len(tokens)
        by_role: dict[object, list[tuple[int, int, tuple[object, ...]]]] = {}
        for start, end, labels in _lexicon().matches(text) if matches is None else matches:
            first, last = self._token_range(start, end)
            if first < last:
                for label in labels:
                    by_role.setdefault(label[0], []).append((first, last, label))
        starts_clause = [False] * count
        for first, _, _ in by_role.get("terminator", ()):
            starts_clause[first] = True
        self._clause = [0] * count
        self._sentence = [0] * count
        clause = sentence = 0
        for index, word in enumerate(self._words):
            if starts_clause[index]:
                clause += 1
            self._clause[index] = clause
            self._sentence[index] = sentence
            if word in _SENTENCE_ENDS:
                sentence += 1
                clause += 1
            elif word in _CLAUSE_ENDS:
                clause += 1
        # An aside in parentheses is stepped over as a whole when looking past it: in "ESI (bilateral leg pain)
        # L4-5" the level is the ESI's.
        self._pair: dict[int, int] = {}
        opened: list[int] = []
        for index, word in enumerate(self._words) if "(" in text.text else ():
            if word == "(":
                opened.append(index)
            elif word == ")" and opened:
                partner = opened.pop()
                self._pair[partner] = index
                self._pair[index] = partner
        self._stop_at = [False] * count
        for first, last, _ in by_role.get("stop", ()):
            for index in range(first, last):
                self._stop_at[index] = True
        self._read_targets(text, by_role.get("target", []))
        self.tells_history = False
        self._assertions: list[Assertion] = [Assertion.AFFIRMED] * count
        self._read_triggers(by_role)

    def _token_range(self, start: int, end: int) -> tuple[int, int]:
        return bisect_right(self._ends, start), bisect_left(self._starts, end)

    def _read_targets(self, text: Text, found: list[tuple[int, int, tuple[object, ...]]]) -> None:
        taken = [False] * len(self._words)
        self._anchor_after: dict[int, tuple[Target, str]] = {}
        self._anchor_before: dict[int, tuple[Target, str]] = {}
        self._anchor_over: dict[int, tuple[Target, str]] = {}
        self._sentence_targets: dict[int, set[Target]] = {}
        self._text_targets: set[Target] = set()
        for first, last, label in found:
            target = label[1]
            if not isinstance(target, Target) or any(taken[first:last]):
                continue
            named = (target, text.text[self._starts[first] : self._ends[last - 1]].lower())
            self._anchor_after[first] = named
            self._anchor_before[last - 1] = named
            for index in range(first, last):
                taken[index] = True
                self._anchor_over[index] = named
            self._sentence_targets.setdefault(self._sentence[first], set()).add(target)
            self._text_targets.add(target)

    def _read_triggers(self, by_role: dict[object, list[tuple[int, int, tuple[object, ...]]]]) -> None:
        count = len(self._words)
        clause_first: dict[int, int] = {}
        clause_last: dict[int, int] = {}
        for index, clause in enumerate(self._clause):
            clause_first.setdefault(clause, index)
            clause_last[clause] = index + 1
        pseudo_at = {first: last for first, last, _ in by_role.get("pseudo", ())}
        # "today" ends the clause before it ("underwent L4-5 ILESI today"), so it puts that clause in the present too.
        present_clauses = {
            clause
            for first, _, _ in by_role.get("present", ())
            for clause in (self._clause[first], self._clause[first] - 1)
        }
        # Scopes are added up as differences, so a long text with many triggers is still read in one pass.
        changes: dict[Assertion, list[int]] = {}
        for first, last, label in by_role.get("trigger", ()):
            _, assertion, scope = label
            if not isinstance(assertion, Assertion) or pseudo_at.get(first, -1) >= last:
                continue
            clause = self._clause[first]
            if assertion is Assertion.HISTORICAL and clause in present_clauses:
                continue
            start, end = clause_first[clause], clause_last[clause]
            spans = {
                _Scope.FORWARD: ((last, end),),
                _Scope.BACKWARD: ((start, first),),
                _Scope.NEAR_BACKWARD: ((max(start, first - _NEAR), first),),
                _Scope.NEAR_BOTH: ((max(start, first - _NEAR), first), (last, min(end, last + _NEAR))),
            }[_Scope(str(scope))]
            change = changes.setdefault(assertion, [0] * (count + 1))
            for scope_first, scope_last in spans:
                if assertion is Assertion.HISTORICAL and self._has_words(scope_first, scope_last):
                    self.tells_history = True
                change[scope_first] += 1
                change[scope_last] -= 1
        for assertion in _PRECEDENCE:
            if assertion not in changes:
                continue
            depth = 0
            for index in range(count):
                depth += changes[assertion][index]
                if depth > 0:
                    self._assertions[index] = assertion

    def _has_words(self, first: int, last: int) -> bool:
        while last > first and self._words[last - 1] in _ENDS:
            last -= 1
        return last > first

    def read(self, start: int, end: int) -> Reading:
        """The reading of the phrase at characters [start, end) of the text."""
        first, last = self._token_range(start, end)
        if first >= last:
            return ABOUT_THE_INJECTION
        assertion = self._assertions[first]
        named = self._named_over(first, last) or self._named_beside(last, 1) or self._named_beside(first - 1, -1)
        if named is not None:
            return Reading(named[0], assertion, True, named[1])
        in_sentence = self._sentence_targets.get(self._sentence[first], set())
        if not in_sentence:
            certain = self._text_targets <= {Target.INJECTION}
            return Reading(Target.INJECTION, assertion, certain, None)
        if Target.INJECTION in in_sentence:
            return Reading(Target.INJECTION, assertion, in_sentence == {Target.INJECTION}, None)
        return Reading(min(in_sentence), assertion, False, None)

    def sentence_of(self, position: int) -> int:
        """The number of the sentence that holds the word at character `position` (or the next word after it)."""
        return self._numbered(self._sentence, position)

    def clause_of(self, position: int) -> int:
        """The number of the clause that holds the word at character `position` (or the next word after it)."""
        return self._numbered(self._clause, position)

    def _numbered(self, numbers: list[int], position: int) -> int:
        index = bisect_right(self._ends, position)
        if index < len(numbers):
            return numbers[index]
        return numbers[-1] + 1 if numbers else 0

    def _named_over(self, first: int, last: int) -> tuple[Target, str] | None:
        return next((named for index in range(first, last) if (named := self._anchor_over.get(index))), None)

    def _named_beside(self, start: int, step: int) -> tuple[Target, str] | None:
        """The thing named nearest the phrase, walking from token `start` one way (`step` 1: after it, -1: before it)
        within the phrase's clause, stepping over parenthesised asides whole, until a stop word or too many words."""
        forward = step > 0
        anchors, reach, aside = (self._anchor_after, _AFTER, "(") if forward else (self._anchor_before, _BEFORE, ")")
        clause = self._clause[start - step]
        counted = skipped = 0
        index = start
        while (
            0 <= index < len(self._words) and counted < reach and skipped < _SKIPPED and self._clause[index] == clause
        ):
            if self._stop_at[index]:
                return None
            named = anchors.get(index)
            if named is not None:
                return named
            if self._passes(index):
                skipped += 1
            else:
                counted += 1
            index = (self._pair.get(index, index) if self._words[index] == aside else index) + step
        return None

    def _passes(self, index: int) -> bool:
        word = self._words[index]
        return word in _TRANSPARENT or _LEVEL_TOKEN.fullmatch(word) is not None
