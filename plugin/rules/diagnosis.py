"""Diagnosis checks: is each injection's ICD-10-CM reason present, valid, specific, consistent and covered?

The subjects are the draft injection orders (order-select, order-sign) and the injections performed in the encounter
(encounter-discharge). A subject's diagnoses are its reason codes plus the codes of the record's Conditions it
references, judged on its date of service: the order's requested date (today when it has none) or the day performed.
A subject's region is the one its record firmly states (`code_choice.stated`), else its code's: when the two disagree
the code is what is wrong (`code-region-mismatch` says so), not a diagnosis that fits the region injected.
Alternatives are offered from the ICD-10-CM table and from active, confirmed Conditions on record; when the
Conditions could not be read, only the subject's own codes are checked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from fhir_mappings import icd10cm
from fhir_mappings.facts import Diagnosis, StatedIntent
from fhir_mappings.icd10cm import Icd10Cm, SpinalRegionHint, normalize
from fhir_mappings.spine import SpinalRegion, injection_codes
from plugin.policies.schema import DiagnosisCoverage
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.code_choice import stated
from plugin.rules.findings import Citing, Finding, RuleId, SetReason, Severity
from plugin.rules.hook_facts import HookFacts, Rule

# A performed injection in these states is never billed, so its diagnoses do not matter.
_NOT_BILLED = frozenset({"not-done", "entered-in-error"})


@dataclass(frozen=True, slots=True)
class _Subject:
    """An injection whose diagnoses are judged: a draft order, or one performed in the encounter."""

    source: str
    code: str | None
    procedure_codes: frozenset[str]  # its own and its companions' codes, for procedure exemptions (78630)
    region: SpinalRegion | None
    on: date
    reason_codes: tuple[str, ...]
    reason_references: tuple[str, ...]
    pump_trial: bool
    draft: bool  # a draft order, which a card's suggestion can change

    @property
    def label(self) -> str:
        what = self.code or "injection"
        return f"the {what} order" if self.draft else f"the performed {what}"


@dataclass(frozen=True, slots=True)
class _Reasons:
    codes: tuple[str, ...]  # the subject's own codes, then those of the Conditions it references
    conditions: Mapping[str, Diagnosis]  # code → the referenced Condition it came from
    unresolved: bool  # a reference names no Condition on record, so the codes may be incomplete
    refuted: tuple[Diagnosis, ...] = ()  # referenced Conditions ruled out on record: reasons for nothing


@dataclass(frozen=True, slots=True)
class _Context:
    icd: Icd10Cm
    policy: AppliedPolicy
    conditions: tuple[Diagnosis, ...]  # every Condition on record; () when they could not be read
    nonspecific: frozenset[str]
    usable: tuple[Diagnosis, ...]  # the Conditions a suggestion may rest on: active and confirmed

    @property
    def citing(self) -> Citing:
        """The coding conventions, linked to the ICD-10-CM guidelines rather than to their first source."""
        conventions = self.policy.conventions
        link = conventions.diagnosis.link
        return Citing(conventions.id, conventions.version, link.title, str(link.url))

    def named(self, code: str) -> str:
        return f"{code} {self.title(code)}".rstrip()

    def title(self, code: str, fallback: str | None = None) -> str:
        entry = self.icd.lookup(code)
        return entry.title if entry is not None else fallback or ""

    def is_valid(self, code: str, on: date) -> bool:
        return self.icd.validity_on(code, on).valid

    def supports(self, code: str, subject: _Subject) -> bool:
        """A valid, specific diagnosis of the subject's region that the payer's covered list accepts, or (when the
        payer has none for the code) one of the covered indications of the coding conventions."""
        if not self.is_valid(code, subject.on) or code in self.nonspecific:
            return False
        region = self.icd.spinal_region(code)
        if not _fits(region, subject.region):
            return False
        coverage = _coverage_for(self.policy, subject)
        # Without a list of the payer's own, the LCDs' covered indications stand in: spondylosis without
        # radiculopathy is a spinal diagnosis of the region, but it does not make an ESI necessary (reference §4).
        return _listed(code, coverage.covered if coverage is not None else self.policy.conventions.indications)

    def supporting(self, subject: _Subject, besides: Collection[str]) -> list[Diagnosis]:
        """Usable Conditions on record that support the subject and are not among `besides`, one per code."""
        found: dict[str, Diagnosis] = {}
        for diagnosis in self.usable:
            if diagnosis.code not in besides and diagnosis.code not in found and self.supports(diagnosis.code, subject):
                found[diagnosis.code] = diagnosis
        return list(found.values())


def _context(facts: HookFacts, policy: AppliedPolicy) -> _Context:
    """What every diagnosis rule of the call judges by, worked out once for them all."""
    return facts.derived("diagnosis-context", (policy,), lambda: _new_context(facts, policy))


def _new_context(facts: HookFacts, policy: AppliedPolicy) -> _Context:
    conditions = facts.record.diagnoses if facts.conditions_known else ()
    return _Context(
        icd=icd10cm.load(),
        policy=policy,
        conditions=conditions,
        nonspecific=frozenset(normalize(code) for code in policy.conventions.nonspecific_diagnoses),
        usable=tuple(diagnosis for diagnosis in conditions if diagnosis.active and diagnosis.confirmed),
    )


def _subjects(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> tuple[_Subject, ...]:
    """The call's subjects, the same for every diagnosis rule, so read from the facts once."""
    return facts.derived("diagnosis-subjects", (policy, as_of), lambda: _new_subjects(facts, policy, as_of))


