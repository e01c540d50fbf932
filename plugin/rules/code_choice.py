"""Code choice: does the injection code agree with what the order or the procedure record says?

Four properties of a spinal injection code can disagree with the words: the approach (transforaminal against
interlaminar or caudal), the region (cervical/thoracic against lumbar/sacral, by level or body site), catheter use
(continuous infusion against a single injection) and a neurolytic substance (62280-62282, never 62320-62327). Each
disagreement is its own card, and every card of one injection names the same right code: the one that agrees with
everything the words state, imaging guidance included, keeping the current code's properties where the words are
silent (`right_code`; other families can use it so their suggestions agree). Where CPT has no code with every stated
property (a transforaminal code is always imaging-guided), the properties the words did not state give way first.

The family's rule tuples also carry the per-session limits (`session_limits`) and the modifier checks (`modifiers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from fhir_mappings.facts import Modality, StatedIntent
from fhir_mappings.spine import Approach, InjectionCode, SpinalLevel, SpinalRegion, injection_codes, region_of_segment
from plugin.policies.schema import CodingConventions
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.coded_injections import CodedInjection, coded_injections
from plugin.rules.findings import Finding, Fix, Recode, RemoveOrder, RuleId, Severity
from plugin.rules.hook_facts import HookFacts, Rule
from plugin.rules.modifiers import invalid_modifiers
from plugin.rules.session_limits import levels_exceeded

_SINGLE_SHOT_APPROACHES = frozenset({Approach.INTERLAMINAR, Approach.TRANSFORAMINAL})


@dataclass(frozen=True, slots=True)
class Stated:
    """What the words say about each property of the code; None where they say nothing, or contradict themselves."""

    approach: Approach | None
    region: SpinalRegion | None
    levels: tuple[SpinalLevel, ...]
    """The levels that name the region; none when words or a body site name it."""
    imaging: bool | None
    catheter: bool | None
    neurolytic: bool


def stated(intent: StatedIntent, conventions: CodingConventions) -> Stated:
    """Levels decide the region before region words and body sites, since they are the more specific."""
    level_regions = {level.billing_region for level in intent.levels}
    region = _only(level_regions) if level_regions else _only(intent.body_site_regions)
    guided = frozenset(Modality(name) for name in conventions.guidance_modalities)
    imaging: bool | None = None
    if intent.guidance & guided:
        imaging = True
    elif intent.without_guidance or intent.guidance:
        imaging = False
    return Stated(intent.approach, region, intent.levels, imaging, intent.catheter, intent.neurolytic)


def _only(regions: set[SpinalRegion] | frozenset[SpinalRegion]) -> SpinalRegion | None:
    return next(iter(regions)) if len(regions) == 1 else None


def _neurolytic(primary: InjectionCode, said: Stated) -> bool:
    """A neurolytic code is right for a neurolytic code, and for an epidural (62320-62327) code given a neurolytic."""
    return primary.approach is Approach.NEUROLYTIC or (said.neurolytic and primary.approach is Approach.INTERLAMINAR)


def right_code(entry: InjectionCode, said: Stated, conventions: CodingConventions) -> InjectionCode | None:
    """The code agreeing with what is said and, where nothing is, with `entry`; `entry` itself when its region is
    unknown (62280), None for an add-on level whose right primary code has no add-on (interlaminar codes)."""
    table = injection_codes()
    primary = table.get(entry.add_on_to) or entry
    region = said.region or primary.region
    if region is None:
        return entry
    if _neurolytic(primary, said):
        return table.get(conventions.neurolytic_codes.get(region.value)) or entry
    chosen = _closest(said.approach or primary.approach, region, primary, said)
    if chosen is None or entry.add_on_to is None:
        return chosen
    return next((code for code in table.codes.values() if code.add_on_to == chosen.code), None)


def _closest(approach: Approach, region: SpinalRegion, primary: InjectionCode, said: Stated) -> InjectionCode | None:
    imaging = primary.imaging if said.imaging is None else said.imaging
    catheter = primary.catheter if said.catheter is None else said.catheter
    options = [(i, c) for i in (imaging, not imaging) for c in (catheter, not catheter)]

    def cost(option: tuple[bool, bool]) -> tuple[int, int]:
        """Contradicting the words costs more than changing what the current code has and the words leave unsaid."""
        contradicted = (said.imaging is not None and option[0] != said.imaging) + (
            said.catheter is not None and option[1] != said.catheter
        )
        return contradicted, (option[0] != imaging) + (option[1] != catheter)

    for with_imaging, with_catheter in sorted(options, key=cost):
        found = injection_codes().choose(approach=approach, region=region, imaging=with_imaging, catheter=with_catheter)
        if found is not None:
            return found
    return None


def code_mismatches(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """`code-approach-mismatch`, `code-region-mismatch`, `code-catheter-mismatch` and `code-neurolytic` for each draft
    injection order (order hooks) or each injection performed in the encounter (discharge)."""
    for injection in coded_injections(facts, as_of):
        yield from _mismatches(injection, policy)


def _mismatches(injection: CodedInjection, policy: AppliedPolicy) -> Iterator[Finding]:
    entry, primary = injection.entry, injection.primary
    said = stated(injection.intent, policy.conventions)
    target = right_code(entry, said, policy.conventions)
    if target is not None and target.code == entry.code:
        return
    card = _Card(injection, said, target, policy)
    neurolytic = _neurolytic(primary, said)
    if neurolytic and primary.approach is not Approach.NEUROLYTIC:
        yield card.neurolytic()
    approach_said = None if neurolytic or primary.approach not in _SINGLE_SHOT_APPROACHES else said.approach
    if approach_said is not None and approach_said is not primary.approach:
        yield card.approach(approach_said)
    if said.region is not None and primary.region is not None and said.region is not primary.region:
        yield card.region(said.region, primary.region)
    # An implantable infusion pump trial is reported with 62323 (NCD 280.14), whatever catheter it uses.
    catheter_judged = not neurolytic and primary.approach is Approach.INTERLAMINAR and not injection.intent.pump_trial
    if catheter_judged and said.catheter is not None and said.catheter is not primary.catheter:
        yield card.catheter(said.catheter)


@dataclass(frozen=True, slots=True)
class _Card:
    """The cards of one injection: each names the same right code (`target`), or says to drop an add-on level."""

    injection: CodedInjection
    said: Stated
    target: InjectionCode | None
    policy: AppliedPolicy

    def approach(self, said: Approach) -> Finding:
        entry, coded = self.injection.entry, self.injection.primary.approach
        return self._finding(
            RuleId.CODE_APPROACH_MISMATCH,
            f"{self._where} says {said.value} but {entry.code} is {coded.value}",
            f"{entry.code} ({entry.display}) is an {coded.value} code, but {self.injection.where} says "
            f"**{said.value}**. Caudal injections are reported with the interlaminar/caudal codes (62320-62323); "
            "a selective nerve root block is transforaminal.",
            also=_Also(approach=False),
        )

    def region(self, said: SpinalRegion, coded: SpinalRegion) -> Finding:
        entry, levels = self.injection.entry, self.said.levels
        written = ", ".join(level.text for level in levels)
        named = f"names {written} ({said.label})" if levels else f"says {said.label}"
        detail = f"{entry.code} ({entry.display}) is a {coded.label} code, but {self.injection.where} {named}."
        if any(level.lower and region_of_segment(level.lower) is not level.billing_region for level in levels):
            detail += (
                " A level belongs to its upper segment's region: a T12-L1 transforaminal injection is reported "
                "with 64479 (A58993)."
            )
        return self._finding(
            RuleId.CODE_REGION_MISMATCH,
            f"{self._where} {named} but {entry.code} is {coded.label}",
            detail,
            also=_Also(region=False),
        )

    def catheter(self, said: bool) -> Finding:
        entry = self.injection.entry
        if said:
            summary = f"{self._where} says catheter or continuous infusion but {entry.code} is a single injection"
            words = "an indwelling catheter or continuous infusion"
        else:
            summary = f"{self._where} says single injection or bolus only but {entry.code} is a catheter code"
            words = "a single injection (or a catheter used only for a same-day bolus)"
        return self._finding(
            RuleId.CODE_CATHETER_MISMATCH,
            summary,
            f"{entry.code} ({entry.display}) does not fit {self.injection.where}, which says {words}. A catheter "
            "used only for a same-day bolus is still a single injection (62320-62323); 62324-62327 are for an "
            "indwelling catheter with continuous infusion or intermittent bolus.",
            also=_Also(catheter=False),
        )

    def neurolytic(self) -> Finding:
        entry, conventions = self.injection.entry, self.policy.conventions
        subarachnoid = conventions.neurolytic_codes.get("subarachnoid")
        return self._finding(
            RuleId.CODE_NEUROLYTIC,
            f"{self._where} names a neurolytic substance, which {entry.code} excludes",
            f"{self._where} names a neurolytic substance (phenol, dehydrated alcohol, iced or hypertonic saline), but "
            f"{entry.code} ({entry.display}) excludes neurolytic substances."
            + (f" A subarachnoid neurolytic injection is {subarachnoid}." if subarachnoid else ""),
            also=_Also(neurolytic=False),
            citation=conventions.neurolytic_citation,
        )

    @property
    def _where(self) -> str:
        return self.injection.where.capitalize()

    def _finding(self, rule: RuleId, summary: str, detail: str, *, also: _Also, citation: str | None = None) -> Finding:
        injection, target = self.injection, self.target
        fixes: tuple[Fix, ...] = ()
        if target is None:
            summary += ": drop the additional level"
            advice = (
                f"{injection.entry.code} is an additional-level add-on, and the right code for this injection has no "
                "additional-level code: one code covers it."
            )
            if injection.draft:
                fixes = (RemoveOrder(order=injection.source, label=f"Remove the {injection.entry.code} add-on order"),)
        else:
            summary += f": {'use' if injection.draft else 'bill'} {target.code}"
            also_fixed = also.words(self.said, injection.primary, target)
            advice = f"The right code is **{target.code}** ({target.display}){also_fixed}."
            if injection.draft:
                fixes = (Recode(order=injection.source, code=target.code, display=target.display),)
            else:
                advice += " Correct the claim line before it is submitted."
        return Finding(
            rule=rule,
            severity=Severity.WARNING,
            summary=_clip(summary),
            detail=f"{detail}\n\n{advice}\n\n{citation or injection_codes().source}.",
            subject=injection.source,
            citing=self.policy.conventions_citing,
            fixes=fixes,
        )


@dataclass(frozen=True, slots=True)
class _Also:
    """Which other stated properties a card mentions its right code also fixes (not the card's own)."""

    approach: bool = True
    region: bool = True
    catheter: bool = True
    neurolytic: bool = True

    def words(self, said: Stated, primary: InjectionCode, target: InjectionCode) -> str:
        neurolytic = target.approach is Approach.NEUROLYTIC
        fixed = []
        if self.approach and not neurolytic and _corrects(said.approach, primary.approach, target.approach):
            fixed.append(f"the {target.approach.value} approach")
        if self.region and target.region is not None and _corrects(said.region, primary.region, target.region):
            fixed.append(f"the {target.region.label} region")
        if self.catheter and not neurolytic and _corrects(said.catheter, primary.catheter, target.catheter):
            fixed.append("the catheter" if target.catheter else "the single injection")
        if not neurolytic and _corrects(said.imaging, primary.imaging, target.imaging):
            fixed.append("imaging guidance" if target.imaging else "no imaging guidance")
        if self.neurolytic and neurolytic and primary.approach is not Approach.NEUROLYTIC:
            fixed.append("the neurolytic substance")
        return f", which also fits {' and '.join(fixed)} as stated" if fixed else ""


def _corrects(said: object, coded: object, right: object) -> bool:
    """The right code has what was said where the current code did not."""
    return said is not None and said == right and coded != right


def _clip(summary: str) -> str:
    return summary if len(summary) < 140 else summary[:136].rstrip() + "…"


ORDER_SELECT_RULES: tuple[Rule, ...] = (code_mismatches,)
ORDER_SIGN_RULES: tuple[Rule, ...] = (code_mismatches, levels_exceeded, invalid_modifiers)
DISCHARGE_RULES: tuple[Rule, ...] = (code_mismatches, levels_exceeded, invalid_modifiers)
