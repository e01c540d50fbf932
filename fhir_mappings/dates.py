"""FHIR date and dateTime values → calendar dates, in the value's own offset.

A session on 2026-03-10T23:30-05:00 happened on 10 March where the patient was, so the date is read as written and
never shifted to UTC (domain reference, section 3).
"""

from __future__ import annotations

import re
from datetime import date

# FHIR R4 dateTime: year, optional month/day, optional time with a zone (the spec requires one; EHRs often omit it).
# The clock's ranges are in the pattern (hours 00-23, minutes 00-59, seconds up to a leap second 60.x), so one match
# decides validity: dates are read for every resource of a history.
_DATE_TIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def calendar_date(value: object) -> date | None:
    """The day a FHIR date/dateTime names, or None when it names no single valid day (partial or malformed)."""
    if not isinstance(value, str):
        return None
    match = _DATE_TIME.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day = match.groups()
    if day is None:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
