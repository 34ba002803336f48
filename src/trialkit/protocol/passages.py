"""Find where two registry passages that state the same criterion disagree on a number.

Registry records often state a criterion twice (a summary and a detailed list). This module
extracts the numeric facts from each passage (ranges such as ``3 to 10`` and durations such as
``4 weeks``) so that a checker can report, citing both passages, where they differ.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["Facts", "disagreements", "facts"]

_NUM = r"(\d+(?:\.\d+)?)"
_RANGE = re.compile(rf"{_NUM}\s*(?:to|-|–|—)\s*{_NUM}", re.IGNORECASE)
_DURATION = re.compile(rf"{_NUM}\s*(day|week|month|year)s?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Facts:
    ranges: Counter[tuple[Decimal, Decimal]]
    durations: Counter[tuple[Decimal, str]]


def facts(text: str) -> Facts:
    """The numeric ranges and durations stated in ``text``."""
    ranges: Counter[tuple[Decimal, Decimal]] = Counter()
    for m in _RANGE.finditer(text):
        # '(grade 1-3)' and 'PASI 3-12' are ranges; a duration such as '2-4 weeks' also counts.
        ranges[(Decimal(m.group(1)), Decimal(m.group(2)))] += 1
    durations: Counter[tuple[Decimal, str]] = Counter()
    for m in _DURATION.finditer(text):
        durations[(Decimal(m.group(1)), m.group(2).lower())] += 1
    return Facts(ranges, durations)


def _fmt_range(r: tuple[Decimal, Decimal]) -> str:
    return f"{r[0]}–{r[1]}"


def _fmt_duration(d: tuple[Decimal, str]) -> str:
    return f"{d[0]} {d[1]}{'s' if d[0] != 1 else ''}"


def _conflict(a: Counter[Any], b: Counter[Any]) -> bool:
    return bool(a) and bool(b) and not (a <= b or b <= a)


def disagreements(a: str, b: str) -> list[str]:
    """Human descriptions of the numeric facts on which passages ``a`` and ``b`` differ.

    A kind of fact (ranges, durations) is compared only when both passages state some of it, and
    only when neither passage's facts contain the other's, so that a passage that simply says
    less ("over 18 years" beside "18 to 65 years") is not a conflict.
    """
    fa, fb = facts(a), facts(b)
    out: list[str] = []
    if _conflict(fa.ranges, fb.ranges):
        out.append(
            "range "
            + ", ".join(_fmt_range(r) for r in sorted(fa.ranges))
            + " against "
            + ", ".join(_fmt_range(r) for r in sorted(fb.ranges))
        )
    if _conflict(fa.durations, fb.durations):
        out.append(
            "duration "
            + ", ".join(_fmt_duration(d) for d in sorted(fa.durations))
            + " against "
            + ", ".join(_fmt_duration(d) for d in sorted(fb.durations))
        )
    return out
