"""`conservative-care-undocumented`: the policy asks for weeks of conservative care before the session, and the record
shows none that began long enough before it.

Evidence, of the kinds the policy accepts (`kinds`: therapy, medication): a physical therapy or chiropractic procedure
or visit (Procedure, Encounter: the coding conventions' codes and words), a drug ordered or taken (MedicationRequest,
MedicationStatement: NSAIDs, muscle relaxants, gabapentinoids by RxNorm ingredient or name), that began at least the
required weeks before the session; or a statement such as "failed 6 weeks of physical therapy" in the order or a
note, told as done (not denied or hedged). When visits or drugs could not be read and nothing else shows the care, the
check is skipped and the `data-incomplete` card says so: no card of the criterion rests on missing data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from functools import cache

from fhir_mappings.icd10cm import normalize
from fhir_mappings.intent import done_reader
from plugin.policies.schema import CareKind, ConservativeCare
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.wording import plural

_GENERIC = "conservative (?:care|therapy|treatment)"


@cache
def _words(phrases: tuple[str, ...], abbreviations: tuple[str, ...], *, generic: bool) -> re.Pattern[str]:
    """Phrases in any case, abbreviations exactly as written ("PT", never "pt", the patient)."""
    folded = [re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True)]
    if generic:
        folded.append(_GENERIC)
    exact = [re.escape(word) for word in sorted(abbreviations, key=len, reverse=True)]
    if not folded and not exact:
        return re.compile(r"(?!)")  # nothing the policy accepts is named in words
    either = [f"(?i:{'|'.join(folded)})"] if folded else []
    return re.compile(rf"\b(?:{'|'.join(either + exact)})\b")


# A duration is read beside its care word, on either side ("6 weeks of PT", "PT x 8 weeks", "physical therapy 2x/week
# for 6 weeks"), within one clause: in "PT, MRI 6 weeks ago" the weeks are the MRI's. Not compiled ignoring case: the
# abbreviations in the care words must keep theirs.
_AMOUNT = r"(?<![\d.])(?P<amount>\d{1,2})\s*(?P<unit>(?i:weeks?|wks?|months?))\b"
_GAP = r"[^.;,\n]{0,40}?"


@cache
def _durations(words: re.Pattern[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    care = f"(?P<care>{words.pattern})"
    return re.compile(_AMOUNT + _GAP + care), re.compile(care + _GAP + _AMOUNT)


def _care_words(care: ConservativeCare, allowed: frozenset[CareKind]) -> re.Pattern[str]:
    phrases = [*care.phrases] if "therapy" in allowed else []
    abbreviations = [*care.abbreviations] if "therapy" in allowed else []
    if "medication" in allowed:
        phrases.extend(care.medications)
    return _words(tuple(phrases), tuple(abbreviations), generic=allowed == _BOTH)


def _weeks_stated(texts: list[str], words: re.Pattern[str]) -> int:
    """The longest duration of care a text tells as done. The care and its duration are each read in context: the care
    may be denied ("declined PT for 6 weeks") or the duration hedged ("PT for 6 weeks if needed"), while a failed
    outcome negates neither ("no improvement with 6 weeks of PT")."""
    longest = 0
    for text in texts:
        stated = [match for pattern in _durations(words) for match in pattern.finditer(text)]
        if not stated:
            continue
        done = done_reader(text)
        for match in stated:
            if done(*match.span("care")) and done(match.start("amount"), match.end("unit")):
                amount = int(match.group("amount"))
                longest = max(longest, amount * 4 if match.group("unit").lower().startswith("month") else amount)
    return longest


def _started(facts: HookFacts, care: ConservativeCare, kinds: frozenset[CareKind]) -> date | None:
    """The day the earliest conservative care on record of the accepted kinds began."""
    words = _care_words(care, kinds)
    therapy = "therapy" in kinds
    days = [
        procedure.performed_on
        for procedure in facts.record.other_procedures
        if therapy
        and procedure.happened
        and procedure.performed_on is not None
        and (any(code in care.codes for code in procedure.codes) or words.search(procedure.text))
    ]
    for event in facts.care.care_events:
        codes = care.codes if event.kind == "encounter" else care.medication_codes
        kind: CareKind = "therapy" if event.kind == "encounter" else "medication"
        if kind in kinds and (not event.codes.isdisjoint(codes) or words.search(event.text)):
            days.append(event.started)
    return min(days, default=None)


def _check(sessions: Iterable[Placed], facts: HookFacts, policy: AppliedPolicy) -> Iterator[Finding]:
    care = policy.conventions.conservative_care
    asked = [
        (place, requirement)
        for place in sessions
        if (requirement := place.policy.conservative_care) is not None and place.applies(requirement.phase)
    ]
    # Most policies ask for no conservative care: the history is searched only when a session needs it, once for
    # each set of kinds of care asked.
    starts: dict[frozenset[CareKind], date | None] = {}
    for place, requirement in asked:
        weeks, source = requirement.weeks, requirement.source
        if requirement.shorter is not None and _diagnosed(facts, place, requirement.shorter.diagnoses):
            weeks, source = requirement.shorter.weeks, requirement.shorter.source
        if weeks == 0:
            continue
        kinds = frozenset(requirement.kinds)
        if kinds not in starts:
            starts[kinds] = _started(facts, care, kinds)
        started = starts[kinds]
        needed_by = place.session.on - timedelta(weeks=weeks)
        if started is not None and started <= needed_by:
            continue
        texts = [
            *(order.text for order in facts.orders if order.source == place.session.source),
            *(note for injection in facts.record.performed for note in injection.notes),
        ]
        if _weeks_stated(texts, _care_words(care, kinds)) >= weeks:
            continue
        if not facts.care.care_events_known:
            continue  # the data-incomplete card says the visits or drugs could not be read
        what = "physical therapy" if kinds == _THERAPY else "conservative care"
        found = (
            f"The earliest {what} on record began on {started.isoformat()}, less than {plural(weeks, 'week')} before."
            if started is not None
            else f"The record shows no {_EVIDENCE[kinds]} and no note stating the weeks of care."
        )
        yield Finding(
            rule=RuleId.CONSERVATIVE_CARE_UNDOCUMENTED,
            severity=Severity.WARNING,
            summary=(f"No {plural(weeks, 'week')} of {what} documented before {place.session.on.isoformat()}"),
            detail=(
                f"{policy.named} asks for at least {plural(weeks, 'week')} of {_ASKED[kinds]} before the "
                f"injection, that is care begun by {needed_by.isoformat()}. {found} Document the care and its dates, "
                "or why it is contraindicated." + policy.grounds(source)
            ),
            subject=place.session.source,
            citing=policy.citing,
            session=place.session.on,
        )


def _diagnosed(facts: HookFacts, place: Placed, listed: Iterable[str]) -> bool:
    """Whether the order names one of `listed` (codes and prefixes) as its reason, coded on it or in a Condition it
    cites that is not ruled out or uncertain."""
    prefixes = tuple(normalize(code) for code in listed)
    for order in facts.orders:
        if order.source != place.session.source:
            continue
        cited = {d.code for d in facts.record.diagnoses if d.source in order.reason_references and d.confirmed}
        if any(code.startswith(prefixes) for code in (*order.reason_codes, *cited)):
            return True
    return False


_BOTH: frozenset[CareKind] = frozenset({"therapy", "medication"})
_THERAPY: frozenset[CareKind] = frozenset({"therapy"})
_ASKED: dict[frozenset[CareKind], str] = {
    _BOTH: "conservative care (physical therapy, medication, activity change)",
    _THERAPY: "physical therapy",
    frozenset({"medication"}): "medication",
}
_EVIDENCE: dict[frozenset[CareKind], str] = {
    _BOTH: "physical therapy or chiropractic procedure or visit and no NSAID, muscle relaxant or gabapentinoid "
    "ordered or taken",
    _THERAPY: "physical therapy or chiropractic procedure or visit",
    frozenset({"medication"}): "NSAID, muscle relaxant or gabapentinoid ordered or taken",
}


def order_conservative_care(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=False), facts, policy))
