"""`repeat-criteria-unmet`: a repeat session without the documented response to the last one that the policy asks for.

The response is read from 0-10 pain scores (the pain before the previous session, against a score taken at least the
required weeks after it) or from a statement told as had, such as "60% relief for 8 weeks" or "pain decreased from 8/10
to 2/10 for 4 months", in the order or in a note of a session of the episode (`fhir_mappings.relief`). A statement is
words, not a measurement: a card never rests on one being absent alone when scores could not be read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from fhir_mappings.care_history import PainScore, in_time_order
from fhir_mappings.dates import earlier
from fhir_mappings.relief import read_stated_relief
from fhir_mappings.spine import SpinalRegion, injection_codes
from plugin.policies.schema import RepeatCriteria
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts


def _stated(texts: Iterable[str], criteria: RepeatCriteria) -> bool:
    """A statement of at least the relief asked for, lasting at least the weeks asked for."""
    return any(
        relief.percent >= criteria.relief_percent and relief.weeks is not None and relief.weeks >= criteria.weeks
        for text in texts
        for relief in read_stated_relief(text)
    )


def _began(facts: HookFacts, day: date, region: SpinalRegion | None) -> datetime | None:
    """When the session of `day` began, where the record gives the time: its earliest injection of the region that
    day (several lines, or both sides, are one session)."""
    table = injection_codes()
    began: datetime | None = None
    for injection in facts.record.performed:
        at = injection.performed_at
        if at is None or injection.performed_on != day or not injection.counts_as_performed:
            continue
        entry = table.get(injection.code)
        if region is not None and entry is not None and entry.region not in (None, region):
            continue  # an injection of another region that day says nothing of when this session began
        if began is None or earlier(at, began):
            began = at
    return began


def _baseline(ordered: list[PainScore], previous: date, began: datetime | None) -> PainScore | None:
    """The pain before the previous session. On its day, a score taken after the injection is the immediate
    post-procedure score, the anaesthetic's effect and not the patient's pain, so it is never the baseline: the last
    score before the injection's time when both times are known, else the day's first score; with none that day, the
    last score before it."""
    day = [score for score in ordered if score.on == previous]
    if began is not None:
        before = [score for score in day if score.at is not None and earlier(score.at, began)]
        if before:
            return before[-1]
        day = [score for score in day if score.at is None]
    if day:
        return day[0]
    return next((score for score in reversed(ordered) if score.on < previous), None)


def _relief(
    scores: Iterable[PainScore], previous: date, began: datetime | None, before: date, criteria: RepeatCriteria
) -> str | None:
    """The measured response, in words, when it meets the criteria; None when the scores do not show it."""
    ordered = in_time_order(scores)
    baseline = _baseline(ordered, previous, began)
    if baseline is None or baseline.value <= 0:
        return None
    # At least a week after the session (the schema's least `weeks`), so a same-day post-procedure score never counts.
    sustained = previous + timedelta(weeks=criteria.weeks)
    for score in ordered:
        if sustained <= score.on < before:
            relief = (baseline.value - score.value) / baseline.value * 100
            if relief >= criteria.relief_percent:
                return f"{relief:.0f}% relief on {score.on.isoformat()}"
    return None


def _check(sessions: Iterable[Placed], facts: HookFacts, policy: AppliedPolicy) -> Iterator[Finding]:
    care = facts.care
    for place in sessions:
        criteria = place.policy.repeat
        previous = place.previous
        if criteria is None or place.phase != "repeat" or previous is None:
            continue
        notes = [
            note
            for injection in facts.record.performed
            if injection.performed_on >= place.earlier[0]
            for note in injection.notes
        ]
        texts = [*notes, *(order.text for order in facts.orders if order.source == place.session.source)]
        if _stated(texts, criteria):
            continue
        if not care.pain_scores_known:
            continue  # the data-incomplete card says the scores could not be read
        began = _began(facts, previous, place.region)
        if _relief(care.pain_scores, previous, began, place.session.on, criteria) is not None:
            continue
        sustained = previous + timedelta(weeks=criteria.weeks)
        yield Finding(
            rule=RuleId.REPEAT_CRITERIA_UNMET,
            severity=Severity.WARNING,
            summary=(
                f"Repeat injection: no documented {criteria.relief_percent}% relief for {criteria.weeks} weeks "
                f"after {previous.isoformat()}"
            ),
            detail=(
                f"{policy.named} covers a repeat injection only after a documented response to the last one: at "
                f"least {criteria.relief_percent}% relief lasting at least {criteria.weeks} weeks. The last session "
                f"was on {previous.isoformat()}; the record holds neither a 0-10 pain score taken before it with one "
                f"on or after {sustained.isoformat()} showing that relief, nor a note stating it. Record the pain "
                f"scores (LOINC 72514-3) or the response in the note before ordering." + policy.grounds(criteria.source)
            ),
            subject=place.session.source,
            citing=policy.citing,
            session=place.session.on,
        )


def order_repeat_criteria(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=False), facts, policy))


def booking_repeat_criteria(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=True), facts, policy))
