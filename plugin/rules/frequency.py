"""Frequency limits: does a proposed session fit the policy's rolling windows, and what is the patient's budget?"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from fhir_mappings.facts import StatedIntent
from plugin.policies.schema import WindowLimit
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.sessions import Ledger, Pool, SessionHistory, at_cap, injections_in, is_exempt, pool_of


@dataclass(frozen=True, slots=True)
class ProposedSession:
    """An injection about to be ordered or booked."""

    source: str
    code: str | None
    intent: StatedIntent
    reason_codes: tuple[str, ...]
    on: date
    injections: int


def _pool_label(pool: Pool) -> str:
    return "all regions" if pool is None else pool.label


def _window_words(limit: WindowLimit) -> str:
    caps = []
    if limit.max_sessions is not None:
        caps.append(f"{limit.max_sessions} sessions")
    if limit.max_injections is not None:
        caps.append(f"{limit.max_injections} injections")
    return f"{' / '.join(caps)} per {limit.months} months"


def check_sessions(
    proposed: Sequence[ProposedSession], history: SessionHistory, policy: AppliedPolicy
) -> list[Finding]:
    """Each proposed session against the history, in date order, each later one counting the earlier ones."""
    frequency = policy.payer.frequency
    findings: list[Finding] = []
    counting: dict[Pool, Ledger] = {}
    grouped: dict[tuple[Pool, date], list[ProposedSession]] = {}
    for session in proposed:
        if not history.counts(session.code):
            continue
        if is_exempt(frequency, session.intent, session.reason_codes):
            findings.append(_exempt(session, policy))
            continue
        known, pool = pool_of(frequency, session.code, session.intent)
        if known:
            grouped.setdefault((pool, session.on), []).append(session)
    for (pool, day), sessions in sorted(grouped.items(), key=lambda item: item[0][1]):
        ledger = counting.get(pool)
        if ledger is None:
            ledger = counting[pool] = history.ledger(pool).copy()
        injections = sum(session.injections for session in sessions)
        findings.extend(_judge(sessions[0], pool, day, injections, ledger, policy))
        ledger.add(day, injections)
    return findings


def _judge(
    session: ProposedSession, pool: Pool, day: date, injections: int, ledger: Ledger, policy: AppliedPolicy
) -> Iterable[Finding]:
    limits = policy.payer.frequency.limits
    breach = ledger.breach(day, injections, limits)
    if breach is not None:
        earliest = ledger.earliest_compliant(day, injections, limits)
        when = f"Earliest compliant date: {earliest.isoformat()}." if earliest else "No compliant date in 3 years."
        through = breach.window_end - timedelta(days=1)
        yield Finding(
            rule=RuleId.FREQUENCY_LIMIT_EXCEEDED,
            severity=Severity.CRITICAL,
            summary=_clip(
                f"Session on {day.isoformat()} breaks {_window_words(breach.limit)} ({_pool_label(pool)})"
                + (f"; earliest {earliest.isoformat()}" if earliest else "")
            ),
            detail=(
                f"{policy.named} allows "
                f"{_window_words(breach.limit)} in any rolling window ({_pool_label(pool)}). "
                f"The window {breach.window_start.isoformat()} to {through.isoformat()} would hold "
                f"{breach.measure}, counting past and booked sessions and this one. {when}"
                f"\n\n{policy.payer.frequency.citation}." + policy.caveat
            ),
            subject=session.source,
            citing=policy.citing,
        )
        return
    for limit in limits:
        window = ledger.worst_window(day, injections, limit)
        if at_cap(window):
            yield Finding(
                rule=RuleId.FREQUENCY_LIMIT_REACHED,
                severity=Severity.WARNING,
                summary=_clip(
                    f"Uses the last {_pool_label(pool)} session of {_window_words(limit)}; the window runs to "
                    f"{(window.window_end - timedelta(days=1)).isoformat()}"
                ),
                detail=(
                    f"This session on {day.isoformat()} is allowed by {policy.named} but uses the last one the window "
                    f"{window.window_start.isoformat()} to {(window.window_end - timedelta(days=1)).isoformat()} "
                    f"allows: {window.measure}. Plan any repeat injection after that window."
                    f"\n\n{policy.payer.frequency.citation}." + policy.caveat
                ),
                subject=session.source,
                citing=policy.citing,
            )
            return


def _exempt(session: ProposedSession, policy: AppliedPolicy) -> Finding:
    return Finding(
        rule=RuleId.FREQUENCY_EXEMPT,
        severity=Severity.INFO,
        summary="Infusion pump trial: not counted against the injection frequency limit",
        detail=(
            f"The order's reason marks it as an implantable infusion pump trial, which "
            f"{policy.named} does not count: "
            f"{policy.payer.frequency.exemptions.citation or 'listed as exempt in the policy'}."
        ),
        subject=session.source,
        citing=policy.citing,
    )


def session_budget(history: SessionHistory, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """Sessions used and left in each window, booked sessions and the next eligible date, for each pool with a session
    inside the policy's longest window or a booking ahead: an injection years ago limits nothing, and a card about it
    on every chart opening would teach the front desk to ignore the card."""
    findings: list[Finding] = []
    limits = policy.payer.frequency.limits
    longest = max(limit.months for limit in limits)
    for pool, ledger in sorted(history.pools.items(), key=lambda item: _pool_label(item[0])):
        upcoming = sorted(day for day in ledger.booked if day >= as_of)
        if not upcoming and not ledger.used_in_window_ending(as_of, longest):
            continue
        lines = []
        short = []
        none_left = False
        for limit in limits:
            used = ledger.used_in_window_ending(as_of, limit.months)
            # "Left" counts bookings too: a booked session inside the window is as good as used.
            fullest = ledger.worst_window(as_of, 0, limit, adding=False)
            if limit.max_sessions is not None:
                left = max(limit.max_sessions - fullest.sessions, 0)
                none_left = none_left or left == 0
                lines.append(
                    f"- {len(used)} of {limit.max_sessions} sessions used in the last {limit.months} months; "
                    f"{left} left counting booked sessions"
                )
                short.append(f"{len(used)}/{limit.max_sessions} used in {limit.months} mo")
            if limit.max_injections is not None:
                injections = sum(ledger.injections_on[day] for day in used)
                lines.append(
                    f"- {injections} of {limit.max_injections} injections used in the last {limit.months} months"
                )
        if upcoming:
            lines.append("- Booked: " + ", ".join(day.isoformat() for day in upcoming))
            short.append(f"{len(upcoming)} booked")
        next_eligible = ledger.earliest_compliant(as_of, 1, list(limits), additional=True)
        eligible_words = next_eligible.isoformat() if next_eligible else "none within 3 years"
        blocked = next_eligible is None or next_eligible > as_of
        findings.append(
            Finding(
                rule=RuleId.FREQUENCY_BUDGET,
                severity=Severity.WARNING if (blocked or none_left) else Severity.INFO,
                summary=_clip(
                    f"ESI sessions ({_pool_label(pool)}): {'; '.join(short)}; next eligible {eligible_words}"
                ),
                detail=(
                    f"Under {policy.named}, "
                    f"{_pool_label(pool)}:\n" + "\n".join(lines) + f"\n\nNext eligible date for another session: "
                    f"{eligible_words}." + policy.caveat
                ),
                citing=policy.citing,
            )
        )
    return findings


def _clip(summary: str) -> str:
    return summary if len(summary) < 140 else summary[:136].rstrip() + "…"


def proposed_orders(facts: HookFacts, as_of: date) -> list[ProposedSession]:
    """Each draft injection order as a session on its requested date (today when it has none)."""
    return [
        ProposedSession(
            source=order.source,
            code=order.code,
            intent=order.intent,
            reason_codes=order.reason_codes,
            on=order.occurrence or as_of,
            injections=injections_in(order.units, order.modifiers),
        )
        for order in facts.orders
    ]


def proposed_bookings(facts: HookFacts, history: SessionHistory, as_of: date) -> list[ProposedSession]:
    """Each proposed appointment as a session, with the first code of it the policy counts."""
    return [
        ProposedSession(
            source=booking.source,
            code=next((code for code in booking.codes if history.counts(code)), None),
            intent=booking.intent,
            reason_codes=(),
            on=booking.on or as_of,
            injections=1,
        )
        for booking in facts.proposed
    ]


def order_frequency(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    history = SessionHistory.of(facts, policy.payer.frequency)
    return check_sessions(proposed_orders(facts, as_of), history, policy)


def booking_frequency(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """Each proposed appointment, counting the patient's other booked sessions but not itself."""
    history = SessionHistory.of(facts, policy.payer.frequency)
    return check_sessions(proposed_bookings(facts, history, as_of), history, policy)


def budget(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return session_budget(SessionHistory.of(facts, policy.payer.frequency), policy, as_of)
