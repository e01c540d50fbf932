"""Prior authorization: which of the policy's requirements apply to this session, by the program's dates, the state
where the service is furnished (the coverage mapping's `service_state`, else the Location the hook's data names), the
site of service, the code, the phase and the session's number in its window. Only a policy chosen for the patient's
payer asks for it: never the default that stands in for an unmapped plan or for no coverage."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from fhir_mappings.facts import ServicePlace, SiteOfService
from fhir_mappings.places import ANY_SITE
from plugin.policies.schema import PriorAuthorization
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts


def order_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=False), policy, facts.place))


def booking_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=True), policy, facts.place))


def _check(sessions: Iterable[Placed], policy: AppliedPolicy, where: ServicePlace | None) -> Iterator[Finding]:
    # The default policy stands in for an unmapped plan's counting limits and criteria (contract, "Default payer
    # selection"), not for its reviewer: eviCore is not TRICARE's or UnitedHealthcare's, and a self-pay patient has
    # none. Only a policy chosen for the patient's payer may say who must authorize the session.
    if policy.by_default:
        return
    sites = where.sites if where is not None else ANY_SITE
    for place in sessions:
        for requirement in place.policy.prior_authorizations:
            finding = _judge(place, requirement, policy, sites)
            if finding is not None:
                yield finding


def _judge(
    place: Placed, requirement: PriorAuthorization, policy: AppliedPolicy, sites: frozenset[SiteOfService]
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
    conditions: list[str] = []
    if code in requirement.conditional_codes:
        conditions.append(f"{code} {requirement.conditional_codes[code]}")
    if site_unsure:
        conditions.append(f"if done {_or(_SITE_WORDS[site] for site in requirement.sites)}")
    when = f" ({'; '.join(conditions)})" if conditions else ""
    # Said here unless the caveat already says it, having chosen the policy by the same state.
    furnished = f", {state.words}" if state is not None and requirement.states and state != policy.chosen_in else ""
    numbered = f"session {number} in {requirement.window_months} months" if requirement.from_session > 1 else "ESI"
    severity = Severity(requirement.indicator)
    return Finding(
        rule=RuleId.PRIOR_AUTH_REQUIRED,
        # Needed only under a condition the record cannot tell: information, not a warning.
        severity=Severity.INFO if conditions else severity,
        summary=_clip(f"Prior authorization from {requirement.program} for this {numbered}{when}"),
        detail=(
            f"{requirement.advice}\n\nThis would be session {number} in the last {requirement.window_months} months "
            f"under {policy.named}{when}{furnished}." + policy.grounds(requirement.source)
        ),
        subject=session.source,
        citing=policy.citing,
        session=session.on,
    )


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
