"""FHIR date and dateTime values → calendar dates, in the value's own offset.

A session on 2026-03-10T23:30-05:00 happened on 10 March where the patient was, so the date is read as written and
never shifted to UTC (domain reference, section 3).
"""

from __future__ import annotations

import re
from datetime import date

# FHIR R4 dateTime: year, optional month/day, optional time with a zone (the spec requires one; EHRs often omit it).
_DATE_TIME = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def calendar_date(value: object) -> date | None:
    """The day a FHIR date/dateTime names, or None when it names no single valid day (partial or malformed)."""
    if not isinstance(value, str):
        return None
    match = _DATE_TIME.match(value.strip())
    if match is None or match["day"] is None:
        return None
    if match["time"] is not None and not _valid_time(match["time"]):
        return None
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None


def _valid_time(clock: str) -> bool:
    parts = clock.split(":")
    hour, minute = int(parts[0]), int(parts[1])
    second = float(parts[2]) if len(parts) > 2 else 0.0
    return hour < 24 and minute < 60 and second < 61
