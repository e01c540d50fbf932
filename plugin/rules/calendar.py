"""Calendar arithmetic for rolling windows: N calendar months from a day, clamped to the month's end."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months; 31 January + 1 month is 28 (or 29) February."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    # A window that would end past the calendar Python can represent never ends (or began) for any date it can;
    # clamping keeps a record dated in year 9999 countable instead of failing the whole frequency check.
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    # Every month has a 28th, so only later days need the month's length (the slow part, on the session-count path).
    if day.day <= 28:
        return date(year, month + 1, day.day)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))
