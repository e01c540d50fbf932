"""`conservative-care-undocumented`: the policy asks for weeks of conservative care before the session, and the record
shows none that began long enough before it.

Evidence: a physical therapy or chiropractic procedure (the coding conventions' codes and words) that happened at least
the required weeks before the session, or a statement such as "6 weeks of physical therapy" in the order or a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from functools import cache

from plugin.policies.schema import ConservativeCare
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.wording import plural


@cache
def _words(phrases: tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"\b(?:{words}|conservative (?:care|therapy|treatment))\b", re.I)


@cache
def _durations(phrases: tuple[str, ...]) -> re.Pattern[str]:
    words = _words(phrases).pattern
    return re.compile(rf"(\d{{1,2}})\s*(weeks?|wks?|months?)\b[^.;\n]{{0,40}}?{words}", re.I)


def _care_words(care: ConservativeCare) -> re.Pattern[str]:
    return _words(tuple(care.phrases))


def _stated_weeks(care: ConservativeCare) -> re.Pattern[str]:
    return _durations(tuple(care.phrases))


def _weeks_stated(texts: list[str], care: ConservativeCare) -> int:
    longest = 0
    for text in texts:
        for match in _stated_weeks(care).finditer(text):
            amount = int(match.group(1))
            longest = max(longest, amount * 4 if match.group(2).lower().startswith("month") else amount)
    return longest


def _started(facts: HookFacts, care: ConservativeCare) -> date | None:
    """The day of the earliest conservative-care procedure on record that happened."""
    days = [
        procedure.performed_on
        for procedure in facts.record.other_procedures
        if procedure.happened
        and procedure.performed_on is not None
        and (any(code in care.codes for code in procedure.codes) or _care_words(care).search(procedure.text))
    ]
    return min(days, default=None)


def _check(sessions: Iterator[Placed], facts: HookFacts, policy: AppliedPolicy) -> Iterator[Finding]:
    care = policy.conventions.conservative_care
    asked = [
        (place, requirement)
        for place in sessions
        if (requirement := place.policy.conservative_care) is not None and place.applies(requirement.phase)
    ]
    # Most policies ask for no conservative care: the history is searched only when a session needs it.
    started = _started(facts, care) if asked else None
    for place, requirement in asked:
        needed_by = place.session.on - timedelta(weeks=requirement.weeks)
        if started is not None and started <= needed_by:
            continue
        texts = [
            *(order.text for order in facts.orders if order.source == place.session.source),
            *(note for injection in facts.record.performed for note in injection.notes),
        ]
        if _weeks_stated(texts, care) >= requirement.weeks:
            continue
        found = (
            f"The earliest conservative care on record began on {started.isoformat()}, less than "
            f"{plural(requirement.weeks, 'week')} before."
            if started is not None
            else "The record shows no physical therapy or chiropractic procedure and no note stating the weeks of care."
        )
        yield Finding(
            rule=RuleId.CONSERVATIVE_CARE_UNDOCUMENTED,
            severity=Severity.WARNING,
            summary=(
                f"No {plural(requirement.weeks, 'week')} of conservative care documented before "
                f"{place.session.on.isoformat()}"
            ),
            detail=(
                f"{policy.named} asks for at least {plural(requirement.weeks, 'week')} of conservative care "
                "(physical therapy, medication, activity change) before the injection, that is care begun by "
                f"{needed_by.isoformat()}. {found} Document the care and its dates, or why it is contraindicated."
                + policy.grounds(requirement.source)
            ),
            subject=place.session.source,
            citing=policy.citing,
            session=place.session.on,
        )


def order_conservative_care(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=False), facts, policy))
