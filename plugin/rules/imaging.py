"""Imaging guidance: bundled guidance orders and charges, code against guidance, payer imaging rules, archived images.

- A separate guidance order beside a without-imaging code (62322 with 77003) gives two findings, not one with two
  fixes: `code-imaging-mismatch` recodes the injection to its with-imaging code, `imaging-guidance-bundled` removes the
  guidance order. A card's suggestions are alternatives (at most one is applied), and here both edits belong together.
- "With imaging guidance" means the conventions' guidance modalities (fluoroscopy, CT). Ultrasound words neither make a
  with-imaging code nor satisfy a payer that requires fluoroscopy or CT.
- One problem gets one card: `imaging-required` stays silent for a without-imaging code when `code-imaging-mismatch`
  already asks for the with-imaging code (guidance ordered, charged, imaged or firmly stated), and for a code that
  always includes guidance (64479-64484) stated without it, where `code-imaging-mismatch` already says the code
  requires it. `code-imaging-mismatch` never offers a without-imaging code the payer does not cover (Medicare and an
  ultrasound-guided 62323): there `imaging-required` gives the one advice, to perform it under fluoroscopy or CT.
- Evidence decides the card: a guidance order or charge, archived images and an affirmed statement are firm, and may
  carry a fix; guidance words the record only mentions give a check with no fix (docs/card-text.md, "Evidence").
- An ImagingStudy is evidence for a performed injection when it is linked to it (encounter, procedureReference, basedOn
  or the same date) and qualifies when it is available, of an evidence modality, with enough stored instances.
  `qualifying_studies` is the one test of that; the documentation checklist uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date

from fhir_mappings.facts import (
    CompanionOrder,
    ImagingEvidence,
    InjectionOrder,
    Modality,
    OtherProcedure,
    PerformedInjection,
    StatedIntent,
)
from fhir_mappings.spine import InjectionCode, injection_codes
from plugin.policies.schema import CodingConventions, ImagingRequirement
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.code_choice import right_code, stated
from plugin.rules.findings import Finding, Fix, Recode, RemoveOrder, RuleId, Severity
from plugin.rules.hook_facts import HookFacts, Rule
from plugin.rules.wording import plural

_MODALITY_WORDS = {
    Modality.FLUOROSCOPY: "fluoroscopy",
    Modality.CT: "CT",
    Modality.ULTRASOUND: "ultrasound",
    Modality.OTHER: "other imaging",
}


def _entry(code: str | None) -> InjectionCode | None:
    return injection_codes().get(code)


def _sibling(entry: InjectionCode, *, imaging: bool) -> InjectionCode | None:
    """The code for the same approach, region and catheter use, with or without imaging; None when CPT has none."""
    if entry.region is None or entry.imaging is imaging:
        return None
    return injection_codes().choose(
        approach=entry.approach, region=entry.region, imaging=imaging, catheter=entry.catheter
    )


def _recoded(
    entry: InjectionCode, intent: StatedIntent, conventions: CodingConventions, *, imaging: bool
) -> InjectionCode | None:
    """The code to suggest when only the imaging is to change: chosen like every other recode (`right_code`), so
    that a card about imaging and a card about the approach of the same order suggest the same code."""
    if _sibling(entry, imaging=imaging) is None:
        return None
    target = right_code(entry, replace(stated(intent, conventions), imaging=imaging), conventions)
    return target if target is not None and target.imaging is imaging else None


def _with_imaging(entry: InjectionCode) -> InjectionCode | None:
    """For a without-imaging code (62320, 62322, 62324, 62326), its with-imaging sibling; None for any other code."""
    return _sibling(entry, imaging=True)


def _bundles_guidance(entry: InjectionCode) -> bool:
    """Guidance is never billed beside this code: it includes imaging, or its with-imaging sibling would."""
    return entry.imaging or _with_imaging(entry) is not None


def _modalities(names: Iterable[str]) -> frozenset[Modality]:
    return frozenset(Modality(name) for name in names)


def _modality_words(modalities: Iterable[Modality]) -> str:
    named = set(modalities)
    return " or ".join(_MODALITY_WORDS[modality] for modality in Modality if modality in named)


@dataclass(frozen=True, slots=True)
class _Sign:
    """Something on record about the injection's guidance: `words` for the card, `firm` when it is structured data or
    an affirmed statement (not a mention), `reference` for the card's technical line."""

    words: str
    firm: bool
    reference: str | None = None


