"""Prior authorization: which of the policy's requirements apply to this session, by the program's dates, the state
where the service is furnished (the coverage mapping's `service_state`), the code, the phase and the session's number
in its window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from plugin.policies.schema import PriorAuthorization
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts


def order_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=False), policy))


def booking_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=True), policy))


def _check(sessions: Iterator[Placed], policy: AppliedPolicy) -> Iterator[Finding]:
    for place in sessions:
        for requirement in place.policy.prior_authorizations:
            finding = _judge(place, requirement, policy)
            if finding is not None:
                yield finding


def _judge(place: Placed, requirement: PriorAuthorization, policy: AppliedPolicy) -> Finding | None:
    session = place.session
    day = session.on
    if requirement.effective is not None and not requirement.effective.covers(day):
        return None
    if not place.applies(requirement.phase):
        return None
    code = session.code or ""
    if requirement.codes and code not in requirement.codes and code not in requirement.conditional_codes:
        return None
    # A state-bound program (WISeR) is judged only where the operator has said which state the site is in: a card on
    # every order elsewhere would teach clinicians to ignore it.
    if requirement.states and policy.service_state not in requirement.states:
        return None
    earlier = place.ledger.used_in_window_ending(day, requirement.window_months)
    number = len([other for other in earlier if other != day]) + 1
    if number < requirement.from_session:
        return None
    conditions: list[str] = []
    if code in requirement.conditional_codes:
        conditions.append(f"{code} {requirement.conditional_codes[code]}")
    if requirement.sites:
        conditions.append(f"at {', '.join(requirement.sites)}")
    when = f" ({'; '.join(conditions)})" if conditions else ""
    numbered = f"session {number} in {requirement.window_months} months" if requirement.from_session > 1 else "ESI"
    severity = Severity(requirement.indicator)
    return Finding(
        rule=RuleId.PRIOR_AUTH_REQUIRED,
        # Needed only under a condition the record cannot tell: information, not a warning.
        severity=Severity.INFO if conditions else severity,
        summary=_clip(f"Prior authorization from {requirement.program} for this {numbered}{when}"),
        detail=(
            f"{requirement.advice}\n\nThis would be session {number} in the last {requirement.window_months} months "
            f"under {policy.named}{when}." + policy.grounds(requirement.source)
        ),
        subject=session.source,
        citing=policy.citing,
        session=session.on,
    )


def _clip(summary: str) -> str:
    return summary if len(summary) < 140 else summary[:136].rstrip() + "…"
