"""`calendar_date` and `date_time` on anything: a date (a moment on it) for a full, valid FHIR date or dateTime, None
for the rest, never an error."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.dates import calendar_date, date_time
from tests.fuzz.resource_shapes import FHIR_DATE_TIMES, JSON, ODD_STRINGS


@given(st.one_of(JSON, ODD_STRINGS, FHIR_DATE_TIMES))
def test_any_value_gives_a_date_or_none(value: Any) -> None:
    assert calendar_date(value) is None or isinstance(calendar_date(value), date)


@given(st.one_of(JSON, ODD_STRINGS, FHIR_DATE_TIMES))
def test_any_value_gives_a_moment_on_its_calendar_day_or_none(value: Any) -> None:
    moment = date_time(value)
    assert moment is None or moment.date() == calendar_date(value)


@given(st.dates())
def test_a_fhir_date_is_read_as_written(day: date) -> None:
    assert calendar_date(day.isoformat()) == day


@given(st.datetimes(timezones=st.timezones()))
def test_a_date_time_keeps_its_own_day_whatever_its_offset(moment: datetime) -> None:
    offset = moment.utcoffset()
    # FHIR zones are whole minutes (+hh:mm); historic zones with second offsets cannot be written in FHIR.
    whole_minutes = offset is None or offset.total_seconds() % 60 == 0

    assert calendar_date(moment.isoformat()) == (moment.date() if whole_minutes else None)


@given(st.from_regex(r"\A\d{4}(-\d{2})?\Z", fullmatch=True))
def test_a_partial_date_names_no_single_day(value: str) -> None:
    assert calendar_date(value) is None


@given(st.integers(1, 9999), st.integers(13, 99), st.integers(1, 28))
def test_an_impossible_month_is_no_date(year: int, month: int, day: int) -> None:
    assert calendar_date(f"{year:04d}-{month:02d}-{day:02d}") is None
