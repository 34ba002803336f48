"""Exact number helpers shared by the instruments."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

__all__ = ["DISPLAY_PLACES", "fraction_to_decimal", "is_terminating"]

#: Decimal places kept when an exact fraction does not terminate (e.g. 1/3).
DISPLAY_PLACES = 6


def is_terminating(value: Fraction) -> bool:
    """True when ``value`` has a finite decimal expansion (denominator 2^a * 5^b)."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def fraction_to_decimal(value: Fraction, places: int = DISPLAY_PLACES) -> Decimal:
    """``value`` exactly when it terminates, else rounded half-even to ``places`` decimals."""
    if is_terminating(value):
        k = 0
        while (10**k) % value.denominator:
            k += 1
        return Decimal(value.numerator * (10**k // value.denominator)).scaleb(-k)
    with localcontext() as ctx:
        ctx.prec = len(str(abs(value.numerator) // value.denominator)) + places + 10
        quotient = Decimal(value.numerator) / Decimal(value.denominator)
        return quotient.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
