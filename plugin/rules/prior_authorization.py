"""Prior authorization: which of the policy's requirements apply to this session, by the program's dates, the state
where the service is furnished (the coverage mapping's `service_state`, else the Location the hook's data names), the
site of service, the code, the phase and the session's number in its window. Only a policy chosen for the patient's
payer asks for it: never the default that stands in for an unmapped plan or for no coverage.

An authorization already on file satisfies the requirement: one the order (or the booking, or the order it is based
on) carries, approved for every injection code of the order and valid on the session's date. One that does not cover
the session (its period ends before it or starts after it, or it approves other codes) is what a prior-authorization
coordinator catches before the claim is denied (CO-197, CO-15): the card says which authorization and why, as a
warning, since the order looks authorized and is not."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from fhir_mappings.facts import Authorization, Evidence, ServicePlace, SiteOfService
from fhir_mappings.places import ANY_SITE
from fhir_mappings.spine import injection_codes
from plugin.policies.schema import PriorAuthorization
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts


def order_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    on_file = _OnFile.of((order.source, order.codes, order.authorizations) for order in facts.orders)
    return list(_check(placed(facts, policy, as_of, bookings=False), policy, facts.place, on_file, "order"))


def booking_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    on_file = _OnFile.of((booking.source, booking.codes, booking.authorizations) for booking in facts.proposed)
    return list(_check(placed(facts, policy, as_of, bookings=True), policy, facts.place, on_file, "booking"))


@dataclass(frozen=True, slots=True)
class _OnFile:
    """The authorizations the orders (or bookings) of one call carry, and the injection codes each orders."""

    codes: dict[str, frozenset[str]]
    own: dict[str, tuple[Authorization, ...]]
    every: tuple[Authorization, ...]

    @classmethod
    def of(cls, items: Iterable[tuple[str, tuple[str, ...], tuple[Authorization, ...]]]) -> _OnFile:
        table = injection_codes()
        codes: dict[str, frozenset[str]] = {}
        own: dict[str, tuple[Authorization, ...]] = {}
        for source, ordered, authorizations in items:
            codes[source] = frozenset(code for code in ordered if table.get(code) is not None)
            own[source] = authorizations
        every = tuple(dict.fromkeys(authorization for carried in own.values() for authorization in carried))
        return cls(codes, own, every)

    def carried(self, source: str, code: str | None) -> tuple[frozenset[str], tuple[Authorization, ...]]:
        """The injection codes the session's order (or booking) needs authorized, and the authorizations that may
        cover them: its own, and another line's that names one of its codes (a session ordered as 64483 and 64484
        on two lines is authorized once, on either)."""
        codes = self.codes.get(source) or frozenset({code} if code else ())
        own = self.own.get(source, ())
        others = tuple(found for found in self.every if found not in own and set(found.codes) & codes)
        return codes, own + others


def _check(
    sessions: Iterable[Placed], policy: AppliedPolicy, where: ServicePlace | None, on_file: _OnFile, kind: str
) -> Iterator[Finding]:
    # The default policy stands in for an unmapped plan's counting limits and criteria (contract, "Default payer
    # selection"), not for its reviewer: eviCore is not TRICARE's or UnitedHealthcare's, and a self-pay patient has
    # none. Only a policy chosen for the patient's payer may say who must authorize the session.
    if policy.by_default:
        return
    sites = where.sites if where is not None else ANY_SITE
    for place in sessions:
        for requirement in place.policy.prior_authorizations:
            finding = _judge(place, requirement, policy, sites, on_file, kind)
            if finding is not None:
                yield finding


def _judge(
    place: Placed,
    requirement: PriorAuthorization,
    policy: AppliedPolicy,
    sites: frozenset[SiteOfService],
    on_file: _OnFile,
    kind: str,
) -> Finding | None:
    session = place.session
    day = session.on
    if requirement.effective is not None and not requirement.effective.covers(day):
        return None
    if not place.applies(requirement.phase):
        return None
    code = session.code or ""
    if requirement.codes and code not in requirement.codes and code not in requirement.conditional_codes:
        return None
    # A state-bound program (WISeR) is judged only where the configuration or a Location says which state the site is
    # in (a payer's address does not): a card on every order elsewhere would teach clinicians to ignore it.
    state = policy.service_state
    if requirement.states and (state is None or state.code not in requirement.states):
        return None
    # The sites the data leaves possible: all of them in the requirement's asserts it, none drops it, some make it a
    # check on the site.
    if requirement.sites and not sites & set(requirement.sites):
        return None
    site_unsure = bool(requirement.sites) and not sites <= set(requirement.sites)
    earlier = place.ledger.used_in_window_ending(day, requirement.window_months)
    number = len([other for other in earlier if other != day]) + 1
    if number < requirement.from_session:
        return None
    codes, carried = on_file.carried(session.source, session.code)
    if any(found.covers(day) and found.approves(codes) for found in carried):
        return None
    conditions: list[str] = []
    if code in requirement.conditional_codes:
        conditions.append(f"{code} {requirement.conditional_codes[code]}")
    if site_unsure:
        conditions.append(f"if done {_or(_SITE_WORDS[site] for site in requirement.sites)}")
    when = f" ({'; '.join(conditions)})" if conditions else ""
    # Said here unless the caveat already says it, having chosen the policy by the same state.
    furnished = f", {state.words}" if state is not None and requirement.states and state != policy.chosen_in else ""
    numbered = f"session {number} in {requirement.window_months} months" if requirement.from_session > 1 else "ESI"
    where = (
        f"This would be session {number} in the last {requirement.window_months} months under {policy.named}{when}"
        f"{furnished}." + policy.grounds(requirement.source)
    )
    if carried:
        return _not_covering(place, requirement, policy, carried, codes, kind, where, bool(conditions))
    severity = Severity(requirement.indicator)
    return Finding(
        rule=RuleId.PRIOR_AUTH_REQUIRED,
        # Needed only under a condition the record cannot tell: information, not a warning.
        severity=Severity.INFO if conditions else severity,
        summary=_clip(f"Prior authorization from {requirement.program} for this {numbered}{when}"),
        detail=f"{requirement.advice}\n\n{where}",
        subject=session.source,
        citing=policy.citing,
        session=session.on,
    )


def _not_covering(
    place: Placed,
    requirement: PriorAuthorization,
    policy: AppliedPolicy,
    carried: tuple[Authorization, ...],
    codes: frozenset[str],
    kind: str,
    where: str,
    conditional: bool,
) -> Finding:
    """The card for a session whose order carries an authorization that does not cover it: which one, and why."""
    session = place.session
    day = session.on
    # The payer's own record first; of several, one that at least names the codes, then the latest.
    found = max(
        carried,
        key=lambda one: (one.evidence is Evidence.STRUCTURED, one.approves(codes), one.end or date.max),
    )
    missing = sorted(codes - set(found.codes)) if found.codes else []
    terms = [words for words in (_valid(found), f"for {_and(found.codes)}" if found.codes else "") if words]
    described = f"On file for this {kind}: prior authorization **{found.number}**"
    described += f" ({'; '.join(terms)})." if terms else "."
    if found.end is not None and day > found.end:
        summary = f"Prior authorization {found.number} ended {found.end.isoformat()}, before this ESI on {day}"
        problem = f"It ended on {found.end.isoformat()}; the session is on {day.isoformat()}."
        action = "extend it or request a new one"
    elif found.start is not None and day < found.start:
        summary = f"Prior authorization {found.number} starts {found.start.isoformat()}, after this ESI on {day}"
        problem = f"It starts on {found.start.isoformat()}; the session is on {day.isoformat()}."
        action = "move the session into its period, or ask for its dates to be changed"
    else:
        summary = (
            f"Prior authorization {found.number} approves {_and(found.codes)}, not the {_and(missing)} {_DONE[kind]}"
        )
        problem = (
            f"The {kind} is for {_and(missing)}, which it does not approve."
            if missing == sorted(codes)
            else f"The {kind} is for {_and(sorted(codes))}; it does not approve {_and(missing)}."
        )
        action = f"ask for the authorization to be amended to the codes {_DONE[kind]}, or correct the {kind}"
    return Finding(
        rule=RuleId.PRIOR_AUTH_REQUIRED,
        # The order looks authorized and is not: a claim denied for authorization (CO-197, CO-15) follows unless
        # someone acts, which is more than the routine reminder; under a condition the record cannot tell, still a
        # check.
        severity=Severity.INFO if conditional else Severity.WARNING,
        summary=_clip(summary),
        detail=(
            f"{described} {problem} {requirement.program} must authorize this session: {action} before the "
            f"session.\n\n{where}"
        ),
        subject=session.source,
        citing=policy.citing,
        session=session.on,
        references=(found.source,) if found.source != session.source else (),
    )


_DONE = {"order": "ordered", "booking": "booked"}


def _valid(found: Authorization) -> str:
    if found.start is not None and found.end is not None:
        return f"valid {found.start.isoformat()} to {found.end.isoformat()}"
    if found.end is not None:
        return f"valid through {found.end.isoformat()}"
    if found.start is not None:
        return f"valid from {found.start.isoformat()}"
    return ""


def _and(words: Iterable[str]) -> str:
    items = list(dict.fromkeys(words))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_SITE_WORDS = {
    SiteOfService.OFFICE: "in an office",
    SiteOfService.HOSPITAL_OUTPATIENT: "in a hospital outpatient department",
    SiteOfService.AMBULATORY_SURGICAL_CENTER: "in an ambulatory surgical center",
    SiteOfService.INPATIENT: "during an inpatient stay",
    SiteOfService.EMERGENCY: "in an emergency department",
}


def _or(words: Iterable[str]) -> str:
    items = list(dict.fromkeys(words))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _clip(summary: str) -> str:
    return summary if len(summary) < 140 else summary[:136].rstrip() + "…"
