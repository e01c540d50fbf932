"""Frequency limits: does a proposed session fit the policy's rolling windows, and what is the patient's budget?

Every date these cards give is the one date the patient's record allows: the first day a *new, separate* session
complies, passing over days that already hold a session (a second visit that day would only join it). The order and
booking cards and the budget cards of patient-view and encounter-start work it out the same way, so they agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from fhir_mappings.facts import StatedIntent
from fhir_mappings.spine import SpinalRegion
from plugin.policies.schema import WindowLimit
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.calendar import add_months
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.session_types import Counted, Pool
from plugin.rules.sessions import Breach, Ledger, SessionHistory, at_cap, injections_in, is_exempt
from plugin.rules.wording import plural


@dataclass(frozen=True, slots=True)
class ProposedSession:
    """An injection about to be ordered or booked, and how it counts (None: not a session the policy counts)."""

    source: str
    code: str | None
    intent: StatedIntent
    reason_codes: tuple[str, ...]
    on: date
    injections: int
    counted: Counted | None


def _pool_label(pool: Pool) -> str:
    return "all regions" if pool is None else pool.label


def _window_words(limit: WindowLimit) -> str:
    caps = []
    if limit.max_sessions is not None:
        caps.append(plural(limit.max_sessions, "session"))
    if limit.max_injections is not None:
        caps.append(plural(limit.max_injections, "injection"))
    return f"{' / '.join(caps)} per {limit.months} months"


_WORDED = (
    "\n\nNo procedure code or known visit type says what this is: its words were read as an epidural steroid "
    "injection. Confirm the code before relying on this count."
)


def check_sessions(
    proposed: Sequence[ProposedSession], history: SessionHistory, policy: AppliedPolicy
) -> list[Finding]:
    """Each proposed session against the history, in date order, each later one counting the earlier ones."""
    frequency = policy.payer.frequency
    findings: list[Finding] = []
    counting: dict[Pool, Ledger] = {}
    grouped: dict[tuple[Pool, date], list[ProposedSession]] = {}
    unplaced: list[ProposedSession] = []
    for session in proposed:
        if session.counted is None:
            continue
        if is_exempt(frequency, session.intent, session.reason_codes):
            findings.append(_exempt(session, policy))
            continue
        if session.counted.unplaced:
            unplaced.append(session)
            continue
        grouped.setdefault((session.counted.pool, session.on), []).append(session)
    for (pool, day), sessions in sorted(grouped.items(), key=lambda item: item[0][1]):
        ledger = counting.get(pool)
        if ledger is None:
            ledger = counting[pool] = history.ledger(pool).copy()
        injections = sum(session.injections for session in sessions)
        findings.extend(_judge(sessions, pool, day, injections, ledger, policy))
        findings.extend(_another_region_that_day(sessions[0], history, policy))
        ledger.add(day, injections, inferred=all(_inferred(session) for session in sessions))
    for session in unplaced:
        findings.extend(_judge_in_either_region(session, history, counting, policy))
    return findings


def _judge_in_either_region(
    session: ProposedSession, history: SessionHistory, counting: dict[Pool, Ledger], policy: AppliedPolicy
) -> Iterable[Finding]:
    """An injection read from words that name no region, under a per-region policy: judged as an injection of each
    region, and the card of the region where it would break (or reach) the limit given, saying so."""
    judged: list[tuple[SpinalRegion, Finding]] = []
    for region in SpinalRegion:
        ledger = counting.get(region)
        found = _judge(
            [session],
            region,
            session.on,
            session.injections,
            ledger if ledger is not None else history.ledger(region),
            policy,
        )
        judged.extend((region, finding) for finding in found)
    exceeded = [(region, finding) for region, finding in judged if finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED]
    for region, finding in (exceeded or judged)[:1]:
        note = (
            f"\n\nIts words name no spinal region: it was judged as a {region.label} injection, the region where "
            "the patient's count is tightest."
        )
        yield replace(finding, detail=finding.detail + note)


def _inferred(session: ProposedSession) -> bool:
    return session.counted is not None and session.counted.inferred


def _judge(
    sessions: Sequence[ProposedSession], pool: Pool, day: date, injections: int, ledger: Ledger, policy: AppliedPolicy
) -> Iterable[Finding]:
    # Each session is judged by the policy version in force on its date.
    limits = policy.on(day).frequency.limits
    session = sessions[0]
    worded = all(_inferred(each) for each in sessions)
    breach = ledger.breach(day, injections, limits)
    if breach is not None:
        yield _exceeded(session, pool, day, injections, breach, ledger, policy, worded=worded)
        return
    for limit in limits:
        window = ledger.worst_window(day, injections, limit)
        if at_cap(window):
            yield _reached(session, pool, day, injections, window, ledger, policy, worded=worded)
            return


def _exceeded(
    session: ProposedSession,
    pool: Pool,
    day: date,
    injections: int,
    breach: Breach,
    ledger: Ledger,
    policy: AppliedPolicy,
    *,
    worded: bool,
) -> Finding:
    limits = policy.on(day).frequency.limits
    earliest = ledger.earliest_compliant(day, injections, limits, additional=True)
    when = (
        f"Earliest compliant date: {earliest.isoformat()} (the first day a new, separate session complies)."
        if earliest
        else "No compliant date within 3 years."
    )
    through = breach.window_end - timedelta(days=1)
    # A count resting on words (an uncoded order, an appointment known by its words) is likely, not certain.
    likely = worded or ledger.rests_on_words(breach)
    cap = f"{_window_words(breach.limit)} ({_pool_label(pool)})"
    if likely:
        summary = f"Check the session count: a session on {day.isoformat()} may break {cap}"
    else:
        summary = f"Session on {day.isoformat()} breaks {cap}"
    if earliest:
        summary += f"; earliest {earliest.isoformat()}"
    basis = ""
    if worded:
        basis = _WORDED
    elif likely:
        basis = (
            "\n\nSome sessions of that window are known only from words (an appointment's, or a procedure recorded "
            "with no code): check them before relying on this count."
        )
    return Finding(
        rule=RuleId.FREQUENCY_LIMIT_EXCEEDED,
        severity=policy.ceiling(Severity.WARNING if likely else Severity.CRITICAL, breach.limit.source),
        summary=_clip(summary),
        detail=(
            f"{policy.named} allows {_window_words(breach.limit)} in any rolling window ({_pool_label(pool)}). "
            f"The window {breach.window_start.isoformat()} to {through.isoformat()} would hold "
            f"{breach.measure}, counting past and booked sessions and this one. {when}{basis}"
            f"\n\n{policy.payer.frequency.citation}.{_bilateral_note(breach, policy)}"
            + policy.verification(breach.limit.source)
            + policy.caveat
        ),
        subject=session.source,
        citing=policy.citing,
        session=day,
    )


def _bilateral_note(window: Breach, policy: AppliedPolicy) -> str:
    """How bilateral injections were counted, when the count is of injections and the policy says how."""
    frequency = policy.payer.frequency
    if window.over_sessions or frequency.bilateral_citation is None:
        return ""
    each = plural(frequency.bilateral_injections, "injection")
    return f" A bilateral injection at one level counts as {each}: {frequency.bilateral_citation}."


def _reached(
    session: ProposedSession,
    pool: Pool,
    day: date,
    injections: int,
    window: Breach,
    ledger: Ledger,
    policy: AppliedPolicy,
    *,
    worded: bool,
) -> Finding:
    limits = policy.payer.frequency.limits
    after = ledger.copy()
    after.add(day, injections)
    following = after.earliest_compliant(day + timedelta(days=1), 1, limits, additional=True)
    eligible = f"next eligible date {following.isoformat()}" if following else "no eligible date within 3 years"
    last_day = window.window_end - timedelta(days=1)
    return Finding(
        rule=RuleId.FREQUENCY_LIMIT_REACHED,
        severity=Severity.WARNING,
        summary=_clip(
            ("Check the session count: likely uses" if worded else "Uses")
            + f" the last {_pool_label(pool)} session of {_window_words(window.limit)}; {eligible}"
        ),
        detail=(
            f"This session on {day.isoformat()} is allowed by {policy.named} but uses the last one the window "
            f"{window.window_start.isoformat()} to {last_day.isoformat()} allows: {window.measure}. After it, "
            + (f"the next eligible date is {following.isoformat()}." if following else "none is within 3 years.")
            + (_WORDED if worded else "")
            + f"\n\n{policy.payer.frequency.citation}."
            + policy.caveat
        ),
        subject=session.source,
        citing=policy.citing,
        session=day,
    )


def _another_region_that_day(
    session: ProposedSession, history: SessionHistory, policy: AppliedPolicy
) -> Iterable[Finding]:
    """One region per date of service, counting the sessions on record and booked: a second region that day is no
    new session the policy allows (draft orders of one request are judged together by the session limits)."""
    limits = policy.payer.session_limits
    counted = session.counted
    if limits is None or limits.max_regions is None or counted is None or counted.region is None:
        return
    others = history.regions_on.get(session.on, set()) - {counted.region}
    if len(others) + 1 <= limits.max_regions:
        return
    other_labels = " and ".join(sorted(region.label for region in others))
    day = session.on.isoformat()
    yield Finding(
        rule=RuleId.LEVELS_EXCEEDED,
        severity=Severity.WARNING,
        summary=_clip(
            ("Check the regions: a " if counted.inferred else "A ")
            + f"{other_labels} session is already on record for {day}: the policy allows "
            f"{plural(limits.max_regions, 'region')} per date"
        ),
        detail=(
            f"{policy.named} allows {plural(limits.max_regions, 'spinal region')} per date of service. "
            f"The record already holds a {other_labels} injection on {day}, performed or booked; this "
            f"{counted.region.label} session would be a second region that day. Schedule it on another date."
            + (_WORDED if counted.inferred else "")
            + f"\n\n{limits.citation}."
            + policy.caveat
        ),
        subject=session.source,
        citing=policy.citing,
        session=session.on,
    )


def _exempt(session: ProposedSession, policy: AppliedPolicy) -> Finding:
    return Finding(
        rule=RuleId.FREQUENCY_EXEMPT,
        severity=Severity.INFO,
        summary="Infusion pump trial: not counted against the injection frequency limit",
        detail=(
            f"The order's reason marks it as an implantable infusion pump trial, which {policy.named} does not "
            f"count: {policy.payer.frequency.exemptions.citation or 'listed as exempt in the policy'}."
        ),
        subject=session.source,
        citing=policy.citing,
    )


def session_budget(history: SessionHistory, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """Sessions used and left in each window, booked sessions and the next eligible date, for each pool with a session
    inside the policy's longest window or a booking ahead: an injection years ago limits nothing, and a card about it
    on every chart opening would teach the front desk to ignore the card.

    The card is a warning only when some window has no session left; a next eligible date after today with sessions
    left (the patient was injected today) is information."""
    findings: list[Finding] = []
    limits = policy.payer.frequency.limits
    longest = max(limit.months for limit in limits)
    stale: dict[Pool, list[date]] = {}
    for pool, booking in history.stale_bookings:
        if booking.on is not None:
            stale.setdefault(pool, []).append(booking.on)
    for pool in sorted({*history.pools, *stale}, key=_pool_label):
        ledger = history.ledger(pool)
        upcoming = sorted(day for day in ledger.booked if day >= as_of)
        if not upcoming and not ledger.used_in_window_ending(as_of, longest) and pool not in stale:
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
                    f"- {len(used)} of {plural(limit.max_sessions, 'session')} used in the last {limit.months} "
                    f"months; {left} left counting booked sessions"
                )
                short.append(f"{len(used)}/{limit.max_sessions} used in {limit.months} mo")
            if limit.max_injections is not None:
                injections = sum(ledger.injections_on[day] for day in used)
                injections_left = max(limit.max_injections - fullest.injections, 0)
                none_left = none_left or injections_left == 0
                lines.append(
                    f"- {injections} of {plural(limit.max_injections, 'injection')} used in the last "
                    f"{limit.months} months; {injections_left} left counting booked sessions"
                )
        if upcoming:
            lines.append("- Booked: " + ", ".join(day.isoformat() for day in upcoming))
            short.append(f"{len(upcoming)} booked")
        lines.extend(_why_these_numbers(ledger, stale.get(pool, []), history.not_sessions.get(pool, 0)))
        lines.extend(_not_counted_codes(history, pool, as_of, longest))
        next_eligible = ledger.earliest_compliant(as_of, 1, list(limits), additional=True)
        eligible_words = (
            f"next eligible date {next_eligible.isoformat()}" if next_eligible else "no eligible date within 3 years"
        )
        findings.append(
            Finding(
                rule=RuleId.FREQUENCY_BUDGET,
                severity=Severity.WARNING if none_left else Severity.INFO,
                summary=_clip(f"ESI sessions ({_pool_label(pool)}): {'; '.join(short)}; {eligible_words}"),
                detail=(
                    f"Under {policy.named}, {_pool_label(pool)}:\n"
                    + "\n".join(lines)
                    + f"\n\n{eligible_words[0].upper()}{eligible_words[1:]} for a new, separate session."
                    + policy.caveat
                ),
                citing=policy.citing,
            )
        )
    return findings


def _why_these_numbers(ledger: Ledger, stale: Sequence[date], not_sessions: int) -> list[str]:
    """What a reader needs to trust the counts: what was left out, and what rests on words."""
    lines = []
    if not_sessions:
        lines.append(
            f"- {plural(not_sessions, 'perioperative or labour epidural')} "
            f"{'was' if not_sessions == 1 else 'were'} not counted: not an epidural steroid injection."
        )
    if stale:
        days = ", ".join(day.isoformat() for day in sorted(stale))
        lines.append(
            f"- {plural(len(stale), 'past appointment')} still marked booked ({days}) "
            f"{'was' if len(stale) == 1 else 'were'} not counted: nothing shows the injection took place. Record "
            "the injection, or update the appointment."
        )
    booked = sorted(day for day in ledger.inferred if day in ledger.booked)
    if booked:
        lines.append(
            f"- {plural(len(booked), 'session')} "
            f"({', '.join(day.isoformat() for day in booked)}) "
            f"{'is' if len(booked) == 1 else 'are'} known only from the appointment's words, not a code or a "
            "known visit type."
        )
    performed = sorted(day for day in ledger.inferred if day not in ledger.booked)
    if performed:
        lines.append(
            f"- {plural(len(performed), 'session')} "
            f"({', '.join(day.isoformat() for day in performed)}) "
            f"{'was' if len(performed) == 1 else 'were'} counted from the words of a procedure recorded with no "
            "code: check what was done, and code it."
        )
    return lines


def _not_counted_codes(history: SessionHistory, pool: Pool, as_of: date, months: int) -> list[str]:
    """Injections inside the policy's longest window whose code it does not count, one line per code."""
    start = add_months(as_of, -months)
    days_by_code: dict[str, list[date]] = {}
    for where, day, code in history.uncounted:
        if where == pool and start < day <= as_of:
            days_by_code.setdefault(code, []).append(day)
    return [
        f"- {plural(len(days), 'injection')} coded {code} ({', '.join(day.isoformat() for day in sorted(days))}) "
        f"{'is' if len(days) == 1 else 'are'} not counted: the policy does not count {code}."
        for code, days in sorted(days_by_code.items())
    ]


