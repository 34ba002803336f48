"""Exact conversion of captured numbers (text, Decimal, int, Fraction, float) to Fraction."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from trialkit.errors import ValidationFailed

__all__ = ["Number", "to_fraction"]

Number = int | float | Decimal | Fraction


def to_fraction(value: Number | str, *, what: str = "value") -> Fraction:
    """``value`` as an exact Fraction; text is read as a decimal numeral, never via float.

    A float is converted exactly from its binary value; callers that care about decimal
    cut-offs pass text or Decimal.
    """
    if isinstance(value, bool):
        raise ValidationFailed(
            f"{what}: {value!r} is a yes/no value, not a number; enter a number",
            code="ANALYSIS.E001",
        )
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValidationFailed(
                f"{what}: {value} is not a finite number; enter a finite number",
                code="ANALYSIS.E001",
            )
        return Fraction(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationFailed(
                f"{what}: {value} is not a finite number; enter a finite number",
                code="ANALYSIS.E001",
            )
        return Fraction(value)
    text = value.strip()
    try:
        dec = Decimal(text)
    except InvalidOperation:
        dec = None
    if dec is None or not dec.is_finite() or not text:
        raise ValidationFailed(
            f"{what}: {value!r} is not a number; enter a decimal number such as 12.5",
            code="ANALYSIS.E001",
        )
    return Fraction(dec)
