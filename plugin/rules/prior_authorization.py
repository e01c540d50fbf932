"""Prior authorization: does the payer policy ask for it for this session, counted in its window?"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from plugin.policies.schema import PriorAuthorization
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.frequency import ProposedSession, proposed_bookings, proposed_orders
from plugin.rules.hook_facts import HookFacts
from plugin.rules.sessions import SessionHistory, is_exempt, pool_of


def order_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    history = SessionHistory.of(facts, policy.payer.frequency)
    return list(_check(proposed_orders(facts, as_of), history, policy))


def booking_prior_authorization(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    history = SessionHistory.of(facts, policy.payer.frequency)
    return list(_check(proposed_bookings(facts, history, as_of), history, policy))


def _check(proposed: Iterable[ProposedSession], history: SessionHistory, policy: AppliedPolicy) -> Iterable[Finding]:
    requirement = policy.payer.prior_authorization
    if requirement is None:
        return
    frequency = policy.payer.frequency
    for session in proposed:
        if not history.counts(session.code) or is_exempt(frequency, session.intent, session.reason_codes):
            continue
        known, pool = pool_of(frequency, session.code, session.intent)
        if not known:
            continue
        ledger = history.ledger(pool)
        earlier = ledger.used_in_window_ending(session.on, requirement.window_months)
        number = len([day for day in earlier if day != session.on]) + 1
        if number >= requirement.from_session:
            yield _finding(session, number, requirement, policy)


def _finding(session: ProposedSession, number: int, requirement: PriorAuthorization, policy: AppliedPolicy) -> Finding:
    return Finding(
        rule=RuleId.PRIOR_AUTH_REQUIRED,
        severity=Severity(requirement.indicator),
        summary=f"Prior authorization may be needed: session {number} in {requirement.window_months} months",
        detail=(
            f"This would be session {number} in the last {requirement.window_months} months. {requirement.advice}"
            f"\n\n{requirement.citation}." + policy.caveat
        ),
        subject=session.source,
        citing=policy.citing,
        session=session.on,
    )