def _denied_guidance(intent: StatedIntent, guided: frozenset[Modality], where: str) -> _Sign | None:
    """How the words rule out `guided` ("says without imaging guidance", "mentions ultrasound guidance only")."""
    if intent.without_guidance:
        firm = intent.supports_fix("without_guidance")
        return _Sign(f"{where} {'says' if firm else 'mentions'} no imaging guidance", firm)
    if intent.guidance and not intent.guidance & guided:
        firm = intent.supports_fix("guidance")
        return _Sign(f"{where} {'says' if firm else 'mentions'} {_modality_words(intent.guidance)} guidance only", firm)
    return None


def _stated_guidance(intent: StatedIntent, conventions: CodingConventions, where: str) -> list[_Sign]:
    stated = intent.guidance & _modalities(conventions.guidance_modalities)
    if not stated:
        return []
    firm = intent.supports_fix("guidance")
    return [_Sign(f"{where} {'says' if firm else 'mentions'} {_modality_words(stated)} guidance", firm)]


def _guidance_codes(codes: Iterable[str], conventions: CodingConventions) -> tuple[str, ...]:
    return tuple(code for code in codes if code in conventions.guidance_codes)


def _same_reference(one: str | None, other: str | None) -> bool:
    """Equal references, allowing one to be absolute ("https://ehr/fhir/Procedure/1") and the other relative."""
    if not one or not other:
        return False
    return one == other or one.endswith("/" + other) or other.endswith("/" + one)


def discharged_injections(facts: HookFacts) -> list[PerformedInjection]:
    """The injections completed in this encounter, less add-on levels judged with their primary code's Procedure."""
    done = [injection for injection in facts.performed_here if injection.counts_as_performed]
    primaries = {(injection.code, injection.performed_on) for injection in done}
    judged = []
    for injection in done:
        entry = _entry(injection.code)
        if entry is not None and entry.add_on_to is not None and (entry.add_on_to, injection.performed_on) in primaries:
            continue
        judged.append(injection)
    return judged


def _linked(study: ImagingEvidence, injection: PerformedInjection) -> bool:
    return (
        _same_reference(study.encounter, injection.encounter)
        or any(_same_reference(reference, injection.source) for reference in study.procedure_references)
        or any(_same_reference(mine, theirs) for mine in study.based_on for theirs in injection.based_on)
        or (study.started_on is not None and study.started_on == injection.performed_on)
    )


def _shortfalls(study: ImagingEvidence, conventions: CodingConventions) -> list[str]:
    """Why a linked study is not evidence of imaging guidance; empty when it is."""
    problems = []
    if not any(code in conventions.evidence_modalities for code in study.modality_codes):
        problems.append("modality not " + "/".join(conventions.evidence_modalities))
    if study.instance_count < conventions.evidence_min_instances:
        problems.append(plural(study.instance_count, "stored image"))
    if not study.available:
        problems.append("cancelled or entered in error")
    return problems


def qualifying_studies(
    injection: PerformedInjection, studies: Iterable[ImagingEvidence], conventions: CodingConventions
) -> list[ImagingEvidence]:
    """Archived images that show this injection was imaging-guided, as the coding conventions define evidence."""
    return [study for study in studies if _linked(study, injection) and not _shortfalls(study, conventions)]


def _described(study: ImagingEvidence, conventions: CodingConventions) -> str:
    words = _modality_words(study.modalities - {Modality.OTHER})
    kind = f"{'an' if words[:1] in ('u', 'a', 'e', 'i', 'o') else 'a'} {words} study" if words else "an imaging study"
    codes = f" (modality {', '.join(study.modality_codes)})" if study.modality_codes else ""
    started = f" of {study.started_on.isoformat()}" if study.started_on else ""
    return f"{kind}{codes}{started}: " + "; ".join(_shortfalls(study, conventions))


# Order time -------------------------------------------------------------------------------------------------------


def _coded_orders(facts: HookFacts) -> list[tuple[InjectionOrder, InjectionCode]]:
    return [(order, entry) for order in facts.orders if (entry := _entry(order.code)) is not None]


