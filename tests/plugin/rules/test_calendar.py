from datetime import date

import pytest

from plugin.rules.calendar import add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 12, 1), -12, date(2025, 12, 1)),
    ],
)
def test_add_months_moves_by_calendar_months_clamped_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected
