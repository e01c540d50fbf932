"""The pre-submission documentation checklist, judged for each injection performed in the encounter.

Each item of the coding conventions' checklist is judged from the record by the check of the same id; an item
without one (an operator's own addition) cannot be judged from FHIR data and is left to the coder. Words that count
(conservative care, pain scores) are policy data, matched as whole words.

One problem, one card: the diagnosis and imaging items have cards of their own at discharge (`diagnosis-missing`,
`imaging-evidence-missing`, judged by the same tests), so this checklist does not list them again.

Judged from the record: conservative care (an earlier performed Procedure with a conservative-care code or words, or
care words the injection's notes tell as done, read in context like the order's: "no improvement with 6 weeks of PT"
is care that failed and counts, "PT was not tried", "declined PT" and "NSAIDs contraindicated" are not care); drug (a
usedCode, a MedicationAdministration or a drug affirmed in the notes, and no HCPCS code deleted by the date of
service); level (a body site, or levels read firmly, not only mentioned) and approach (read firmly); response
(outcome, complication or follow-up, or a response or complications affirmed in the notes); pain scores (a scale or
reading in the notes, or a 0-10 pain score Observation of the session's day and encounter, with two readings in all or
both before and after words).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import cache

from fhir_mappings.care_history import PainScore
from fhir_mappings.facts import PerformedInjection
from fhir_mappings.intent import done_reader
from plugin.policies.schema import CodingConventions
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts, Rule
from plugin.rules.imaging import discharged_injections
from plugin.rules.wording import plural

Check = Callable[[PerformedInjection, HookFacts, CodingConventions], str | None]
"""What is missing for one checklist item, in a few words; None when the record has it."""


@cache
def _pattern(phrases: tuple[str, ...], *, ignore_case: bool) -> re.Pattern[str]:
    """Whole-word matches of `phrases`; an edge that is punctuation ("/10") needs no word boundary."""
    parts = [
        (r"(?<!\w)" if phrase[:1].isalnum() else "") + re.escape(phrase) + (r"(?!\w)" if phrase[-1:].isalnum() else "")
        for phrase in sorted(phrases, key=len, reverse=True)
    ]
    return re.compile("|".join(parts), re.IGNORECASE if ignore_case else 0)


def _says(phrases: Iterable[str], text: str, *, ignore_case: bool = True) -> bool:
    listed = tuple(phrases)
    return bool(listed) and _pattern(listed, ignore_case=ignore_case).search(text) is not None


def _told_as_done(patterns: Iterable[re.Pattern[str]], text: str) -> bool:
    """Whether one of the phrases is told as done in `text`: "failed 6 weeks of PT", "no improvement with physical
    therapy"; not "PT was not tried", "declined PT" or "no chiropractic care"."""
    found = [match.span() for pattern in patterns for match in pattern.finditer(text)]
    if not found:
        return False
    done = done_reader(text)
    return any(done(start, end) for start, end in found)


def _conservative_care(injection: PerformedInjection, facts: HookFacts, conventions: CodingConventions) -> str | None:
    care = conventions.conservative_care
    words = [
        _pattern(tuple(listed), ignore_case=ignore_case)
        for listed, ignore_case in ((care.phrases, True), (care.medications, True), (care.abbreviations, False))
        if listed
    ]

    earlier = [
        other
        for other in facts.record.other_procedures
        if other.happened and other.performed_on is not None and other.performed_on < injection.performed_on
    ]
    if any(code in care.codes for other in earlier for code in other.codes):
        return None
    if any(_told_as_done(words, text) for text in (*(other.text for other in earlier), *injection.notes)):
        return None
    return (
        f"no conservative care (physical therapy, medication, chiropractic) before "
        f"{injection.performed_on.isoformat()} on record or told as done in the procedure note (care not tried, "
        "declined or contraindicated does not count)"
    )


def _drug(injection: PerformedInjection, facts: HookFacts, conventions: CodingConventions) -> str | None:
    recorded = injection.drug_codes or injection.documented.drug
    problems = [] if recorded else ["no drug recorded as used in the procedure"]
    given = {code for drug in injection.administered for code in drug.codes}
    problems.extend(
        f"{deleted.code} was deleted on {deleted.deleted_on.isoformat()}: report {' or '.join(deleted.replaced_by)}"
        for deleted in conventions.deleted_drug_codes
        if deleted.code in {*injection.drug_codes, *given} and injection.performed_on >= deleted.deleted_on
    )
    return "; ".join(problems) or None


