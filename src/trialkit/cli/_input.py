"""Reading what a user hands the CLI: a JSON object from an argument, a file or standard input.

Every way such input can be wrong ends in a :class:`ValidationFailed` that names the source:
a missing file or a directory, bytes that are not UTF-8, JSON that does not parse, nesting
deeper than :data:`MAX_DEPTH`, a number that is not finite or has an absurd size (``1e999``),
or something other than an object.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from trialkit.errors import ValidationFailed

__all__ = ["MAX_DEPTH", "MAX_INPUT_BYTES", "read_json_object"]

#: How deeply a JSON input may nest (item values are one level; a few more for lesion rows).
MAX_DEPTH = 32
MAX_INPUT_BYTES = 10_000_000
#: Numbers beyond 10**30 in size (or below 10**-30) are refused as typing mistakes.
MAX_EXPONENT = 30


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - json only hands over numerals
        raise ValueError(f"{text} is not a number") from exc
    if value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise ValueError(f"{text} is out of range (at most 1e{MAX_EXPONENT} in size)")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_EXPONENT + 1:
        raise ValueError(f"the integer {text[:12]}... is out of range (at most 1e{MAX_EXPONENT})")
    return int(text)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; write the value itself")


def _depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text (strings skipped), without recursion."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def _text(source: str, what: str, code: str) -> tuple[str, str]:
    if source == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1) if hasattr(sys.stdin, "buffer") else None
        where = "standard input"
        if data is None:  # a text-only stdin (tests)
            return sys.stdin.read(), where
    elif source.startswith("@"):
        path = Path(source[1:])
        where = str(path)
        try:
            if path.is_dir():
                raise ValidationFailed(
                    f"cannot read {what} from {path}: it is a directory",
                    code=code,
                    hint="give the path of a JSON file",
                )
            with path.open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise ValidationFailed(
                f"cannot read {what} from {path}: {exc.strerror}",
                code=code,
                hint="check the file name",
            ) from exc
    else:
        return source, "the argument"
    if len(data) > MAX_INPUT_BYTES:
        raise ValidationFailed(
            f"{what} in {where} are larger than {MAX_INPUT_BYTES // 1_000_000} MB", code=code
        )
    try:
        return data.decode("utf-8"), where
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"{what} in {where} are not UTF-8 text (byte {exc.start})",
            code=code,
            hint="save the file as UTF-8 JSON",
        ) from exc


def read_json_object(
    source: str, *, what: str, read_code: str, parse_code: str, example: str
) -> dict[str, Any]:
    """A JSON object from ``source``: JSON text, ``@file.json`` or ``-`` (standard input).

    Numbers are read exactly (Decimal). ``what`` names the content in messages ("item values");
    ``read_code`` is the code of a file that cannot be read, ``parse_code`` of bad content.
    """
    text, where = _text(source, what, read_code)
    if _depth(text) > MAX_DEPTH:
        raise ValidationFailed(
            f"{what} in {where} nest more than {MAX_DEPTH} levels deep",
            code=parse_code,
            hint=f"give a flat object such as {example}",
        )
    try:
        data = json.loads(text, parse_float=_number, parse_int=_integer, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{what} in {where} are not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}; give an object such as {example}",
            code=parse_code,
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(f"{what} in {where}: {exc}", code=parse_code) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"{what} in {where} must be a JSON object of item name to value, "
            f"not {type(data).__name__}",
            code=parse_code,
        )
    return data