def _clip(summary: str) -> str:
    return summary if len(summary) < 140 else summary[:136].rstrip() + "…"


def proposed_orders(facts: HookFacts, history: SessionHistory, as_of: date) -> list[ProposedSession]:
    """Each draft injection order as a session on its requested date (today when it has none); an order with no
    code counts by its words. Shared by the rules of one call: callers must not change it."""
    return facts.derived("proposed-orders", (history, as_of), lambda: _proposed_orders(facts, history, as_of))


def _proposed_orders(facts: HookFacts, history: SessionHistory, as_of: date) -> list[ProposedSession]:
    reader = history.reader
    proposed = []
    for order in facts.orders:
        not_a_session = reader.is_not_a_session(
            order.codes, order.text, order.reason_codes, catheter=bool(order.intent.catheter)
        )
        proposed.append(
            ProposedSession(
                source=order.source,
                code=order.code,
                intent=order.intent,
                reason_codes=order.reason_codes,
                on=order.occurrence or as_of,
                injections=injections_in(order.units, order.modifiers, history.frequency),
                counted=None if not_a_session else reader.order(order.code, order.intent),
            )
        )
    return proposed


def proposed_bookings(facts: HookFacts, history: SessionHistory, as_of: date) -> list[ProposedSession]:
    """Each proposed appointment as a session: by its codes, its local type, or its words. Shared by the rules of one
    call: callers must not change it."""
    return facts.derived("proposed-bookings", (history, as_of), lambda: _proposed_bookings(facts, history, as_of))


def _proposed_bookings(facts: HookFacts, history: SessionHistory, as_of: date) -> list[ProposedSession]:
    reader = history.reader
    proposed = []
    for booking in facts.proposed:
        not_a_session = reader.is_not_a_session(booking.codes, booking.text, (), catheter=bool(booking.intent.catheter))
        proposed.append(
            ProposedSession(
                source=booking.source,
                code=reader.booking_code(booking),
                intent=booking.intent,
                reason_codes=(),
                on=booking.on or as_of,
                injections=1,
                counted=None if not_a_session else reader.booking(booking),
            )
        )
    return proposed


def order_frequency(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    history = SessionHistory.of(facts, policy, as_of)
    return check_sessions(proposed_orders(facts, history, as_of), history, policy)


def booking_frequency(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    """Each proposed appointment, counting the patient's other booked sessions but not itself."""
    history = SessionHistory.of(facts, policy, as_of)
    return check_sessions(proposed_bookings(facts, history, as_of), history, policy)


def budget(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return session_budget(SessionHistory.of(facts, policy, as_of), policy, as_of)