def _guidance_orders(facts: HookFacts, conventions: CodingConventions) -> list[tuple[CompanionOrder, tuple[str, ...]]]:
    return [
        (companion, codes) for companion in facts.companions if (codes := _guidance_codes(companion.codes, conventions))
    ]


def _bundled(
    guidance: Sequence[str], beside: Sequence[InjectionCode], subject: str, policy: AppliedPolicy, *, ordered: bool
) -> Finding:
    codes = "/".join(guidance)
    included = [entry for entry in beside if entry.imaging]
    action = "remove the separate order" if ordered else "do not bill it separately"
    if included:
        summary = f"Guidance {codes} is included in {included[0].code}: {action}"
    else:
        summary = f"Guidance {codes} is not billed beside {beside[0].code} either: {action}"
    lines = [
        f"- {entry.code} ({entry.display}) includes imaging guidance and contrast: {codes} is not reported with it, "
        "and modifier 59 does not unbundle it."
        for entry in included
    ]
    lines.extend(
        f"- Beside {entry.code}, guidance is not reported separately either: if fluoroscopy or CT guides the "
        f"injection, the right code is {sibling.code}, which includes it."
        for entry in beside
        if not entry.imaging and (sibling := _with_imaging(entry)) is not None
    )
    what = "The separate guidance order" if ordered else "The guidance charge"
    return Finding(
        rule=RuleId.IMAGING_GUIDANCE_BUNDLED,
        severity=Severity.WARNING,
        summary=summary,
        detail=f"{what} ({codes}) is bundled:\n" + "\n".join(lines) + f"\n\n{policy.conventions.guidance_citation}.",
        subject=subject,
        citing=policy.conventions_citing,
        fixes=(RemoveOrder(order=subject, label=f"Remove the separate {codes} guidance order"),) if ordered else (),
    )


