from datetime import date, timedelta

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
