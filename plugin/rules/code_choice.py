"""Code choice: does the injection code agree with what the order or the procedure record says?

Four properties of a spinal injection code can disagree with the words: the approach (transforaminal against
interlaminar or caudal), the region (cervical/thoracic against lumbar/sacral, by level or body site), catheter use
(continuous infusion against a single injection) and a neurolytic substance (62280-62282, never 62320-62327). Each
disagreement is its own card, and every card of one injection names the same right code: the one that agrees with
everything the words state, imaging guidance included, keeping the current code's properties where the words are
silent (`right_code`; other families can use it so their suggestions agree). Where CPT has no code with every stated
property (a transforaminal code is always imaging-guided), the properties the words did not state give way first.

Evidence decides the card (docs/card-text.md, "Evidence"): only structured data and affirmed statements about this
injection (`StatedIntent.supports_fix`) choose the right code and carry a one-click fix. A property the record only
mentions gives a warning worded as a check, naming the code it would take, with no fix.

The family's rule tuples also carry the per-session limits (`session_limits`) and the modifier checks (`modifiers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from fhir_mappings.facts import Evidence, Modality, StatedIntent
from fhir_mappings.spine import Approach, InjectionCode, SpinalLevel, SpinalRegion, injection_codes, region_of_segment
from plugin.policies.schema import CodingConventions, ImagingRequirement
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


def stated(intent: StatedIntent, conventions: CodingConventions, *, mentions: bool = False) -> Stated:
    """What the record firmly says (structured data or an affirmed statement), or with `mentions` also what its words
    only mention. Levels decide the region before region words and body sites, since they are the more specific;
    levels that disagree with a coded body site leave the region undecided, except as a mention to check."""

    def read(attribute: str) -> bool:
        return mentions or intent.supports_fix(attribute)

    levels = intent.levels if read("levels") else ()
    level_regions = {level.billing_region for level in levels}
    sites = intent.body_site_regions if read("body_site_regions") else frozenset()
    region = _only(level_regions) if level_regions else _only(sites)
    coded_site = intent.strength("body_site_regions") is Evidence.STRUCTURED
    if not mentions and coded_site and level_regions and sites and not level_regions <= sites:
        # Written levels against a coded body site of another region: a conflict decides nothing firmly.
        region = None
    guided = frozenset(Modality(name) for name in conventions.guidance_modalities)
    guidance = intent.guidance if read("guidance") else frozenset()
    imaging: bool | None = None
    if guidance & guided:
        imaging = True
    elif (intent.without_guidance and read("without_guidance")) or guidance:
        imaging = False
    return Stated(
        intent.approach if read("approach") else None,
        region,
        levels,
        imaging,
        intent.catheter if read("catheter") else None,
        intent.neurolytic and read("neurolytic"),
    )


def _only(regions: set[SpinalRegion] | frozenset[SpinalRegion]) -> SpinalRegion | None:
    return next(iter(regions)) if len(regions) == 1 else None


def _neurolytic(primary: InjectionCode, said: Stated) -> bool:
    """A neurolytic code is right for a neurolytic code, and for an epidural (62320-62327) code given a neurolytic."""
    return primary.approach is Approach.NEUROLYTIC or (said.neurolytic and primary.approach is Approach.INTERLAMINAR)


def right_code(
    entry: InjectionCode,
    said: Stated,
    conventions: CodingConventions,
    requirement: ImagingRequirement | None = None,
) -> InjectionCode | None:
    """The code agreeing with what is said and, where nothing is, with `entry`; `entry` itself when its region is
    unknown (62280), None for an add-on level whose right primary code has no add-on (interlaminar codes).

    With the payer's imaging `requirement`, a without-imaging code it covers only under guidance is never the answer
    when a with-imaging code exists: the advice is then to guide the injection, whatever the words say of guidance
    (`imaging-required` says why), so every card of the order names the one code the payer covers."""
    table = injection_codes()
    primary = table.get(entry.add_on_to) or entry
    region = said.region or primary.region
    if region is None:
        return entry
    if _neurolytic(primary, said):
        return table.get(conventions.neurolytic_codes.get(region.value)) or entry
    chosen = _closest(said.approach or primary.approach, region, primary, said)
    if chosen is not None and requirement is not None and not chosen.imaging and chosen.code in requirement.codes:
        guided = table.choose(approach=chosen.approach, region=region, imaging=True, catheter=chosen.catheter)
        chosen = guided or chosen
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
    entry, conventions = injection.entry, policy.conventions
    said = stated(injection.intent, conventions)
    requirement = policy.payer.imaging_required
    target = right_code(entry, said, conventions, requirement)
    if target is None or target.code != entry.code:
        yield from _disagreements(_Card(injection, said, target, policy, firm=True), said, besides=None)
    mentioned = stated(injection.intent, conventions, mentions=True)
    if mentioned != said:
        check = _Card(injection, mentioned, right_code(entry, mentioned, conventions, requirement), policy, firm=False)
        yield from _disagreements(check, mentioned, besides=said)


def _disagreements(card: _Card, said: Stated, *, besides: Stated | None) -> Iterator[Finding]:
    """A card for each property `said` gives the code that it does not have, unless `besides` already says something
    of it (a property firmly stated has its card; a mention of it adds nothing)."""
    primary = card.injection.primary
    firm = besides or Stated(None, None, (), None, None, neurolytic=False)
    neurolytic = _neurolytic(primary, said)
    if neurolytic and primary.approach is not Approach.NEUROLYTIC and not firm.neurolytic:
        yield card.neurolytic()
    approach = None if neurolytic or primary.approach not in _SINGLE_SHOT_APPROACHES else said.approach
    if approach is not None and approach is not primary.approach and firm.approach is None:
        yield card.approach(approach)
    region = said.region
    if region is not None and primary.region is not None and region is not primary.region and firm.region is None:
        yield card.region(region, primary.region)
    # An implantable infusion pump trial is reported with 62323 (NCD 280.14), whatever catheter it uses.
    judged = not neurolytic and primary.approach is Approach.INTERLAMINAR and not card.injection.intent.pump_trial
    catheter = said.catheter
    if judged and catheter is not None and catheter is not primary.catheter and firm.catheter is None:
        yield card.catheter(catheter)


@dataclass(frozen=True, slots=True)
class _Card:
    """The cards of one injection: each names the same right code (`target`), or says to drop an add-on level.

    `firm`: the property rests on structured data or an affirmed statement, so the card says what is wrong and offers
    the fix; otherwise the record only mentions it, and the card asks to check, with no fix."""

    injection: CodedInjection
    said: Stated
    target: InjectionCode | None
    policy: AppliedPolicy
    firm: bool

    def approach(self, said: Approach) -> Finding:
        entry, coded = self.injection.entry, self.injection.primary.approach
        return self._finding(
            RuleId.CODE_APPROACH_MISMATCH,
            (f"says {said.value}", f"mentions {said.value}"),
            f"{entry.code} is {coded.value}",
            f"{entry.code} ({entry.display}) is an {coded.value} code. Caudal injections are reported with the "
            "interlaminar/caudal codes (62320-62323); a selective nerve root block is transforaminal.",
            also=_Also(approach=False),
        )

    def region(self, said: SpinalRegion, coded: SpinalRegion) -> Finding:
        entry, levels = self.injection.entry, self.said.levels
        written = ", ".join(level.text for level in levels)
        named = f"{written} ({said.label})" if levels else said.label
        detail = f"{entry.code} ({entry.display}) is a {coded.label} code."
        if any(level.lower and region_of_segment(level.lower) is not level.billing_region for level in levels):
            detail += (
                " A level belongs to its upper segment's region: a T12-L1 transforaminal injection is reported "
                "with 64479 (A58993)."
            )
        return self._finding(
            RuleId.CODE_REGION_MISMATCH,
            (f"names {named}" if levels else f"says {named}", f"mentions {named}"),
            f"{entry.code} is {coded.label}",
            detail,
            also=_Also(region=False),
        )

    def catheter(self, said: bool) -> Finding:
        entry = self.injection.entry
        if said:
            words = ("says catheter or continuous infusion", "mentions a catheter")
            coded = f"{entry.code} is a single injection"
        else:
            words = ("says single injection or bolus only", "mentions a single injection or bolus")
            coded = f"{entry.code} is a catheter code"
        return self._finding(
            RuleId.CODE_CATHETER_MISMATCH,
            words,
            coded,
            f"{entry.code} ({entry.display}) is {'a single-injection' if said else 'an indwelling catheter'} code. "
            "A catheter used only for a same-day bolus is still a single injection (62320-62323); 62324-62327 are "
            "for an indwelling catheter with continuous infusion or intermittent bolus.",
            also=_Also(catheter=False),
        )

    def neurolytic(self) -> Finding:
        entry, conventions = self.injection.entry, self.policy.conventions
        subarachnoid = conventions.neurolytic_codes.get("subarachnoid")
        return self._finding(
            RuleId.CODE_NEUROLYTIC,
            ("names a neurolytic substance", "mentions a neurolytic substance"),
            f"{entry.code} excludes it",
            f"{entry.code} ({entry.display}) excludes neurolytic substances (phenol, dehydrated alcohol, iced or "
            "hypertonic saline)."
            + (f" A subarachnoid neurolytic injection is {subarachnoid}." if subarachnoid else ""),
            also=_Also(neurolytic=False),
            citation=conventions.neurolytic_citation,
        )

    def _finding(
        self,
        rule: RuleId,
        words: tuple[str, str],
        coded: str,
        detail: str,
        *,
        also: _Also,
        citation: str | None = None,
    ) -> Finding:
        """`words`: what the record says, as a firm statement and as a mention ("says transforaminal", "mentions
        transforaminal"); `coded`: what the code is ("62323 is interlaminar")."""
        injection, target = self.injection, self.target
        where = injection.where.capitalize()
        verb = "use" if injection.draft else "bill"
        fixes: tuple[Fix, ...] = ()
        if not self.firm:
            summary = f"{where} {words[1]}: check whether {injection.entry.code} is right"
            if target is None:
                right = "the additional-level code would be dropped, since the right code has none"
            elif target.code == injection.entry.code:
                right = f"{injection.entry.code} stands"
            else:
                right = f"the right code is **{target.code}** ({target.display})"
            advice = (
                f"{where} {words[1]}, but the words may be about something else than this injection (another "
                f"procedure, a device, the history or a symptom). If they are about this injection, {right}; if not, "
                f"{injection.entry.code} stands."
            )
        elif target is None:
            summary = f"{where} {words[0]} but {coded}: drop the additional level"
            advice = (
                f"{where} {words[0]}. {injection.entry.code} is an additional-level add-on, and the right code for "
                "this injection has no additional-level code: one code covers it."
            )
            if injection.draft:
                fixes = (RemoveOrder(order=injection.source, label=f"Remove the {injection.entry.code} add-on order"),)
        else:
            summary = f"{where} {words[0]} but {coded}: {verb} {target.code}"
            also_fixed = also.words(self.said, injection.primary, target)
            advice = f"{where} {words[0]}. The right code is **{target.code}** ({target.display}){also_fixed}."
            if self.said.imaging is False and target.imaging:
                advice += (
                    f" {where} says no fluoroscopy or CT guidance, but **{self.policy.payer.title}** covers this "
                    f"injection only with it: perform it under fluoroscopy or CT and say so in {injection.where}."
                )
            if injection.draft:
                fixes = (Recode(order=injection.source, code=target.code, display=target.display),)
            else:
                advice += " Correct the claim line before it is submitted."
        return Finding(
            rule=rule,
            severity=Severity.WARNING,
            summary=summary,
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


ORDER_SELECT_RULES: tuple[Rule, ...] = (code_mismatches,)
ORDER_SIGN_RULES: tuple[Rule, ...] = (code_mismatches, levels_exceeded, invalid_modifiers)
DISCHARGE_RULES: tuple[Rule, ...] = (code_mismatches, levels_exceeded, invalid_modifiers)
