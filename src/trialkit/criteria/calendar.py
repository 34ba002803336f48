"""Calendar arithmetic for the date functions (pure; the SQL compiler mirrors these rules)."""

from __future__ import annotations

import calendar
from datetime import date

__all__ = ["days_between", "months_between", "years_between"]


def days_between(start: date, end: date) -> int:
    """``end - start`` in days (negative when end is first)."""
    return (end - start).days


def _is_last_day(d: date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _forward_months(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day and not _is_last_day(end):
        months -= 1
    return months


def months_between(start: date, end: date) -> int:
    """Completed months from ``start`` to ``end``.

    A month is complete on the same day of the month, or on the last day of a month too short
    to have that day (31 January to 28 February is one month). Negative when end is first.
    """
    if end >= start:
        return _forward_months(start, end)
    return -_forward_months(end, start)


def years_between(start: date, end: date) -> int:
    """Completed years: completed months divided by 12, rounded toward zero."""
    months = months_between(start, end)
    return months // 12 if months >= 0 else -((-months) // 12)
