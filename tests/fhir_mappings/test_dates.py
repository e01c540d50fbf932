from datetime import date

import pytest

from fhir_mappings.dates import calendar_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-10", date(2026, 3, 10)),
        ("2026-03-10T23:30:00-05:00", date(2026, 3, 10)),
        ("2026-03-10T23:30-05:00", date(2026, 3, 10)),
        ("2026-03-11T00:30:00+09:00", date(2026, 3, 11)),
        ("2026-03-10T09:00:00", date(2026, 3, 10)),
        ("2026-03-10T09:00:00.123Z", date(2026, 3, 10)),
        ("2028-02-29", date(2028, 2, 29)),
    ],
)
def test_a_date_time_names_the_day_in_its_own_offset(value: str, expected: date) -> None:
    assert calendar_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026",
        "2026-03",
        "2026-02-30",
        "2027-02-29",
        "10/03/2026",
        "2026-03-10T25:00:00Z",
        "",
        None,
        20260310,
        "garbage",
    ],
)
def test_values_that_name_no_single_day_give_none(value: object) -> None:
    assert calendar_date(value) is None
