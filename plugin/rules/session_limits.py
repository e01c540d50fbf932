"""Per-session limits: levels and regions injected in one session, and add-on level codes without their primary.

A session is every injection of one calendar date. Levels are counted two ways and the larger count is judged: from
the codes (each unit of a primary or add-on level code is one level; lines repeated for the other side with RT/LT
are the same levels again) and from the levels written in the words. An injection's region is that of the levels
written, else its code's. Only levels read firmly (structured, or affirmed of this injection) count: a level the note
only mentions ("s/p L4-L5 laminectomy") is no level of today's session. The payer's session limits apply to the
codes its policy counts; an add-on code without its primary is a CPT convention, judged for every payer: among all
the draft orders of a request, or among the injections performed on one date.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from fhir_mappings.spine import Approach, InjectionCode, SpinalLevel, SpinalRegion, injection_codes
from plugin.policies.schema import SessionLimits
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.coded_injections import CodedInjection, by_session, coded_injections
from plugin.rules.findings import Finding, Fix, Problem, Recode, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.wording import plural


def levels_exceeded(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """`levels-exceeded` for the draft orders (order-sign) or the injections performed in the encounter (discharge)."""
    injections = coded_injections(facts, as_of)
    drafts = [injection for injection in injections if injection.draft]
    groups = [drafts] if drafts else []
    groups.extend(by_session(injection for injection in injections if not injection.draft).values())
    for group in groups:
        yield from _add_ons_without_primary(group, policy)
    limits = policy.payer.session_limits
    if limits is None:
        return
    for day, session in sorted(by_session(injections).items()):
        counted = [injection for injection in session if _counted_lines(injection, policy)]
        # Regions first: two regions in a session are also two levels, and the card leads with the region.
        yield from _too_many_regions(day, counted, limits, policy)
        yield from _too_many_levels(day, counted, Approach.TRANSFORAMINAL, limits.max_transforaminal_levels, policy)
        yield from _too_many_levels(day, counted, Approach.INTERLAMINAR, limits.max_interlaminar_levels, policy)


def _counted_lines(injection: CodedInjection, policy: AppliedPolicy) -> list[tuple[InjectionCode, int]]:
    return [(entry, units) for entry, units in injection.lines if entry.code in policy.payer.frequency.counted_codes]


def _too_many_levels(
    day: date, session: Sequence[CodedInjection], approach: Approach, cap: int | None, policy: AppliedPolicy
) -> Iterator[Finding]:
    if cap is None:
        return
    counting = policy.conventions.session_counting
    laterality = frozenset(counting.laterality_modifiers)
    coded_per_side: dict[frozenset[str], int] = {}
    written: list[SpinalLevel] = []
    judged = []
    for injection in session:
        units = sum(units for entry, units in _counted_lines(injection, policy) if entry.approach is approach)
        if not units:
            continue
        judged.append(injection)
        side = frozenset(injection.modifiers) & laterality
        coded_per_side[side] = coded_per_side.get(side, 0) + units
        written.extend(level for level in _firm_levels(injection) if level not in written)
    if not judged:
        return
    count = max(*coded_per_side.values(), len(written))
    if count <= cap:
        return
    payer = policy.payer
    levels = f" ({', '.join(level.text for level in written)})" if written else ""
    limits = payer.session_limits
    sided = any(side for side in coded_per_side)
    yield Finding(
        rule=RuleId.LEVELS_EXCEEDED,
        severity=Severity.WARNING,
        summary=f"{count} {approach.value} levels in the session on {day.isoformat()}: the policy allows {cap}",
        detail=(
            f"**{payer.title}** allows at most {plural(cap, approach.value + ' level')} per "
            f"session. The session on {day.isoformat()} has {count}{levels}:\n"
            + "\n".join(_line(injection) for injection in judged)
            + (f"\n\nLines for each side count their levels once: {counting.laterality_citation}." if sided else "")
            + (f"\n\n{limits.citation}." if limits else "")
            + policy.caveat
        ),
        subject=judged[-1].source,
        citing=policy.citing,
        session=day,
        references=tuple(injection.source for injection in judged[:-1]),
    )


def _firm_levels(injection: CodedInjection) -> tuple[SpinalLevel, ...]:
    return injection.intent.levels if injection.intent.supports_fix("levels") else ()


def _regions_of(injection: CodedInjection) -> set[SpinalRegion]:
    written = {level.billing_region for level in _firm_levels(injection)}
    if written:
        return written
    return {injection.primary.region} if injection.primary.region is not None else set()


def _too_many_regions(
    day: date, session: Sequence[CodedInjection], limits: SessionLimits, policy: AppliedPolicy
) -> Iterator[Finding]:
    cap = limits.max_regions
    regions: dict[SpinalRegion, list[CodedInjection]] = {}
    for injection in session:
        for region in _regions_of(injection):
            regions.setdefault(region, []).append(injection)
    if cap is None or len(regions) <= cap:
        return
    counting = policy.conventions.session_counting
    listed = "\n".join(
        f"- {region.label}: " + ", ".join(_described(injection) for injection in injections)
        for region, injections in sorted(regions.items())
    )
    distinct = [
        f"{'/'.join(modifier for modifier in injection.modifiers if modifier in counting.distinct_procedure_modifiers)}"
        f" on {injection.entry.code}"
        for injection in session
        if set(injection.modifiers) & set(counting.distinct_procedure_modifiers)
    ]
    unbundled = (
        f"\n\nModifier {'; '.join(distinct)} does not make another region allowed in the same session: "
        f"{counting.distinct_procedure_citation}."
        if distinct
        else ""
    )
    yield Finding(
        rule=RuleId.LEVELS_EXCEEDED,
        severity=Severity.WARNING,
        summary=f"{len(regions)} spinal regions in the session on {day.isoformat()}: the policy allows {cap}",
        detail=(
            f"**{policy.payer.title}** allows {plural(cap, 'spinal region')} per session. The session "
            f"on {day.isoformat()} injects:\n{listed}\n\nSchedule the other region in a separate session."
            f"\n\n{limits.citation}.{unbundled}" + policy.caveat
        ),
        subject=session[-1].source,
        citing=policy.citing,
        session=day,
        references=tuple(injection.source for injection in session[:-1]),
    )


def _add_ons_without_primary(group: Sequence[CodedInjection], policy: AppliedPolicy) -> Iterator[Finding]:
    table = injection_codes()
    primaries = {entry.code for injection in group for entry, _ in injection.lines if entry.add_on_to is None}
    orphans: dict[str, list[CodedInjection]] = {}
    for injection in group:
        for entry, _ in injection.lines:
            if entry.add_on_to is not None and entry.add_on_to not in primaries:
                orphans.setdefault(entry.code, []).append(injection)
    for code, injections in orphans.items():
        add_on = table.codes[code]
        primary = table.get(add_on.add_on_to)
        if primary is None:
            continue
        # Beside the other region's primary (64480 with 64483), the add-on is most likely that primary's add-on.
        partners = [entry for entry in table.codes.values() if entry.add_on_to in primaries]
        if len(partners) == 1:
            partner = partners[0]
            for injection in injections:
                yield _orphan(injection, add_on, primary, partner, policy, beside=partner.add_on_to)
        else:
            # Recoding the first add-on line to the primary leaves the others as its additional levels.
            yield _orphan(injections[0], add_on, primary, primary, policy, beside=None)


def _orphan(
    injection: CodedInjection,
    add_on: InjectionCode,
    primary: InjectionCode,
    replacement: InjectionCode,
    policy: AppliedPolicy,
    *,
    beside: str | None,
) -> Finding:
    verb = "use" if injection.draft else "bill"
    where = "among the draft orders" if injection.draft else f"on {injection.on.isoformat()}"
    if beside is None:
        summary = f"Add-on {add_on.code} without its primary code {primary.code}: {verb} {primary.code}"
        found = f"no {primary.code} is {where}"
    else:
        summary = f"Add-on {add_on.code} belongs with {primary.code}, not {beside}: {verb} {replacement.code}"
        found = f"{beside} is {where}, and {primary.code} is not"
    fixes: tuple[Fix, ...] = ()
    # Recoding replaces every CPT coding of the order, so only an order whose one injection code is the add-on is fixed.
    if injection.draft and len(injection.lines) == 1:
        fixes = (Recode(order=injection.source, code=replacement.code, display=replacement.display),)
    advice = f"The right code is **{replacement.code}** ({replacement.display})."
    if not injection.draft:
        advice += " Correct the claim line before it is submitted."
    return Finding(
        rule=RuleId.LEVELS_EXCEEDED,
        severity=Severity.WARNING,
        summary=summary,
        detail=(
            f"{add_on.code} ({add_on.display}) is an add-on to {primary.code}, but {found}. "
            f"{advice}\n\n{policy.conventions.session_counting.add_on_citation}."
        ),
        subject=injection.source,
        citing=policy.conventions_citing,
        fixes=fixes,
        problem=Problem.CODE,
    )


def _line(injection: CodedInjection) -> str:
    codes = ", ".join(f"{entry.code} x{units}" if units > 1 else entry.code for entry, units in injection.lines)
    modifiers = f" -{'-'.join(injection.modifiers)}" if injection.modifiers else ""
    return f"- {'the order for ' if injection.draft else ''}{codes}{modifiers}{_levels_written(injection)}"


def _described(injection: CodedInjection) -> str:
    return f"{injection.entry.code}{_levels_written(injection)}"


def _levels_written(injection: CodedInjection) -> str:
    levels = _firm_levels(injection)
    return f" ({', '.join(level.text for level in levels)})" if levels else ""
