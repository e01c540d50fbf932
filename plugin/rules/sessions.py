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

from fhir_mappings.facts import BookedSession, OtherProcedure, PerformedInjection, StatedIntent
from fhir_mappings.spine import SpinalRegion, injection_codes
from plugin.policies.schema import Frequency, SessionTypes, WindowLimit
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.calendar import add_months
from plugin.rules.hook_facts import HookFacts
from plugin.rules.session_types import Counted, Pool, SessionReader

# Appointments in these states hold a slot (FHIR R4 AppointmentStatus); proposed, cancelled, noshow and the rest do not.
RESERVING_STATUSES = frozenset({"booked", "pending", "arrived", "checked-in"})
# A past appointment in these states was never confirmed as attended (arrived and checked-in were): not counted.
_UNCONFIRMED = frozenset({"booked", "pending"})
# Modifier 50 on one line is a bilateral injection; RT and LT lines of one code on one date are one too.
_BILATERAL = "50"
_SIDES = frozenset({"RT", "LT"})
_BILATERAL_WORDS = (_BILATERAL,)  # a bilateral injection stated in words counts as modifier 50 does


@dataclass(frozen=True, slots=True)
class Breach:
    limit: WindowLimit
    window_start: date
    window_end: date
    sessions: int
    injections: int

    @property
    def over_sessions(self) -> bool:
        """Whether the window holds too many sessions (else, or also at the cap, too many injections)."""
        over = self.limit.max_sessions is not None and self.sessions > self.limit.max_sessions
        return over or self.limit.max_injections is None

    @property
    def measure(self) -> str:
        if self.over_sessions:
            return f"{self.sessions} sessions (cap {self.limit.max_sessions})"
        return f"{self.injections} injections (cap {self.limit.max_injections})"


