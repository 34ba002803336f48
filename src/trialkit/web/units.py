"""Units and amounts as a person reads them on a page: ``Cel`` is shown as ``°C``, ``ug`` as
``µg``, ``cm2`` as ``cm²``, and a cell dose of ``137000000`` as ``137,000,000 (1.37 × 10⁸)``, so
that no one has to count zeros to tell 10⁷ from 10⁸ cells. The protocol, the stored data and the
exports keep the table's symbol, its UCUM code and the exact amount
(``trialkit.protocol.units``); only the page's text changes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

from trialkit.languages import digits
from trialkit.protocol.units import resolve

__all__ = ["shown_amount", "shown_quantity", "shown_text", "shown_unit"]

_SUPERSCRIPT = str.maketrans("23", "²³")
# a square or cubic power written after a letter: cm2, mm3 (not the 9 of 10^9/L)
_POWER = re.compile(r"(?<=[A-Za-z])[23]\b")


def shown_unit(symbol: str | None) -> str:
    """The display spelling of ``symbol`` (a unit of the table or one of its aliases); a symbol
    the table does not know is shown as written. ``None`` or blank: the empty string."""
    if symbol is None or not str(symbol).strip():
        return ""
    found = resolve(str(symbol))
    text = found.display if found is not None else str(symbol).strip()
    return _POWER.sub(lambda m: m.group(0).translate(_SUPERSCRIPT), text)


_SUPERSCRIPT_DIGITS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# from this size on, an amount also shows its power of ten
_LARGE = Decimal(100_000)
# a number in a service's text, with five or more digits before any decimal point
_LONG_NUMBER = re.compile(r"(?<![\d.,])\d{5,}(?:\.\d+)?(?![\d,])")


def _exact(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, every figure kept: ``Decimal.normalize`` alone rounds to
    the context's 28 figures, which would show a 29-figure amount as another number."""
    with localcontext() as context:
        context.prec = max(context.prec, len(value.as_tuple().digits) + 1)
        return value.normalize()


def _grouped(value: Decimal, language: str) -> str:
    text = f"{_exact(value):,f}"
    if language == "fa":
        text = text.replace(",", "\u066c")  # the Arabic thousands separator Persian uses
    return digits(text, language)


def shown_amount(amount: Decimal | str | int | None, language: str = "en") -> str:
    """``amount`` with its thousands grouped and, from 100,000 on, its power of ten beside it:
    ``137,000,000 (1.37 × 10⁸)``; ``1.37e8`` as typed is shown the same way. The value is exact
    (no rounding: ``1.234567 × 10⁸`` keeps every digit). Not a number: shown as written."""
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        return ""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return str(amount)
    out = _grouped(value, language)
    if abs(value) >= _LARGE:
        _sign, figures, exponent = _exact(value).as_tuple()
        assert isinstance(exponent, int)
        power = len(figures) - 1 + exponent
        with localcontext() as context:
            context.prec = max(context.prec, len(figures) + 1)
            mantissa = _exact(value).scaleb(-power)
        power_text = str(power).translate(_SUPERSCRIPT_DIGITS)
        out += f" ({digits(f'{mantissa:f}', language)} × {digits('10', language)}{power_text})"
    return out


def shown_quantity(
    amount: Decimal | str | int | None, unit: str | None, language: str = "en"
) -> str:
    """An amount and its unit as a page shows them: ``137,000,000 (1.37 × 10⁸) cells``."""
    number = shown_amount(amount, language)
    shown = shown_unit(unit)
    return f"{number} {shown}".strip()


def shown_text(text: str | None, language: str = "en") -> str:
    """A service's text (a dose rule, ``2000000 cells per kg of weight``) with its long numbers
    grouped: ``2,000,000 cells per kg of weight``. The words stay as the protocol wrote them."""
    if not text:
        return ""
    return _LONG_NUMBER.sub(lambda m: _grouped(Decimal(m.group(0)), "en"), text)
