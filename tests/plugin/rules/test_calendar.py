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


def test_a_window_past_the_last_representable_year_is_clamped_not_an_error() -> None:
    # Found by the service fuzzing: a Procedure dated in year 9999 made the whole frequency check fail.
    assert add_months(date(9999, 6, 1), 12) == date.max
    assert add_months(date(1, 6, 1), -12) == date.min