def _level_approach(injection: PerformedInjection, facts: HookFacts, conventions: CodingConventions) -> str | None:
    intent, missing = injection.intent, []
    if not (intent.levels and intent.supports_fix("levels")) and not injection.has_body_site:
        missing.append("no spinal level")
    if intent.approach is None or not intent.supports_fix("approach"):
        missing.append("no approach (interlaminar, caudal or transforaminal)")
    return " and ".join(missing) + " in the record" if missing else None


def _response(injection: PerformedInjection, facts: HookFacts, conventions: CodingConventions) -> str | None:
    if injection.has_outcome or injection.has_complication_record or injection.has_follow_up:
        return None
    if injection.documented.response or injection.documented.complications:
        return None
    return "no outcome, complication or follow-up recorded"


def _pain_scores(injection: PerformedInjection, facts: HookFacts, conventions: CodingConventions) -> str | None:
    vocabulary = conventions.pain_scores
    text = " ".join(injection.notes)
    charted = _scores_of_the_session(injection, facts.care.pain_scores)
    readings = len(_pattern(tuple(vocabulary.readings), ignore_case=True).findall(text)) + len(charted)
    if not readings and not _says(vocabulary.scales, text):
        if facts.care.pain_scores_known:
            return "no pain or function score in the notes or among the pain scores recorded that day"
        return "no pain or function score in the notes (the recorded pain scores could not be checked)"
    # Two readings of the session are its before and after: the 0-10 scores share one scale, and a note's readings
    # are taken the same way.
    if readings >= 2 or (_says(vocabulary.before, text) and _says(vocabulary.after, text)):
        return None
    return "a score is noted, but not both before and after the injection"


def _scores_of_the_session(injection: PerformedInjection, scores: Iterable[PainScore]) -> list[PainScore]:
    """The 0-10 pain scores recorded on the injection's day, in its encounter (or where either names none): the
    clinic's charted pre- and post-procedure scores, structured evidence of the same item as the note's words."""
    return [
        score
        for score in scores
        if score.on == injection.performed_on
        and (score.encounter is None or injection.encounter is None or score.encounter == injection.encounter)
    ]


_CHECKS: dict[str, Check] = {
    "conservative-care": _conservative_care,
    "drug": _drug,
    "level-approach": _level_approach,
    "response": _response,
    "pain-scores": _pain_scores,
}


def _item_citation(item: str, conventions: CodingConventions) -> str | None:
    """The source of the words an item is judged by, for the items judged by vocabulary."""
    if item == "conservative-care":
        return conventions.conservative_care.citation
    if item == "pain-scores":
        return conventions.pain_scores.citation
    return None


def documentation_incomplete(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """One finding per performed injection, listing every checklist item the record lacks."""
    conventions = policy.conventions
    for injection in discharged_injections(facts):
        flagged = [
            (item, problem)
            for item in conventions.documentation_checklist
            if (check := _CHECKS.get(item.id)) is not None and (problem := check(injection, facts, conventions))
        ]
        if not flagged:
            continue
        missing = [f"- **{item.label}**: {problem}" for item, problem in flagged]
        sources = [conventions.documentation_citation]
        sources.extend(cited for item, _ in flagged if (cited := _item_citation(item.id, conventions)) is not None)
        performed_on = injection.performed_on.isoformat()
        yield Finding(
            rule=RuleId.DOCUMENTATION_INCOMPLETE,
            severity=Severity.WARNING,
            summary=f"{injection.code} on {performed_on}: {plural(len(missing), 'documentation item')} missing "
            "before billing",
            detail=(
                f"Before the claim for {injection.code} on {performed_on} goes out, document:\n"
                + "\n".join(missing)
                + "".join(f"\n\n{source}." for source in sources)
            ),
            subject=injection.source,
            citing=policy.conventions_citing,
        )


ORDER_SELECT_RULES: tuple[Rule, ...] = ()
ORDER_SIGN_RULES: tuple[Rule, ...] = ()
DISCHARGE_RULES: tuple[Rule, ...] = (documentation_incomplete,)
