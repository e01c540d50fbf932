"""`interval-too-short`: a session sooner after the previous one (of its region) than the policy's minimum interval."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _check(sessions: Iterable[Placed], policy: AppliedPolicy) -> Iterator[Finding]:
    for place in sessions:
        previous = place.previous
        if previous is None:
            continue
        for interval in place.policy.intervals:
            gap = (place.session.on - previous).days
            if not place.applies(interval.phase) or gap >= interval.days:
                continue
            allowed = previous + timedelta(days=interval.days)
            region = f" {place.region.label}" if place.region is not None else ""
            phase = f" in the {interval.phase} phase" if interval.phase != "any" else ""
            # Either session known only from words (no code) makes the gap likely, not certain: a check, never critical.
            worded = previous in place.ledger.inferred or bool(place.session.counted and place.session.counted.inferred)
            summary = f"Only {_days(gap)} after the last{region} session; first allowed date {allowed.isoformat()}"
            basis = ""
            if worded:
                summary = f"Check the interval: {summary[0].lower()}{summary[1:]}"
                basis = (
                    " One of the two sessions is known only from words, not a procedure code: check what was done "
                    "and when."
                )
            yield Finding(
                rule=RuleId.INTERVAL_TOO_SHORT,
                severity=policy.ceiling(Severity.WARNING if worded else Severity.CRITICAL, interval.source),
                summary=summary,
                detail=(
                    f"{policy.named} asks for at least {_days(interval.days)} between injection sessions{phase}. "
                    f"The last{region} session was on {previous.isoformat()}, so the session on "
                    f"{place.session.on.isoformat()} comes {_days(gap)} after it. First allowed date: "
                    f"{allowed.isoformat()}.{basis}" + policy.grounds(interval.source)
                ),
                subject=place.session.source,
                citing=policy.citing,
                session=place.session.on,
            )
            break


def order_interval(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=False), policy))


def booking_interval(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=True), policy))