@dataclass
class Ledger:
    """Sessions of one pool: distinct dates with the injections given on each."""

    injections_on: dict[date, int] = field(default_factory=dict)
    booked: set[date] = field(default_factory=set)
    inferred: set[date] = field(default_factory=set)
    """Dates whose session rests on words alone (no code, no mapped appointment type)."""
    # The session dates in order, the injections on the sessions before each of them, and the windows starting on
    # each session by their length in months (`_windows`): worked out when first needed and dropped by any change,
    # so a whole history is added a session at a time and sorted once.
    _dates: list[date] | None = field(default=None, repr=False, compare=False)
    _before: list[int] | None = field(default=None, repr=False, compare=False)
    _starting: dict[int, tuple[list[date], list[tuple[int, int, int]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def copy(self) -> Ledger:
        return Ledger(dict(self.injections_on), set(self.booked), set(self.inferred))

    def add(self, day: date, injections: int, *, booked: bool = False, inferred: bool = False) -> None:
        self._dates = None
        self._before = None
        self._starting = {}
        if day in self.injections_on:
            if not inferred:
                self.inferred.discard(day)
            # A booking on a day already counted is the same session, not more injections.
            if not booked:
                self.injections_on[day] += injections
                self.booked.discard(day)
            return
        self.injections_on[day] = injections
        if booked:
            self.booked.add(day)
        if inferred:
            self.inferred.add(day)

    def rests_on_words(self, window: Breach) -> bool:
        """Whether a session of `window` was read from words alone, so a count over its cap is only likely."""
        return any(window.window_start <= day < window.window_end for day in self.inferred)

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


def injections_in(code_units: int, modifiers: Iterable[str], frequency: Frequency) -> int:
    """Injections of one line: a bilateral line (modifier 50) counts as the policy says, one or two per level."""
    return code_units * (frequency.bilateral_injections if _BILATERAL in modifiers else 1)


@dataclass
class SessionHistory:
    """Every counted session of a patient under one policy, pooled by region (or all together).

    One history serves every rule of a hook call (`of`), so none changes it once built: a rule that counts proposed
    sessions in adds them to a copy of the pool's ledger.
    """

    frequency: Frequency
    reader: SessionReader
    pools: dict[Pool, Ledger] = field(default_factory=dict)
    bookings: list[tuple[Pool, BookedSession]] = field(default_factory=list)
    regions_on: dict[date, set[SpinalRegion]] = field(default_factory=dict)
    """The regions of the counted sessions on each date, whatever the policy's pools."""
    stale_bookings: list[tuple[Pool, BookedSession]] = field(default_factory=list)
    """Past appointments still marked booked or pending: not counted, since nothing shows they took place."""
    not_sessions: dict[Pool, int] = field(default_factory=dict)
    """Perioperative and labour epidurals on record or booked, by pool: not counted."""
    uncounted: list[tuple[Pool, date, str]] = field(default_factory=list)
    """Spinal injections on record whose code the policy does not count: (pool, date, code)."""
    _sides: dict[tuple[Pool, date, str], set[str]] = field(default_factory=dict, repr=False, compare=False)
    """The sides (RT, LT) counted for each code on each date, while the history is built."""

    def counts(self, code: str | None) -> bool:
        return self.reader.counts(code)

    def ledger(self, pool: Pool) -> Ledger:
        """The pool's sessions; a new empty ledger, not kept, for a pool without any."""
        ledger = self.pools.get(pool)
        return Ledger() if ledger is None else ledger

    @classmethod
    def of(cls, facts: HookFacts, policy: AppliedPolicy, as_of: date) -> SessionHistory:
        """The call's history: performed injections and bookings on record, except the appointments being booked,
        which are judged rather than counted. Built once per call and shared."""
        frequency = policy.payer.frequency
        return facts.derived(
            "session-history",
            (frequency, policy.session_types, as_of),
            lambda: cls.build(
                frequency,
                facts.record.performed,
                facts.record.bookings,
                types=policy.session_types,
                as_of=as_of,
                exclude=[booking.source for booking in facts.proposed],
                uncoded=facts.record.other_procedures,
            ),
        )

    @classmethod
    def build(
        cls,
        frequency: Frequency,
        performed: Iterable[PerformedInjection],
        bookings: Iterable[BookedSession],
        *,
        types: SessionTypes | None = None,
        as_of: date | None = None,
        exclude: Iterable[str] = (),
        uncoded: Iterable[OtherProcedure] = (),
    ) -> SessionHistory:
        """`as_of` is the day the history is read on: an appointment before it still marked booked is not counted.
        `uncoded` are procedures with no procedure code; those whose words record an injection count as sessions
        read from words."""
        history = cls(frequency, SessionReader(frequency, types))
        for injection in performed:
            history._add_performed(injection)
        for procedure in uncoded:
            history._add_performed_in_words(procedure)
        excluded = set(exclude)
        for booking in bookings:
            if booking.source in excluded or booking.status not in RESERVING_STATUSES or booking.on is None:
                continue
            history._add_booking(booking, booking.on, stale=as_of is not None and booking.on < as_of)
        return history

    def _add_performed(self, injection: PerformedInjection) -> None:
        reader = self.reader
        if not injection.counts_as_performed:
            return
        if not reader.counts(injection.code):
            self._note_uncounted(injection)
            return
        intent = injection.intent
        counted = reader.coded(injection.code, intent)
        if counted is None:
            return
        # Perioperative and labour epidurals are catheters; only those are read for it, which keeps the notes of a
        # long history of single shots unread here.
        if reader.is_catheter(injection.code, intent) and reader.is_not_a_session(
            (injection.code,), " ".join(injection.notes), injection.reason_codes, catheter=True
        ):
            self.not_sessions[counted.pool] = self.not_sessions.get(counted.pool, 0) + 1
            return
        if is_exempt(self.frequency, intent, injection.reason_codes):
            return
        injections = injections_in(injection.units, injection.modifiers, self.frequency)
        if self.frequency.bilateral_injections == 1 and self._other_side_on_record(injection, counted.pool):
            injections = 0
        self._count(counted, injection.performed_on, injections, booked=False)

    def _add_performed_in_words(self, procedure: OtherProcedure) -> None:
        """An injection recorded only in words, counted as an uncoded order is: by the codes its words could be, in
        the region they name. With no region under a per-region policy it is left out, as an unplaced booking is."""
        intent = procedure.intent
        if intent is None or procedure.status != "completed" or procedure.performed_on is None:
            return
        reader = self.reader
        counted = reader.named(intent, procedure.text)
        if counted is None or counted.unplaced:
            return
        if reader.is_not_a_session((), procedure.text, procedure.reason_codes, catheter=bool(intent.catheter)):
            self.not_sessions[counted.pool] = self.not_sessions.get(counted.pool, 0) + 1
            return
        if is_exempt(self.frequency, intent, procedure.reason_codes):
            return
        injections = injections_in(1, _BILATERAL_WORDS if intent.bilateral else (), self.frequency)
        self._count(counted, procedure.performed_on, injections, booked=False)

    def _note_uncounted(self, injection: PerformedInjection) -> None:
        """A spinal injection whose code the policy does not count (62322 under Molina), kept so the budget card can
        say why it is not in the numbers."""
        entry = injection_codes().get(injection.code)
        if entry is None or entry.add_on_to is not None:
            return
        pool = None if self.frequency.scope == "combined" else entry.region
        if pool is not None or self.frequency.scope == "combined":
            self.uncounted.append((pool, injection.performed_on, injection.code))

    def _other_side_on_record(self, injection: PerformedInjection, pool: Pool) -> bool:
        """Whether this RT or LT line is the other side of a line already counted: one bilateral injection."""
        side = next((modifier for modifier in injection.modifiers if modifier in _SIDES), None)
        if side is None:
            return False
        key = (pool, injection.performed_on, injection.code)
        sides = self._sides.setdefault(key, set())
        paired = bool(sides - {side})
        sides.add(side)
        return paired

    def _add_booking(self, booking: BookedSession, on: date, *, stale: bool) -> None:
        reader = self.reader
        counted = reader.booking(booking)
        if counted is None or counted.unplaced:
            return
        if reader.is_not_a_session(booking.codes, booking.text, (), catheter=bool(booking.intent.catheter)):
            self.not_sessions[counted.pool] = self.not_sessions.get(counted.pool, 0) + 1
            return
        if stale and booking.status in _UNCONFIRMED:
            self.stale_bookings.append((counted.pool, booking))
            return
        if is_exempt(self.frequency, booking.intent, ()):
            return
        self._count(counted, on, 1, booked=True)
        self.bookings.append((counted.pool, booking))

    def _count(self, counted: Counted, day: date, injections: int, *, booked: bool) -> None:
        self.pools.setdefault(counted.pool, Ledger()).add(day, injections, booked=booked, inferred=counted.inferred)
        if counted.region is not None:
            self.regions_on.setdefault(day, set()).add(counted.region)
