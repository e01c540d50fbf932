"""FHIR date and dateTime values → calendar dates and times of day, in the value's own offset.

A session on 2026-03-10T23:30-05:00 happened on 10 March where the patient was, so the date is read as written and
never shifted to UTC (domain reference, section 3). The time of day is kept apart, for what happens within one day:
a pain score taken before the injection that day is the baseline, one taken after it is not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

# FHIR R4 dateTime: year, optional month/day, optional time with a zone (the spec requires one; EHRs often omit it).
# The clock's ranges are in the pattern (hours 00-23, minutes 00-59, seconds up to a leap second 60.x), so one match
# decides validity: dates are read for every resource of a history.
_DATE_TIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d|60)(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def _day(match: re.Match[str]) -> date | None:
    year, month, day = match.group(1, 2, 3)
    if day is None:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def calendar_date(value: object) -> date | None:
    """The day a FHIR date/dateTime names, or None when it names no single valid day (partial or malformed)."""
    if not isinstance(value, str):
        return None
    match = _DATE_TIME.fullmatch(value.strip())
    return None if match is None else _day(match)


def date_time(value: object) -> datetime | None:
    """The moment a FHIR dateTime names, on the day `calendar_date` reads: with its offset when it has one (naive when
    the EHR left it out), None when it gives no time of day or names no single valid day."""
    if not isinstance(value, str):
        return None
    match = _DATE_TIME.fullmatch(value.strip())
    if match is None or match.group(4) is None:
        return None
    day = _day(match)
    if day is None:
        return None
    hour, minute, second, fraction, zone = match.group(4, 5, 6, 7, 8)
    try:
        zone_info = None if zone is None else UTC if zone == "Z" else _offset(zone)
    except ValueError:
        return None  # an offset of a day or more ("+99:99") is no offset: the time cannot be placed
    return datetime(
        day.year,
        day.month,
        day.day,
        int(hour),
        int(minute),
        # A leap second is the last second of its minute, as Python has no 60th.
        min(int(second or 0), 59),
        int((fraction or "0")[:6].ljust(6, "0")),
        tzinfo=zone_info,
    )


def _offset(zone: str) -> timezone:
    sign = -1 if zone[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))


def earlier(first: datetime, second: datetime) -> bool:
    """Whether `first` comes before `second`: as instants when both carry an offset, else by the clock as written, since
    a time without an offset is the local time of the day it names (and the two are compared within one day)."""
    if (first.tzinfo is None) != (second.tzinfo is None):
        return first.replace(tzinfo=None) < second.replace(tzinfo=None)
    return first < second
