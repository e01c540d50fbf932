from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.policies.schema import WindowLimit
from plugin.rules.calendar import add_months
from plugin.rules.sessions import Ledger

START = date(2026, 1, 1)


def naive_earliest(ledger: Ledger, day: date, injections: int, limits: list[WindowLimit]) -> date | None:
    """The definition, a day at a time: what the jumping search must always agree with."""
    candidate = day
    while candidate <= add_months(day, 36):
        if ledger.breach(candidate, injections, limits) is None:
            return candidate
        candidate += timedelta(days=1)
    return None


limits_strategy = st.lists(
    st.builds(
        WindowLimit,
        months=st.integers(1, 12),
        max_sessions=st.one_of(st.none(), st.integers(0, 4)),
        max_injections=st.integers(1, 8),
    ),
    min_size=1,
    max_size=2,
)


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(
    sessions=st.lists(st.tuples(st.integers(0, 700), st.integers(1, 3), st.booleans()), max_size=12),
    offset=st.integers(0, 730),
    injections=st.integers(1, 2),
    limits=limits_strategy,
)
def test_earliest_compliant_date_agrees_with_trying_every_day(
    sessions: list[tuple[int, int, bool]], offset: int, injections: int, limits: list[WindowLimit]
) -> None:
    ledger = Ledger()
    for days, count, booked in sessions:
        ledger.add(START + timedelta(days=days), count, booked=booked)
    day = START + timedelta(days=offset)
    assert ledger.earliest_compliant(day, injections, limits) == naive_earliest(ledger, day, injections, limits)


def test_booking_on_a_counted_day_adds_no_injections() -> None:
    ledger = Ledger()
    ledger.add(START, 2)
    ledger.add(START, 1, booked=True)
    assert ledger.injections_on[START] == 2
    assert START not in ledger.booked


def naive_worst(ledger: Ledger, day: date, injections: int, limit: WindowLimit, adding: bool) -> tuple[int, int, date]:
    """The definition: every window starting on a session or on `day` that holds `day`, counted date by date; the
    earliest of the fullest."""
    worst: tuple[int, int, date] | None = None
    for start in [*(d for d in ledger.dates if d <= day < add_months(d, limit.months)), day]:
        inside = [d for d in ledger.dates if start <= d < add_months(start, limit.months)]
        added = adding and day not in ledger.injections_on
        counted = (
            len(inside) + added,
            sum(ledger.injections_on[d] for d in inside) + (injections if adding else 0),
            start,
        )
        if worst is None or counted[:2] > worst[:2]:
            worst = counted
    assert worst is not None
    return worst


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(
    sessions=st.lists(st.tuples(st.integers(0, 700), st.integers(1, 3), st.booleans()), max_size=12),
    offset=st.integers(0, 730),
    injections=st.integers(0, 2),
    limit=limits_strategy.map(lambda limits: limits[0]),
    adding=st.booleans(),
)
def test_fullest_window_agrees_with_counting_every_window(
    sessions: list[tuple[int, int, bool]], offset: int, injections: int, limit: WindowLimit, adding: bool
) -> None:
    ledger = Ledger()
    for days, count, booked in sessions:
        ledger.add(START + timedelta(days=days), count, booked=booked)
    day = START + timedelta(days=offset)
    ledger.worst_window(day, injections, limit)  # measured once before the next one, as the date search does
    window = ledger.worst_window(day, injections, limit, adding=adding)
    assert (window.sessions, window.injections, window.window_start) == naive_worst(
        ledger, day, injections, limit, adding
    )


def test_a_copy_counts_apart_from_its_original() -> None:
    ledger = Ledger()
    ledger.add(START, 1)
    limit = WindowLimit(months=12, max_sessions=4, max_injections=None)
    ledger.worst_window(START, 1, limit)
    copy = ledger.copy()
    copy.add(START + timedelta(days=30), 2)
    assert ledger.dates == [START]
    assert ledger.worst_window(START, 1, limit, adding=False).injections == 1
    assert copy.worst_window(START, 1, limit, adding=False).injections == 3
