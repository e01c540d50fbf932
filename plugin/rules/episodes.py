"""Where a proposed session stands in its episode: the sessions of its region before it, and whether it belongs to the
policy's initial phase or is a repeat. Shared by the criteria that depend on it (interval, repeat response,
conservative care, diagnostic imaging, prior authorization by phase)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from fhir_mappings.spine import SpinalRegion
from plugin.policies.schema import PayerPolicy, Phase
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.calendar import add_months
from plugin.rules.frequency import ProposedSession, proposed_bookings, proposed_orders
from plugin.rules.hook_facts import HookFacts
from plugin.rules.sessions import Ledger, SessionHistory, is_exempt

# Without repeat criteria every session after the first in 12 months is a repeat.
_DEFAULT_EPISODE_MONTHS = 12


@dataclass(frozen=True, slots=True)
class Placed:
    """A proposed session with its policy version, its region's sessions on record, and its phase."""

    session: ProposedSession
    policy: PayerPolicy
    ledger: Ledger
    region: SpinalRegion | None
    earlier: tuple[date, ...]
    """Sessions of the region (performed or booked) in the episode before the session's day, oldest first."""
    phase: Phase

    @property
    def previous(self) -> date | None:
        return self.earlier[-1] if self.earlier else None

    def applies(self, phase: Phase) -> bool:
        return phase in ("any", self.phase)


def placed(facts: HookFacts, policy: AppliedPolicy, as_of: date, *, bookings: bool) -> tuple[Placed, ...]:
    """Each proposed order (or booking) the policy counts, placed in its episode; exempt sessions, and those whose
    region cannot be told under a per-region policy, are left out. Placed once per call: five criteria read it."""
    return facts.derived(
        "placed-bookings" if bookings else "placed-orders",
        (policy, as_of),
        lambda: tuple(_place(facts, policy, as_of, bookings=bookings)),
    )


def _place(facts: HookFacts, policy: AppliedPolicy, as_of: date, *, bookings: bool) -> Iterator[Placed]:
    history = SessionHistory.of(facts, policy, as_of)
    proposed = proposed_bookings(facts, history, as_of) if bookings else proposed_orders(facts, history, as_of)
    frequency = policy.payer.frequency
    for session in proposed:
        counted = session.counted
        if counted is None or counted.unplaced or is_exempt(frequency, session.intent, session.reason_codes):
            continue
        pool = counted.pool
        version = policy.on(session.on)
        repeat = version.repeat
        months = repeat.episode_months if repeat is not None else _DEFAULT_EPISODE_MONTHS
        initial = repeat.initial_sessions if repeat is not None else 1
        ledger = history.ledger(pool)
        earlier = tuple(day for day in ledger.dates if day < session.on and add_months(day, months) > session.on)
        phase: Phase = "initial" if len(earlier) < initial else "repeat"
        yield Placed(session, version, ledger, counted.region, earlier, phase)
