"""Canonical JSON: one text for one value, with decimals and dates as exact strings.

Used for every JSON column and for the audit hash. Binary floats are refused: a clinical value
that reached here as a float has already lost its exactness.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
    leaves = _LEAVES
    if type(value) is dict:  # the commonest value: one item's entry, plain values only
        for v in value.values():
            if type(v) not in leaves:
                break
        else:
            return
    # An explicit stack, not recursion: this walk runs for every JSON value written.
    stack = [value]
    pop, push_all = stack.pop, stack.extend
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


def _c_encoder() -> Callable[[Any], str] | None:
    """json's C encoder with the canonical options, made once; None if this Python lacks it.

    ``JSONEncoder.encode`` makes this very encoder anew on every call (about half the time of
    encoding a small item). It is built without circular-reference markers (a value with a
    cycle never gets here: the float walk above would not end either) and used only if it gives
    exactly the text of ``_ENCODER`` on a sample of every kind of value.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it
        return None
    try:
        iterencode = make(
            None, _default, json.encoder.encode_basestring, None, ":", ",", True, False, True
        )

        def encode(value: Any) -> str:
            return "".join(iterencode(value, 0))

        sample = {
            "b": [Decimal("1.50"), None, True, False, -3, 'é\n"\\\u2028', ("t",)],
            "a": {"z": date(2025, 1, 2), "y": datetime(2025, 1, 2, 3, 4, 5, 6), "x": {2}},
            "": [],
        }
        if encode(sample) != _ENCODER.encode(sample) or encode("x") != '"x"':
            return None  # pragma: no cover - a Python whose C encoder differs
    except Exception:  # pragma: no cover - a Python whose C encoder takes other arguments
        return None
    return encode


_encode = _c_encoder() or _ENCODER.encode


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
