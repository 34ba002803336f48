"""Canonical JSON: one text for one value, with decimals and dates as exact strings.

Used for every JSON column and for the audit hash. Binary floats are refused: a clinical value
that reached here as a float has already lost its exactness.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot store {type(value).__name__} {value!r} as canonical JSON")


# Values that are certainly not floats and hold nothing: the walk passes them at once.
_LEAVES = frozenset({str, int, bool, type(None), Decimal, date, datetime})


def _no_floats(value: Any) -> None:
    # An explicit stack, not recursion: this walk runs for every JSON value written.
    stack = [value]
    pop, push_all, leaves = stack.pop, stack.extend, _LEAVES
    while stack:
        v = pop()
        if type(v) in leaves:
            continue
        if isinstance(v, float):
            raise TypeError(f"binary float {v!r} refused; pass a Decimal or a string")
        if isinstance(v, dict):
            push_all(v.values())
        elif isinstance(v, list | tuple | set | frozenset):
            push_all(v)


# One encoder for every call: ``json.dumps`` with options builds a new encoder each time, which
# cost as much as the encoding itself. ``encode`` keeps no state between calls.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
)
_encode = _ENCODER.encode


def dumps(value: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 kept, no floats."""
    _no_floats(value)
    return _encode(value)


_decode = json.JSONDecoder(parse_float=Decimal).decode


def loads(text: str | None) -> Any:
    """The value of canonical JSON text (``None`` for SQL NULL)."""
    if text is None:
        return None
    return _decode(text)
