"""Counting sessions as the domain reference defines them.

A session is a calendar date with at least one counted injection; a window of N months starting on day S covers
[S, S + N calendar months). A session on day D breaks a cap when some window containing D would hold more sessions
(or injections) than the cap, counting past sessions, other booked sessions and D itself.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from fhir_mappings.facts import BookedSession, PerformedInjection, StatedIntent
from fhir_mappings.spine import SpinalRegion, injection_codes
from plugin.policies.schema import Frequency, WindowLimit
from plugin.rules.calendar import add_months
from plugin.rules.hook_facts import HookFacts

# Appointments in these states hold a slot (FHIR R4 AppointmentStatus); proposed, cancelled, noshow and the rest do not.
RESERVING_STATUSES = frozenset({"booked", "pending", "arrived", "checked-in"})
# Bilateral modifier 50 on one line is two injections for injection caps.
_BILATERAL = "50"

Pool = SpinalRegion | None
"""The group a session counts in: its region for per-region policies, None for policies counting all regions."""


@dataclass(frozen=True, slots=True)
class Breach:
    limit: WindowLimit
    window_start: date
    window_end: date
    sessions: int
    injections: int

    @property
    def measure(self) -> str:
        over_sessions = self.limit.max_sessions is not None and self.sessions > self.limit.max_sessions
        if over_sessions or self.limit.max_injections is None:
            return f"{self.sessions} sessions (cap {self.limit.max_sessions})"
        return f"{self.injections} injections (cap {self.limit.max_injections})"


@dataclass
class Ledger:
    """Sessions of one pool: distinct dates with the injections given on each."""

    injections_on: dict[date, int] = field(default_factory=dict)
    booked: set[date] = field(default_factory=set)
    # The session dates in order, the injections on the sessions before each of them, and the windows starting on
    # each session by their length in months (`_windows`): worked out when first needed and dropped by any change,
    # so a whole history is added a session at a time and sorted once.
    _dates: list[date] | None = field(default=None, repr=False, compare=False)
    _before: list[int] | None = field(default=None, repr=False, compare=False)
    _starting: dict[int, tuple[list[date], list[tuple[int, int, int]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def copy(self) -> Ledger:
        return Ledger(dict(self.injections_on), set(self.booked))

    def add(self, day: date, injections: int, *, booked: bool = False) -> None:
        self._dates = None
        self._before = None
        self._starting = {}
        if day in self.injections_on:
            # A booking on a day already counted is the same session, not more injections.
            if not booked:
                self.injections_on[day] += injections
                self.booked.discard(day)
            return
        self.injections_on[day] = injections
        if booked:
            self.booked.add(day)

    @property
    def dates(self) -> list[date]:
        if self._dates is None:
            self._dates = sorted(self.injections_on)
        return self._dates

    def _injections_before(self) -> list[int]:
        if self._before is None:
            self._before = [0, *itertools.accumulate(self.injections_on[day] for day in self.dates)]
        return self._before

    def _count(self, start: date, end: date) -> tuple[int, int]:
        """(sessions, injections) in [start, end)."""
        before = self._injections_before()
        low = bisect.bisect_left(self.dates, start)
        high = bisect.bisect_left(self.dates, end, low)
        return high - low, before[high] - before[low]

    def _windows(self, months: int) -> tuple[list[date], list[tuple[int, int, int]]]:
        """For the window of `months` starting on each session: its end, and (sessions, injections, -position) in it.

        Every window the frequency rules judge starts on a session or on the day judged, and the earliest-date search
        judges many days against the same sessions: working each session's window out once makes the fullest of a
        run of them one `max`, where the negative position lets the earliest of equally full windows win.
        """
        windows = self._starting.get(months)
        if windows is None:
            ends = [add_months(start, months) for start in self.dates]
            counts = [
                (*self._count(start, end), -position)
                for position, (start, end) in enumerate(zip(self.dates, ends, strict=True))
            ]
            windows = self._starting[months] = (ends, counts)
        return windows

    def worst_window(self, day: date, injections: int, limit: WindowLimit, *, adding: bool = True) -> Breach:
        """The window containing `day` that is fullest once a session with `injections` is added on `day` (or as it
        stands, when not `adding`): of those starting on a session before it that reach it, and the one starting on
        `day`, the earliest of the fullest."""
        ends, counts = self._windows(limit.months)
        first = bisect.bisect_right(ends, day)
        last = bisect.bisect_right(self.dates, day)
        added_sessions = 1 if adding and day not in self.injections_on else 0
        added_injections = injections if adding else 0
        end = add_months(day, limit.months)
        sessions, total = self._count(day, end)
        worst = (sessions + added_sessions, total + added_injections)
        if first < last:
            sessions, total, position = max(counts[first:last])
            if (sessions + added_sessions, total + added_injections) >= worst:
                return Breach(
                    limit, self.dates[-position], ends[-position], sessions + added_sessions, total + added_injections
                )
        return Breach(limit, day, end, *worst)

    def breach(self, day: date, injections: int, limits: Iterable[WindowLimit]) -> Breach | None:
        for limit in limits:
            window = self.worst_window(day, injections, limit)
            if _over(window, limit):
                return window
        return None

    def earliest_compliant(
        self, day: date, injections: int, limits: list[WindowLimit], *, additional: bool = False
    ) -> date | None:
        """The first day on or after `day` on which such a session breaks no cap (None within three years).

        With `additional`, the session must be one more than those on record: days that already hold one are passed
        over, since a second visit that day would only join that session.
        """
        horizon = add_months(day, 36)
        candidate = day
        while candidate <= horizon:
            if additional and candidate in self.injections_on:
                candidate += timedelta(days=1)
                continue
            window = self.breach(candidate, injections, limits)
            if window is None:
                return candidate
            candidate = self._next_to_try(candidate, window)
        return None

    def _next_to_try(self, day: date, window: Breach) -> date:
        """The next day that can comply after a session on `day` broke `window`'s session cap.

        Every day after `day`, up to the window's end and before the next session on record, lies in a window that
        holds all of `window`'s sessions plus its own, so it breaks the same cap: trying each of them day by day made
        this loop the hot spot of the frequency rules. After an injection-cap breach the next day is tried, as before.
        """
        following = day + timedelta(days=1)
        limit = window.limit
        if limit.max_sessions is None or window.sessions <= limit.max_sessions:
            return following
        later = bisect.bisect_right(self.dates, day)
        next_session = self.dates[later] if later < len(self.dates) else window.window_end
        return max(following, min(window.window_end, next_session))

    def used_in_window_ending(self, day: date, months: int) -> list[date]:
        """Sessions on or before `day` in the window of `months` that ends with `day`."""
        first = bisect.bisect_right(self.dates, day, key=lambda start: add_months(start, months))
        return [d for d in self.dates[first : bisect.bisect_right(self.dates, day)] if d not in self.booked]


def _over(window: Breach, limit: WindowLimit) -> bool:
    return (limit.max_sessions is not None and window.sessions > limit.max_sessions) or (
        limit.max_injections is not None and window.injections > limit.max_injections
    )


def at_cap(window: Breach) -> bool:
    limit = window.limit
    return (limit.max_sessions is not None and window.sessions == limit.max_sessions) or (
        limit.max_injections is not None and window.injections == limit.max_injections
    )


def is_exempt(frequency: Frequency, intent: StatedIntent, reason_codes: Iterable[str]) -> bool:
    exemptions = frequency.exemptions
    if exemptions.pump_trial and intent.pump_trial:
        return True
    return bool(exemptions.reason_codes) and any(code in exemptions.reason_codes for code in reason_codes)


def pool_of(frequency: Frequency, code: str | None, intent: StatedIntent) -> tuple[bool, Pool]:
    """(known, pool): the pool a code counts in, and whether it could be told."""
    if frequency.scope == "combined":
        return True, None
    entry = injection_codes().get(code)
    if entry is not None and entry.region is not None:
        return True, entry.region
    regions = {level.billing_region for level in intent.levels} or set(intent.body_site_regions)
    if len(regions) == 1:
        return True, regions.pop()
    return False, None


def injections_in(code_units: int, modifiers: Iterable[str]) -> int:
    return code_units * (2 if _BILATERAL in modifiers else 1)


@dataclass
class SessionHistory:
    """Every counted session of a patient under one policy, pooled by region (or all together).

    One history serves every rule of a hook call (`of`), so none changes it once built: a rule that counts proposed
    sessions in adds them to a copy of the pool's ledger.
    """

    frequency: Frequency
    pools: dict[Pool, Ledger] = field(default_factory=dict)
    bookings: list[tuple[Pool, BookedSession]] = field(default_factory=list)

    def counts(self, code: str | None) -> bool:
        return code is not None and code in self.frequency.counted_codes

    def ledger(self, pool: Pool) -> Ledger:
        """The pool's sessions; a new empty ledger, not kept, for a pool without any."""
        ledger = self.pools.get(pool)
        return Ledger() if ledger is None else ledger

    @classmethod
    def of(cls, facts: HookFacts, frequency: Frequency) -> SessionHistory:
        """The call's history: performed injections and bookings on record, except the appointments being booked,
        which are judged rather than counted. Built once per call and shared."""
        return facts.derived(
            "session-history",
            (frequency,),
            lambda: cls.build(
                frequency,
                facts.record.performed,
                facts.record.bookings,
                exclude=[booking.source for booking in facts.proposed],
            ),
        )

    @classmethod
    def build(
        cls,
        frequency: Frequency,
        performed: Iterable[PerformedInjection],
        bookings: Iterable[BookedSession],
        *,
        exclude: Iterable[str] = (),
    ) -> SessionHistory:
        history = cls(frequency)
        excluded = set(exclude)
        counted = set(frequency.counted_codes)
        for injection in performed:
            if injection.code not in counted or not injection.counts_as_performed:
                continue
            if is_exempt(frequency, injection.intent, injection.reason_codes):
                continue
            known, pool = pool_of(frequency, injection.code, injection.intent)
            if known:
                history.pools.setdefault(pool, Ledger()).add(
                    injection.performed_on, injections_in(injection.units, injection.modifiers)
                )
        for booking in bookings:
            if booking.source in excluded or booking.status not in RESERVING_STATUSES or booking.on is None:
                continue
            code = next((c for c in booking.codes if c in counted), None)
            if code is None or is_exempt(frequency, booking.intent, ()):
                continue
            known, pool = pool_of(frequency, code, booking.intent)
            if known:
                history.pools.setdefault(pool, Ledger()).add(booking.on, 1, booked=True)
                history.bookings.append((pool, booking))
        return history
