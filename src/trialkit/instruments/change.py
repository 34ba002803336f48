"""Change from baseline, computed exactly (Fractions), with zero baselines made explicit."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from trialkit.instruments.base import parse_decimal

__all__ = ["Number", "as_fraction", "percent_improvement"]

Number = Decimal | Fraction | int | str


def as_fraction(value: Number, what: str = "value") -> Fraction:
    """``value`` as an exact Fraction; binary floats are refused (pass text or Decimal)."""
    if isinstance(value, Fraction):
        return value
    return Fraction(parse_decimal(value, what))


def percent_improvement(baseline: Number, current: Number) -> Fraction | None:
    """100 * (baseline - current) / baseline, exactly; ``None`` when baseline is 0.

    A positive result is an improvement (the score fell). With a zero baseline the percent
    change is undefined: the caller gets ``None``, never a division error or a made-up 0.
    """
    base = as_fraction(baseline, "baseline")
    cur = as_fraction(current, "current")
    if base == 0:
        return None
    return 100 * (base - cur) / base