def bundled_guidance_orders(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """A separate guidance order beside an injection order whose code includes (or should include) the guidance."""
    beside = [entry for _, entry in _coded_orders(facts) if _bundles_guidance(entry)]
    if not beside:
        return
    for companion, codes in _guidance_orders(facts, policy.conventions):
        yield _bundled(codes, beside, companion.source, policy, ordered=True)


def _order_guidance(order: InjectionOrder, facts: HookFacts, conventions: CodingConventions) -> list[_Sign]:
    """What on the request says the injection will be guided by fluoroscopy or CT."""
    signs = [
        _Sign(f"a separate guidance order ({'/'.join(codes)}) is on the request", True, companion.source)
        for companion, codes in _guidance_orders(facts, conventions)
    ]
    return signs + _stated_guidance(order.intent, conventions, "the order")


def _where(*, ordered: bool) -> str:
    return "the order" if ordered else "the procedure record"


def _mismatch(
    subject: str,
    entry: InjectionCode,
    guided_by: Sequence[_Sign],
    denial: _Sign | None,
    intent: StatedIntent,
    policy: AppliedPolicy,
    *,
    ordered: bool,
) -> Finding | None:
    """`code-imaging-mismatch` for a without-imaging code with signs of guidance, or a with-imaging code denied it.

    Only a draft order gets a Recode fix, and only on firm signs; a performed injection's code is corrected on the
    claim. A without-imaging code the payer does not cover is never the advice: `imaging-required` gives it.
    """
    where = _where(ordered=ordered)
    sibling = _recoded(entry, intent, policy.conventions, imaging=True)
    firm = [sign for sign in guided_by if sign.firm]
    references = tuple(sign.reference for sign in guided_by if sign.reference)
    target: InjectionCode | None = None
    if sibling is not None and firm:
        verb = "use" if ordered else "bill"
        summary = f"{entry.code} is a without-imaging code, but guidance is used: {verb} {sibling.code}"
        detail = (
            f"{entry.code} ({entry.display}) is coded, but " + "; ".join(sign.words for sign in guided_by) + ". "
            f"With fluoroscopy or CT guidance the code is **{sibling.code}** ({sibling.display})."
        )
        target = sibling
    elif sibling is not None and guided_by:
        summary = f"{guided_by[0].words.capitalize()}: check whether {entry.code} (without imaging) is right"
        detail = (
            f"{entry.code} ({entry.display}) is coded, and " + "; ".join(sign.words for sign in guided_by) + ", "
            f"but the words may not be about this injection. If fluoroscopy or CT guides it, the code is "
            f"**{sibling.code}** ({sibling.display}); if not, {entry.code} stands."
        )
    elif entry.imaging and denial is not None:
        unguided = _recoded(entry, intent, policy.conventions, imaging=False)
        requirement = policy.payer.imaging_required
        if unguided is not None and requirement is not None and unguided.code in requirement.codes:
            return None
        if unguided is not None and denial.firm:
            target = unguided
            summary = (
                f"{denial.words.capitalize()}, but {entry.code} includes guidance: "
                f"{'use' if ordered else 'bill'} {target.code}"
            )
            detail = (
                f"{entry.code} ({entry.display}) includes fluoroscopy or CT guidance, but {denial.words}. "
                f"Without fluoroscopy or CT the code is **{target.code}** ({target.display}); if fluoroscopy or CT "
                f"guidance {'is' if ordered else 'was'} used, say so in {where}."
            )
        elif unguided is not None:
            summary = f"{denial.words.capitalize()}: check whether {entry.code} (with imaging) is right"
            detail = (
                f"{entry.code} ({entry.display}) includes fluoroscopy or CT guidance, and {denial.words}, but the "
                f"words may not be about this injection. If it {'is' if ordered else 'was'} done without fluoroscopy "
                f"or CT, the code is **{unguided.code}** ({unguided.display}); if not, {entry.code} stands."
            )
        else:
            summary = (
                f"{entry.code} requires fluoroscopy or CT guidance, but {denial.words}"
                if denial.firm
                else f"{denial.words.capitalize()}: check that {entry.code} is guided by fluoroscopy or CT"
            )
            detail = (
                f"{entry.code} ({entry.display}) always includes fluoroscopy or CT guidance; CPT has no "
                "without-imaging code for this injection. "
                + (
                    f"Perform it under fluoroscopy or CT and say so in {where}."
                    if ordered
                    else f"If it was guided by fluoroscopy or CT, say so in {where}; if not, it cannot be billed "
                    "with this code."
                )
            )
    else:
        return None
    fixes: tuple[Fix, ...] = ()
    if ordered and target is not None:
        fixes = (Recode(order=subject, code=target.code, display=target.display),)
    return Finding(
        rule=RuleId.CODE_IMAGING_MISMATCH,
        severity=Severity.WARNING,
        summary=summary,
        detail=f"{detail}\n\n{policy.conventions.guidance_citation}.",
        subject=subject,
        citing=policy.conventions_citing,
        fixes=fixes,
        references=references,
    )


def order_imaging_mismatch(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """The injection code against the guidance the request orders or states."""
    guided = _modalities(policy.conventions.guidance_modalities)
    for order, entry in _coded_orders(facts):
        finding = _mismatch(
            order.source,
            entry,
            _order_guidance(order, facts, policy.conventions),
            _denied_guidance(order.intent, guided, "the order"),
            order.intent,
            policy,
            ordered=True,
        )
        if finding is not None:
            yield finding


def _required(
    subject: str,
    entry: InjectionCode,
    intent: StatedIntent,
    requirement: ImagingRequirement,
    policy: AppliedPolicy,
    *,
    ordered: bool,
) -> Finding | None:
    """`imaging-required` for a without-imaging code, or a code with a without-imaging sibling stated unguided.

    For the latter it is the one card: `code-imaging-mismatch` does not offer a without-imaging code this payer does
    not cover, so this card names it and why it is not the way out."""
    where = _where(ordered=ordered)
    accepted = _modalities(requirement.accepted)
    accepted_words = _modality_words(accepted)
    sibling = _recoded(entry, intent, policy.conventions, imaging=True)
    unguided = _recoded(entry, intent, policy.conventions, imaging=False)
    summary = f"{policy.rule_words.capitalize()} covers {entry.code} only with {accepted_words} guidance"
    if not entry.imaging:
        summary += "; it has none" + (f": use {sibling.code}" if ordered and sibling else "")
        problem = f"{entry.code} ({entry.display}) has no imaging guidance."
        if sibling is not None and ordered:
            problem += f" Perform the injection under {accepted_words} guidance and order **{sibling.code}**."
        elif sibling is not None:
            problem += (
                f" If it was guided by {accepted_words}, report **{sibling.code}** and archive the images; "
                "if not, expect the claim to be denied."
            )
    elif (denial := _denied_guidance(intent, accepted, where)) is not None and unguided is not None:
        summary = (
            f"{summary}; {denial.words}"
            if denial.firm
            else f"{denial.words.capitalize()}: check it is {accepted_words}, which {policy.rule_words} requires"
        )
        instead = (
            f" Without {accepted_words} guidance the code would be {unguided.code}, which this policy does not cover."
        )
        if denial.firm:
            problem = f"{denial.words.capitalize()}." + (
                f" Perform the injection under {accepted_words} guidance and keep {entry.code}."
                if ordered
                else f" If it was guided by {accepted_words}, correct {where} and archive the images; if not, expect "
                "the claim to be denied."
            )
        else:
            problem = (
                f"{denial.words.capitalize()}, but the words may not be about this injection. Make sure it "
                f"{'is' if ordered else 'was'} guided by {accepted_words} and that {where} says so."
            )
        problem += instead
    else:
        return None
    return Finding(
        rule=RuleId.IMAGING_REQUIRED,
        severity=Severity.WARNING,
        summary=summary,
        detail=(
            f"**{policy.payer.title}** covers this injection only under {accepted_words} guidance. {problem}"
            f"\n\n{requirement.citation}." + policy.caveat
        ),
        subject=subject,
        citing=policy.citing,
        fixes=(Recode(order=subject, code=sibling.code, display=sibling.display),)
        if ordered and sibling and not entry.imaging
        else (),
    )


def _required_for(
    entry: InjectionCode, intent: StatedIntent, requirement: ImagingRequirement, policy: AppliedPolicy
) -> bool:
    """The payer's requirement applies to the code and to the code the record says it should be: a lumbar catheter
    coded 62322 is judged as the 62326 it is (which the requirement may not cover), never told to become 62323."""
    if entry.code not in requirement.codes:
        return False
    conventions = policy.conventions
    right = right_code(entry, stated(intent, conventions), conventions, requirement)
    return right is None or right.code in requirement.codes


def order_imaging_required(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """Injection orders the payer covers only under fluoroscopy or CT, coded or stated without it."""
    requirement = policy.payer.imaging_required
    if requirement is None:
        return
    for order, entry in _coded_orders(facts):
        if not _required_for(entry, order.intent, requirement, policy):
            continue
        if not entry.imaging and any(sign.firm for sign in _order_guidance(order, facts, policy.conventions)):
            continue
        finding = _required(order.source, entry, order.intent, requirement, policy, ordered=True)
        if finding is not None:
            yield finding


# Discharge --------------------------------------------------------------------------------------------------------


def _guidance_charges(
    facts: HookFacts, conventions: CodingConventions
) -> tuple[tuple[OtherProcedure, tuple[str, ...]], ...]:
    """Guidance Procedures on record with their guidance codes: one pass over the history for every discharge rule
    and every injection judged."""
    return facts.derived(
        "guidance-charges",
        (conventions,),
        lambda: tuple(
            (charge, codes)
            for charge in facts.record.other_procedures
            if charge.happened and (codes := _guidance_codes(charge.codes, conventions))
        ),
    )


def _beside(charge: OtherProcedure, injection: PerformedInjection) -> bool:
    return _same_reference(charge.encounter, injection.encounter) or charge.performed_on == injection.performed_on


def bundled_guidance_charges(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """A guidance Procedure charged beside a performed injection whose code includes (or should include) it."""
    injections = discharged_injections(facts)
    for charge, codes in _guidance_charges(facts, policy.conventions):
        beside = [
            entry
            for injection in injections
            if _beside(charge, injection) and (entry := _entry(injection.code)) is not None and _bundles_guidance(entry)
        ]
        if beside:
            yield _bundled(codes, beside, charge.source, policy, ordered=False)


def _performed_guidance(injection: PerformedInjection, facts: HookFacts, conventions: CodingConventions) -> list[_Sign]:
    """What on record says the injection was guided by fluoroscopy or CT."""
    signs: list[_Sign] = []
    if facts.imaging_known:
        signs.extend(
            _Sign(f"{_modality_words(study.modalities) or 'imaging'} images are archived", True, study.source)
            for study in qualifying_studies(injection, facts.record.imaging, conventions)
        )
    signs.extend(
        _Sign(f"guidance {'/'.join(codes)} was charged", True, charge.source)
        for charge, codes in _guidance_charges(facts, conventions)
        if _beside(charge, injection)
    )
    return signs + _stated_guidance(injection.intent, conventions, "the procedure record")


def performed_imaging_mismatch(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """The performed code against the images on file, guidance charges and the procedure's own words."""
    conventions = policy.conventions
    guided = _modalities(conventions.guidance_modalities)
    for injection in discharged_injections(facts):
        entry = _entry(injection.code)
        if entry is None:
            continue
        imaged = facts.imaging_known and bool(qualifying_studies(injection, facts.record.imaging, conventions))
        finding = _mismatch(
            injection.source,
            entry,
            _performed_guidance(injection, facts, conventions),
            None if imaged else _denied_guidance(injection.intent, guided, "the procedure record"),
            injection.intent,
            policy,
            ordered=False,
        )
        if finding is not None:
            yield finding


def performed_imaging_required(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """Performed injections the payer covers only under fluoroscopy or CT, coded or recorded without it."""
    requirement = policy.payer.imaging_required
    if requirement is None:
        return
    for injection in discharged_injections(facts):
        entry = _entry(injection.code)
        if entry is None or not _required_for(entry, injection.intent, requirement, policy):
            continue
        if not entry.imaging and any(sign.firm for sign in _performed_guidance(injection, facts, policy.conventions)):
            continue
        finding = _required(injection.source, entry, injection.intent, requirement, policy, ordered=False)
        if finding is not None:
            yield finding


def imaging_evidence_missing(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """Each performed imaging-guided injection needs qualifying archived images; says what was found instead."""
    if not facts.imaging_known:
        return
    conventions = policy.conventions
    requirement = policy.payer.imaging_required
    for injection in discharged_injections(facts):
        entry = _entry(injection.code)
        if entry is None or not entry.imaging:
            continue
        if qualifying_studies(injection, facts.record.imaging, conventions):
            continue
        linked = [study for study in facts.record.imaging if _linked(study, injection)]
        found = (
            "\n".join(f"- {_described(study, conventions)}" for study in linked)
            if linked
            else "- no imaging study on record is linked to it by encounter, procedure, order or date"
        )
        modalities = "/".join(conventions.evidence_modalities)
        required = requirement is not None and entry.code in requirement.codes
        performed_on = injection.performed_on.isoformat()
        least = plural(conventions.evidence_min_instances, "stored image")
        detail = (
            f"{entry.code} ({entry.display}) on {performed_on} includes imaging guidance, but no qualifying images "
            f"are on record: an imaging study of modality {modalities} (fluoroscopy, C-arm angiography or CT) with "
            f"at least {least}, linked to the injection by encounter, procedure, order or date."
            f"\n\nFound:\n{found}\n\n{conventions.evidence_citation}."
        )
        if requirement is not None and required:
            detail += (
                f"\n\n**{policy.payer.title}** covers it only under "
                f"{_modality_words(_modalities(requirement.accepted))} guidance: {requirement.citation}."
                + policy.caveat
            )
        yield Finding(
            rule=RuleId.IMAGING_EVIDENCE_MISSING,
            severity=policy.ceiling(Severity.CRITICAL) if required else Severity.WARNING,
            summary=f"{entry.code} on {performed_on}: no archived fluoroscopy or CT images on record",
            detail=detail,
            subject=injection.source,
            citing=policy.citing if required else policy.conventions_citing,
            references=tuple(study.source for study in linked),
        )


ORDER_SELECT_RULES: tuple[Rule, ...] = (bundled_guidance_orders, order_imaging_mismatch)
ORDER_SIGN_RULES: tuple[Rule, ...] = (bundled_guidance_orders, order_imaging_mismatch, order_imaging_required)
DISCHARGE_RULES: tuple[Rule, ...] = (
    bundled_guidance_charges,
    performed_imaging_mismatch,
    performed_imaging_required,
    imaging_evidence_missing,
)
