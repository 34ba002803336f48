"""Read dosing days and follow-up visits from registry sentences, where they are stated clearly.

Recognised phrases (anything else is left to the person completing the draft):

* ``single ... injection`` / ``single dose``: one administration on day 1.
* ``on day 1, 3 vials ... with an interval of 8 hours``: three administrations on day 1, 8 h apart.
* ``(daily) on days 2, 3, 10 and 21``: one administration on each day named (day 1 = first dose).
* ``on days 7, 30, 60 and 90 after the last dose``: follow-up visits counted from the last dose.
* ``every week up to 1 month`` and ``every month up to 3 months``: follow-up visits counted from
  the first dose; a month is taken as 4 weeks in the first phrase and as 30 days in the second
  (the importer records both as assumptions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Administration", "FollowUp", "find_administrations", "find_follow_up"]

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def _num(text: str) -> int:
    return _WORDS[text.lower()] if text.lower() in _WORDS else int(text)


def _day_list(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


@dataclass(frozen=True)
class Administration:
    """One administration: study day (1 = the first dose's day) and hours after its first."""

    day: int
    hour: int = 0


@dataclass(frozen=True)
class FollowUp:
    anchor: str  # "first_dose" or "last_dose"
    days: int
    label: str
    assumed: str | None = None


_N = r"(?P<n>\d+|one|two|three|four|five|six)"
_DAY1_A = re.compile(
    rf"\bday 1\b[^.;]*?{_N}\s+vials?\b[^.;]*?\binterval of (?P<h>\d+) hours?", re.IGNORECASE
)
_DAY1_B = re.compile(
    rf"{_N}\s+(?:vials?\s+)?of\b[^.;]*?\bon day 1\b[^.;]*?\binterval of (?P<h>\d+) hours?",
    re.IGNORECASE,
)
_LATER_DAYS = re.compile(
    r"\b(?:daily\s+)?on days (?P<days>\d+(?:\s*(?:,|and)\s*\d+)+)(?!\s+after)", re.IGNORECASE
)
_SINGLE = re.compile(r"\bsingle\b[^.;]{0,40}?\b(?:injection|dose|infusion)\b", re.IGNORECASE)


def find_administrations(text: str) -> list[Administration]:
    """The administrations ``text`` states, in order (empty when none is clearly stated)."""
    out: list[Administration] = []
    m = _DAY1_A.search(text) or _DAY1_B.search(text)
    if m:
        count, every = _num(m.group("n")), int(m.group("h"))
        out.extend(Administration(1 + k * every // 24, k * every % 24) for k in range(count))
        later = _LATER_DAYS.search(text, m.end())
        if later:
            out.extend(Administration(d) for d in _day_list(later.group("days")) if d > 1)
        return out
    if _SINGLE.search(text):
        return [Administration(1)]
    return []


_AFTER_LAST = re.compile(
    r"\bon days (?P<days>\d+(?:\s*(?:,|and)\s*\d+)+) after the last dose", re.IGNORECASE
)
_WEEKLY = re.compile(r"\bevery week up to (?P<n>\d+|one|two|three) months?\b", re.IGNORECASE)
_MONTHLY = re.compile(r"\bevery month up to (?P<n>\d+|two|three|four|five|six) months\b", re.I)


def find_follow_up(text: str) -> list[FollowUp]:
    """The follow-up visits ``text`` states (empty when none is clearly stated)."""
    m = _AFTER_LAST.search(text)
    if m:
        return [
            FollowUp("last_dose", d, f"Day {d} after the last dose")
            for d in _day_list(m.group("days"))
        ]
    out: list[FollowUp] = []
    weekly = _WEEKLY.search(text)
    months_done = 0
    if weekly:
        months_done = _num(weekly.group("n"))
        for w in range(1, 4 * months_done + 1):
            out.append(
                FollowUp(
                    "first_dose",
                    7 * w,
                    f"Week {w}",
                    "weekly visits up to a month are taken as weeks 1 to 4",
                )
            )
    monthly = _MONTHLY.search(text)
    if monthly:
        for mo in range(months_done + 1, _num(monthly.group("n")) + 1):
            out.append(
                FollowUp("first_dose", 30 * mo, f"Month {mo}", "a month is taken as 30 days")
            )
    return out
