"""The relief after an injection as a note or an order states it, for the payers' repeat criteria: "reports 70% relief
lasting 8 weeks", "pain reduced by 75% for 3 months", "leg pain decreased from 8/10 to 2/10 and stayed there for 4
months".

An amount is a percentage beside a relief word (`data/relief_vocabulary.yaml`), or a 0-10 score before and after
("from 8/10 to 2/10"), from which the percentage is worked out. It counts when the note tells it as had, now or in the
past, read in context (`fhir_mappings/context.py`): a negation or a hedge reaches only the clause that holds it, so
"denies new weakness and reports 70% relief" states the relief, and "no 50% relief", "denies 70% relief", "will
repeat if 50% relief" do not. An upper bound ("less than 30% relief") states no amount.

How long the relief lasted is the first duration after the amount in its sentence ("80% relief, which has lasted 10
weeks"; not the "2 week" of "at her 2 week follow-up" before it), else the last one before it in its clause ("8 weeks
of 70% relief"). A duration given as an upper bound ("for less than 2 weeks") or as when something happens ("follow up
in 2 weeks", "within a week") states no length.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mappings.context import Assertion, Context
from fhir_mappings.facts import Fact
from fhir_mappings.phrases import Text

# The same bound as the injection reader's: real notes are a few thousand characters.
_LONGEST_READ = 32_768
_NUMBER = r"\d{1,3}(?:\.\d+)?"


def _below(tag: str) -> str:
    """An upper bound before a number: an amount said to be below one is none ("less than 60% relief" may be 10%)."""
    return rf"(?P<below{tag}>(?:less|fewer)\s+than\s+|under\s+|below\s+|<\s*)?"


def _percent(tag: str) -> str:
    """A percentage, the lower bound of a range ("50-60%"), named by `tag` as a pattern may hold two."""
    return rf"{_below(tag)}(?P<percent{tag}>{_NUMBER})(?:\s*(?:-|–|to)\s*{_NUMBER})?\s*(?:%|per\s?cent\b)"


# What may stand between a percentage and the relief word after it: "70% leg pain relief", "80% overall improvement".
_WORDS_BETWEEN = r"(?:[a-z]+\s+){0,2}?"
# What may stand between a relief word and the percentage after it: "reduced by 75%", "improvement in leg pain of 60%".
_GLUE = (
    r"(?:\s+in(?:\s+(?:her|his|their|the))?(?:\s+[a-z]+)?\s+(?:pain|symptoms))?"
    r"(?:\s+(?:by|of|about|approximately|approx\.?|around|roughly|nearly|almost|at\s+least|over|more\s+than|"
    r"greater\s+than|>|~))*\s*"
)
_SCORE = r"(?:10|\d(?:\.\d)?)"
# A 0-10 score before and after: "from 8/10 to 2/10", "8/10 -> 3/10", "from 8 to 2/10"; one of the two says "/10"
# (a date "9/10 to 10/15" is not a pair: a score is not followed by another slash).
_PAIR = re.compile(
    rf"(?<![\w/.])(?:from\s+)?(?P<before>{_SCORE})(?P<scale>\s*/\s*10)?\s*(?:to|->|→|-->|down\s+to)\s*"
    rf"(?P<after>{_SCORE})(?P<scale_after>\s*/\s*10)?(?![\w/]|\.\d)",
    re.IGNORECASE,
)
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNTS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_COUNT = rf"(?:{_NUMBER}|{'|'.join(_COUNTS)})"
# A length after "in" or "within" is when something happens ("follow up in 2 weeks", "pain back within a week"), not
# how long relief lasted; "x8 weeks" is a length.
_DURATION = re.compile(
    rf"(?P<when>\b(?:in|within)\s+)?(?:(?<=\bx)|(?<![\w.])){_below('')}"
    rf"(?P<count>{_COUNT})(?:\s*(?:-|–|to)\s*{_COUNT})?[\s-]*"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|mos?)\b",
    re.IGNORECASE,
)
# Minutes and hours are read so that "80% relief at 15 minutes" takes them, not a later length of something else.
_WEEKS_IN = {"mi": 1 / 10_080, "h": 1 / 168, "d": 1 / 7, "w": 1.0, "mo": 52 / 12}


class StatedRelief(Fact, frozen=True):
    """Relief told as had: `percent` less pain, stated or worked out from the scores before and after; `weeks` how long
    it lasted, None when the sentence does not say (or says only that it was shorter than a length)."""

    percent: float
    weeks: float | None


@cache
def _amounts() -> re.Pattern[str]:
    text = resources.files("fhir_mappings.data").joinpath("relief_vocabulary.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    words = "|".join(re.escape(word) for word in sorted(data["relief"], key=len, reverse=True))
    after = rf"(?<![\w.]){_percent('')}\s*{_WORDS_BETWEEN}(?:{words})\b"
    before = rf"\b(?:{words}){_GLUE}{_percent('2')}"
    return re.compile(rf"{after}|{before}", re.IGNORECASE)


def _weeks(match: re.Match[str]) -> float | None:
    if match.group("below") or match.group("when"):
        return None
    count, unit = match.group("count").lower(), match.group("unit").lower()
    amount = _COUNTS[count] if count in _COUNTS else float(count)
    return amount * next(weeks for prefix, weeks in _WEEKS_IN.items() if unit.startswith(prefix))


def _found(text: str) -> list[tuple[int, int, float]]:
    """Each amount of relief in `text`: where it is and its percentage."""
    found: list[tuple[int, int, float]] = []
    for match in _amounts().finditer(text):
        below = match.group("below") or match.group("below2")
        percent = float(match.group("percent") or match.group("percent2"))
        if not below and percent <= 100:
            found.append((match.start(), match.end(), percent))
    for match in _PAIR.finditer(text):
        if not (match.group("scale") or match.group("scale_after")):
            continue
        before, after = float(match.group("before")), float(match.group("after"))
        if before > 0:
            found.append((match.start(), match.end(), (before - after) / before * 100))
    return found


def read_stated_relief(words: str) -> tuple[StatedRelief, ...]:
    """Each amount of relief `words` tells as had (see the module's docstring), with how long it lasted."""
    text = words[:_LONGEST_READ]
    found = _found(text)
    if not found:
        return ()
    context = Context(Text(text))
    # finditer's matches do not overlap, so their starts and ends are both in order, as are sentences and clauses: the
    # nearest duration on each side is the only one that can be in the amount's sentence or clause.
    durations = list(_DURATION.finditer(text))
    starts = [match.start() for match in durations]
    ends = [match.end() for match in durations]
    stated: list[StatedRelief] = []
    for start, end, percent in sorted(found):
        if context.read(start, end).assertion not in (Assertion.AFFIRMED, Assertion.HISTORICAL):
            continue
        after = bisect_left(starts, end)
        before = bisect_right(ends, start) - 1
        if after < len(durations) and context.sentence_of(starts[after]) == context.sentence_of(start):
            lasting: re.Match[str] | None = durations[after]
        elif before >= 0 and context.clause_of(starts[before]) == context.clause_of(start):
            lasting = durations[before]
        else:
            lasting = None
        stated.append(StatedRelief(percent=percent, weeks=_weeks(lasting) if lasting else None))
    return tuple(stated)
