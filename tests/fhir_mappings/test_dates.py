from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from fhir_mappings.dates import calendar_date, date_time, earlier


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-08-10T08:50:00-05:00", datetime(2026, 8, 10, 8, 50, tzinfo=timezone(timedelta(hours=-5)))),
        ("2026-08-10T23:30-05:00", datetime(2026, 8, 10, 23, 30, tzinfo=timezone(timedelta(hours=-5)))),
        ("2026-08-10T09:40:00", datetime(2026, 8, 10, 9, 40)),
        ("2026-08-10T09:40:00.25Z", datetime(2026, 8, 10, 9, 40, 0, 250000, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_a_date_time_keeps_its_time_of_day_and_offset_as_written(value: str, expected: datetime) -> None:
    moment = date_time(value)
    assert moment == expected
    assert moment is not None
    assert moment.utcoffset() == expected.utcoffset()
    assert moment.date() == calendar_date(value)


@pytest.mark.parametrize("value", ["2026-08-10", "2026-08", "2026-02-30T09:00:00Z", "2026-08-10T09:00:00+99:99", None])
def test_a_value_without_a_time_of_day_or_a_valid_day_gives_no_moment(value: object) -> None:
    assert date_time(value) is None


def test_moments_with_offsets_compare_as_instants_and_without_one_by_the_clock() -> None:
    pre = date_time("2026-08-10T13:50:00Z")  # 08:50 in Chicago
    procedure = date_time("2026-08-10T09:00:00-05:00")
    assert pre is not None
    assert procedure is not None
    assert earlier(pre, procedure)
    assert not earlier(procedure, pre)
    local = date_time("2026-08-10T08:50:00")
    assert local is not None
    assert earlier(local, procedure)
    assert not earlier(procedure, local)
