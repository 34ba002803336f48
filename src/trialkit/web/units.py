"""Units as a person reads them on a page: ``Cel`` is shown as ``°C``, ``ug`` as ``µg``,
``cm2`` as ``cm²``. The protocol, the stored data and the exports keep the table's symbol and
UCUM code (``trialkit.protocol.units``); only the page's text changes."""

from __future__ import annotations

import re

from trialkit.protocol.units import resolve

__all__ = ["shown_unit"]

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