def _new_subjects(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> tuple[_Subject, ...]:
    companion_codes = frozenset(code for companion in facts.companions for code in companion.codes)
    subjects = [
        _Subject(
            source=order.source,
            code=order.code,
            procedure_codes=frozenset(order.codes) | companion_codes,
            region=_region(order.code, order.intent, policy),
            on=order.occurrence or as_of,
            reason_codes=order.reason_codes,
            reason_references=order.reason_references,
            pump_trial=order.intent.pump_trial,
            draft=True,
        )
        for order in facts.orders
    ]
    counted = policy.payer.frequency.counted_codes
    for injection in facts.performed_here:
        if injection.status in _NOT_BILLED or (
            injection_codes().get(injection.code) is None and injection.code not in counted
        ):
            continue
        alongside = frozenset(
            code
            for other in facts.record.other_procedures
            if injection.encounter is not None
            and other.encounter == injection.encounter
            and other.status not in _NOT_BILLED
            for code in other.codes
        )
        subjects.append(
            _Subject(
                source=injection.source,
                code=injection.code,
                procedure_codes=alongside | {injection.code},
                region=_region(injection.code, injection.intent, policy),
                on=injection.performed_on,
                reason_codes=injection.reason_codes,
                reason_references=injection.reason_references,
                pump_trial=injection.intent.pump_trial,
                draft=False,
            )
        )
    return tuple(subjects)


def _region(code: str | None, intent: StatedIntent, policy: AppliedPolicy) -> SpinalRegion | None:
    """The one region the record firmly states, else the code's."""
    said = stated(intent, policy.conventions).region
    entry = injection_codes().get(code)
    return said or (entry.region if entry is not None else None)


def _reasons(subject: _Subject, context: _Context) -> _Reasons:
    conditions: dict[str, Diagnosis] = {}
    refuted: list[Diagnosis] = []
    unresolved = False
    for reference in subject.reason_references:
        condition = _condition_named(reference, context.conditions)
        if condition is None:
            unresolved = True
        elif condition.refuted:
            refuted.append(condition)
        else:
            conditions.setdefault(condition.code, condition)
    codes = tuple(dict.fromkeys([*subject.reason_codes, *conditions]))
    return _Reasons(codes, conditions, unresolved, tuple(refuted))


def _condition_named(reference: str, conditions: Iterable[Diagnosis]) -> Diagnosis | None:
    """The Condition a reference names (the readers give every reference as `Type/id`)."""
    return next((condition for condition in conditions if condition.source == reference), None)


def _fits(hint: SpinalRegionHint | None, region: SpinalRegion | None) -> bool:
    return hint is None or region is None or hint.includes(region.value)


def _same_region(a: SpinalRegionHint | None, b: SpinalRegionHint | None) -> bool:
    return a is None or b is None or a.includes(b.value) or b.includes(a.value)


def _listed(code: str, prefixes: Iterable[str]) -> bool:
    """Policy lists hold dotted codes and code prefixes ("M47.2" covers M47.20-M47.28)."""
    return any(code.startswith(normalize(prefix)) for prefix in prefixes)


def _coverage_for(policy: AppliedPolicy, subject: _Subject) -> DiagnosisCoverage | None:
    """The payer's diagnosis list, when it has one for the subject's code."""
    coverage = policy.payer.diagnoses
    if coverage is None or subject.code not in policy.payer.frequency.counted_codes:
        return None
    return coverage


def _proposals(
    subject: _Subject,
    context: _Context,
    codes: Sequence[str],
    on_record: Iterable[Diagnosis] = (),
    replaces: str | None = None,
) -> tuple[SetReason, ...]:
    """One SetReason per code: Conditions on record first (referenced), then `codes`; a handful at most."""
    if not subject.draft:
        return ()
    fixes: dict[str, SetReason] = {}
    for diagnosis in on_record:
        display = context.title(diagnosis.code, diagnosis.display)
        fixes.setdefault(diagnosis.code, SetReason(subject.source, diagnosis.code, display, diagnosis.source, replaces))
    for code in codes:
        fixes.setdefault(code, SetReason(subject.source, code, context.title(code), replaces=replaces))
    return tuple(fixes.values())[: context.policy.conventions.diagnosis.max_suggestions]


def _offer(context: _Context, codes: Iterable[str]) -> str:
    return "; ".join(f"**{context.named(code)}**" for code in codes)


def _finding(
    rule: RuleId,
    summary: str,
    detail: str,
    subject: _Subject,
    citing: Citing,
    fixes: tuple[SetReason, ...] = (),
    reasons: _Reasons | None = None,
) -> Finding:
    """A diagnosis finding; the Conditions its codes came from are named on the card's technical line."""
    conditions = tuple(dict.fromkeys(c.source for c in reasons.conditions.values())) if reasons else ()
    return Finding(rule, Severity.WARNING, summary, detail, subject.source, citing, fixes, references=conditions)


# --- the rules ----------------------------------------------------------------------------------------------------


def diagnosis_missing(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """No reason code and no reason reference: nothing on the claim line says why the injection was done."""
    findings: list[Finding] = []
    context = _context(facts, policy)
    for subject in _subjects(facts, policy, as_of):
        reasons = _reasons(subject, context)
        if reasons.codes or reasons.unresolved:
            continue
        supporting = context.supporting(subject, besides=())
        if supporting:
            found = f"On record: {_offer(context, (d.code for d in supporting))}."
        elif facts.conditions_known:
            found = "No supporting diagnosis was found on record."
        else:
            found = "The patient's Conditions could not be read, so none is suggested."
        if reasons.refuted:
            ruled_out = reasons.refuted[0]
            summary = f"The diagnosis of {subject.label}, {ruled_out.code}, is ruled out on record"
            names = f"{subject.label.capitalize()} names only ruled-out diagnoses: " + "; ".join(
                f"**{context.named(d.code)}** ({d.source}, verification status refuted)" for d in reasons.refuted
            )
            what = f"{names}."
        else:
            summary = f"No diagnosis on {subject.label}: add the ICD-10-CM diagnosis it treats"
            what = f"{subject.label.capitalize()} names no diagnosis."
        findings.append(
            _finding(
                RuleId.DIAGNOSIS_MISSING,
                summary,
                f"{what} {found}\n\n{policy.conventions.diagnosis.required_citation}.",
                subject,
                context.citing,
                _proposals(subject, context, (), supporting),
                reasons,
            )
        )
    return findings


def diagnosis_invalid(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """A code that is not billable on the date of service: unknown, a header, deleted, or not yet in force."""
    findings: list[Finding] = []
    context = _context(facts, policy)
    icd = context.icd
    for subject in _subjects(facts, policy, as_of):
        reasons = _reasons(subject, context)
        for code in reasons.codes:
            validity = icd.validity_on(code, subject.on)
            if validity.valid:
                continue
            successors = _successors(context, code, validity.replacements, subject)
            on_record = [d for d in context.usable if d.code in successors]
            on_record.sort(key=lambda diagnosis: successors.index(diagnosis.code))
            use = f" Code instead: {_offer(context, successors)}." if successors else ""
            stale = (
                f"\n\nJudged by the ICD-10-CM {icd.release} release (in force until {icd.valid_through.isoformat()}); "
                f"check the release in force on {subject.on.isoformat()}."
                if subject.on > icd.valid_through
                else ""
            )
            findings.append(
                _finding(
                    RuleId.DIAGNOSIS_INVALID,
                    f"{code} is not a valid ICD-10-CM code on {subject.on.isoformat()} ({validity.reason})",
                    f"**{context.named(code)}** on {subject.label} is not valid on "
                    f"{subject.on.isoformat()}: {validity.reason}.{use}{stale}\n\n"
                    f"{policy.conventions.diagnosis.validity_citation}.",
                    subject,
                    context.citing,
                    _proposals(subject, context, successors, on_record, replaces=code),
                    reasons,
                )
            )
    return findings


def _successors(context: _Context, code: str, replacements: Sequence[str], subject: _Subject) -> list[str]:
    """The replacements valid on the date of service and fitting the region: specific ones when there are any,
    the code's own children first."""
    icd = context.icd
    valid = [
        candidate
        for candidate in replacements
        if context.is_valid(candidate, subject.on) and _fits(icd.spinal_region(candidate), subject.region)
    ]
    specific = [candidate for candidate in valid if candidate not in context.nonspecific]

    def not_a_child(candidate: str) -> bool:
        entry = icd.lookup(candidate)
        return entry is None or entry.parent != code

    return sorted(specific or valid, key=not_a_child)


def diagnosis_nonspecific(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """An axial-pain code while a specific supporting diagnosis of the same region is on record (not on the order)."""
    findings: list[Finding] = []
    context = _context(facts, policy)
    for subject in _subjects(facts, policy, as_of):
        reasons = _reasons(subject, context)
        if any(context.supports(code, subject) for code in reasons.codes):
            continue
        for code in reasons.codes:
            if code not in context.nonspecific:
                continue
            region = context.icd.spinal_region(code)
            specific = [
                d
                for d in context.supporting(subject, besides=reasons.codes)
                if _same_region(context.icd.spinal_region(d.code), region)
            ]
            if not specific:
                continue
            coverage = _coverage_for(policy, subject)
            uncovered = " and not covered" if coverage is not None and not _listed(code, coverage.covered) else ""
            findings.append(
                _finding(
                    RuleId.DIAGNOSIS_NONSPECIFIC,
                    f"{code} is non-specific{uncovered}; {specific[0].code} on record supports {subject.label}",
                    f"**{context.named(code)}** on {subject.label} is axial pain. On record: "
                    f"{_offer(context, (d.code for d in specific))}.\n\n{policy.conventions.nonspecific_citation}.",
                    subject,
                    context.citing,
                    _proposals(subject, context, (), specific, replaces=code),
                    reasons,
                )
            )
    return findings


def diagnosis_conflict(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """Two of the subject's diagnoses that an Excludes1 note keeps apart, or a diagnosis of the other region."""
    findings: list[Finding] = []
    context = _context(facts, policy)
    icd = context.icd
    conventions = policy.conventions.diagnosis
    for subject in _subjects(facts, policy, as_of):
        reasons = _reasons(subject, context)
        for first, second in combinations(reasons.codes, 2):
            notes = icd.excludes1_notes(first, second)
            if not notes:
                continue
            findings.append(
                _finding(
                    RuleId.DIAGNOSIS_CONFLICT,
                    f"{first} and {second} are never coded together (ICD-10-CM Excludes1)",
                    f"{subject.label.capitalize()} carries **{context.named(first)}** and "
                    f"**{context.named(second)}**. "
                    + " ".join(f"{note}." for note in notes)
                    + f" Keep the one the documentation supports.\n\n{conventions.excludes1_citation}.",
                    subject,
                    context.citing,
                    reasons=reasons,
                )
            )
        if subject.region is None:
            continue
        for code in reasons.codes:
            region = icd.spinal_region(code)
            if region is None or _fits(region, subject.region):
                continue
            right = context.supporting(subject, besides=reasons.codes)
            instead = f" On record for this region: {_offer(context, (d.code for d in right))}." if right else ""
            findings.append(
                _finding(
                    RuleId.DIAGNOSIS_CONFLICT,
                    f"{code} is a {_hint_label(region)} diagnosis; {subject.code or 'the injection'} is "
                    f"{subject.region.label}",
                    f"**{context.named(code)}** does not match {subject.label}, a "
                    f"{subject.region.label} injection.{instead}\n\n{conventions.region_citation}.",
                    subject,
                    context.citing,
                    _proposals(subject, context, (), right, replaces=code),
                    reasons,
                )
            )
    return findings


def _hint_label(hint: SpinalRegionHint) -> str:
    return SpinalRegion(hint.value).label


def diagnosis_not_covered(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """None of the subject's diagnoses is on the payer's covered list, and no exemption applies."""
    findings: list[Finding] = []
    context = _context(facts, policy)
    for subject in _subjects(facts, policy, as_of):
        coverage = _coverage_for(policy, subject)
        if coverage is None:
            continue
        reasons = _reasons(subject, context)
        if not reasons.codes or reasons.unresolved or _exempt(coverage, subject, reasons.codes):
            continue
        if any(_listed(code, coverage.covered) for code in reasons.codes):
            continue
        covered = context.supporting(subject, besides=reasons.codes)
        on_record = f" Covered and on record: {_offer(context, (d.code for d in covered))}." if covered else ""
        verify = (
            " The covered list is shipped as policy data and must be verified against the current billing article."
            if coverage.needs_verification
            else ""
        )
        findings.append(
            _finding(
                RuleId.DIAGNOSIS_NOT_COVERED,
                f"No diagnosis of {subject.label} is on the payer's covered list ({', '.join(reasons.codes)})",
                f"Diagnoses of {subject.label}: {_offer(context, reasons.codes)}. None is a covered indication under "
                f"**{policy.payer.title}**.{on_record}{verify}\n\n{coverage.citation}." + policy.caveat,
                subject,
                policy.citing,
                _proposals(subject, context, (), covered),
                reasons,
            )
        )
    return findings


def _exempt(coverage: DiagnosisCoverage, subject: _Subject, codes: Iterable[str]) -> bool:
    return (
        (coverage.exempt_pump_trial and subject.pump_trial)
        or any(_listed(code, coverage.exempt_diagnoses) for code in codes)
        or not subject.procedure_codes.isdisjoint(coverage.exempt_procedure_codes)
    )


RULES: tuple[Rule, ...] = (
    diagnosis_missing,
    diagnosis_invalid,
    diagnosis_nonspecific,
    diagnosis_conflict,
    diagnosis_not_covered,
)
ORDER_SELECT_RULES: tuple[Rule, ...] = RULES
ORDER_SIGN_RULES: tuple[Rule, ...] = RULES
DISCHARGE_RULES: tuple[Rule, ...] = RULES
