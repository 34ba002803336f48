"""Item values: the text as entered, its canonical typed value, and the checks of its item.

An item is stored as ``{"raw": "3.20", "value": "3.20", "type": "decimal", "pv": "1.0"}``:
``raw`` exactly as entered, ``value`` canonical JSON (decimals as strings, never floats; dates
ISO 8601; booleans true/false), ``pv`` the protocol version it was captured under.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from trialkit.protocol import DataType, Item, Study
from trialkit.store import canonical
from trialkit.store.tables import form_instance

__all__ = ["Parser", "form_values", "item_parser", "parse_item", "typed", "typed_form"]

_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _fmt(value: Decimal) -> str:
    return format(value, "f")


Parser = Callable[[str], tuple[Any, list[str]]]


def parse_item(item: Item, raw: str, study: Study) -> tuple[Any, list[str]]:
    """The canonical JSON value of ``raw`` for ``item`` and the problems found (empty if none).

    Empty text is "not entered" (``None``); whether that is allowed is the caller's business.
    """
    return item_parser(item, study)(raw)


def item_parser(item: Item, study: Study) -> Parser:
    """:func:`parse_item` for one item, with everything that depends only on the item (its
    type, label, unit, range, code list) worked out once: a form's save reuses it."""
    t = item.data_type
    name = f"{item.name} ({item.label})"
    if t is DataType.INTEGER or t is DataType.DECIMAL:
        integer = t is DataType.INTEGER
        pattern = _INT if integer else _DEC
        unit = f" {item.unit}" if item.unit else ""
        low_bound, high_bound = item.min, item.max
        low = "" if low_bound is None else _fmt(low_bound)
        high = "" if high_bound is None else _fmt(high_bound)

        def number(raw: str) -> tuple[Any, list[str]]:
            text = raw.strip()
            if text == "":
                return None, []
            if not pattern.fullmatch(text):
                if integer:
                    return None, [
                        f"{name}: {raw!r} is not a whole number; enter digits only, e.g. 72"
                    ]
                pointed = text.replace(",", ".")
                if text.count(",") == 1 and pattern.fullmatch(pointed):
                    # a decimal comma (36,6): said, not guessed (1,000 may mean a thousand)
                    return None, [
                        f"{name}: {raw!r} is not a number; write the decimal with a point: "
                        f"{pointed}"
                    ]
                return None, [f"{name}: {raw!r} is not a number; enter e.g. 3.2"]
            value = Decimal(text)
            problems: list[str] = []
            if (low_bound is not None and value < low_bound) or (
                high_bound is not None and value > high_bound
            ):
                problems.append(
                    f"{name}: {text}{unit} is out of range {low}..{high}{unit}; "
                    f"enter a value from {low or 'any'} to {high or 'any'}"
                )
            return (str(int(value)) if integer else _fmt(value)), problems

        return number
    if t is DataType.DATE:

        def day(raw: str) -> tuple[Any, list[str]]:
            text = raw.strip()
            if text == "":
                return None, []
            try:
                return date.fromisoformat(text).isoformat(), []
            except ValueError:
                return None, [f"{name}: {raw!r} is not a date; enter it as YYYY-MM-DD"]

        return day
    if t is DataType.DATETIME:

        def moment(raw: str) -> tuple[Any, list[str]]:
            text = raw.strip()
            if text == "":
                return None, []
            try:
                return datetime.fromisoformat(text).isoformat(), []
            except ValueError:
                return None, [f"{name}: {raw!r} is not a date and time; enter YYYY-MM-DDTHH:MM"]

        return moment
    if t is DataType.BOOLEAN:

        def yes_no(raw: str) -> tuple[Any, list[str]]:
            text = raw.strip()
            if text == "":
                return None, []
            low = text.lower()
            if low in _TRUE:
                return True, []
            if low in _FALSE:
                return False, []
            return None, [f"{name}: {raw!r} is not yes or no; enter yes or no"]

        return yes_no
    if t is DataType.CODE:
        cl = study.codelist(item.codelist or "")
        codes = cl.codes() if cl else []
        known = frozenset(codes)

        def code(raw: str) -> tuple[Any, list[str]]:
            text = raw.strip()
            if text == "":
                return None, []
            if text not in known:
                return None, [
                    f"{name}: {raw!r} is not in code list {item.codelist}; use one of "
                    + ", ".join(codes)
                ]
            return text, []

        return code

    def free_text(raw: str) -> tuple[Any, list[str]]:
        text = raw.strip()
        return (None if text == "" else text), []

    return free_text


def typed(entry: dict[str, Any]) -> Any:
    """The Python value of a stored item (Decimal, int, date, datetime, bool, str or None)."""
    t = entry.get("type")
    value = entry.get("value")
    if value is None:
        return None
    try:
        if t == DataType.INTEGER.value:
            return int(value)
        if t == DataType.DECIMAL.value:
            return Decimal(value)
        if t == DataType.DATE.value:
            return date.fromisoformat(value)
        if t == DataType.DATETIME.value:
            return datetime.fromisoformat(value)
    except (ValueError, InvalidOperation):  # pragma: no cover - stored values were validated
        return value
    return value


def typed_form(data: dict[str, Any]) -> dict[str, Any]:
    """A stored form's values for rules and scores: items by name; repeating groups as lists."""
    out: dict[str, Any] = {}
    for group_id, content in data.items():
        if isinstance(content, list):
            out[group_id] = [{k: typed(v) for k, v in row.items()} for row in content]
        else:
            for name, entry in content.items():
                out[name] = typed(entry)
    return out


def form_values(
    conn: sa.Connection, participant_id: int, study: Study, form_id: str
) -> dict[str, Any] | None:
    """The typed values of the participant's most recent ``form_id`` instance, or None."""
    row = conn.execute(
        sa.select(form_instance.c.data, form_instance.c.derived)
        .where(
            form_instance.c.participant_id == participant_id,
            form_instance.c.form_id == form_id,
            form_instance.c.status == "entered",
        )
        .order_by(form_instance.c.updated_at.desc(), form_instance.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    values = typed_form(canonical.loads(row.data))
    for name, d in (canonical.loads(row.derived) or {}).items():
        values[name] = None if d.get("value") is None else Decimal(d["value"])
    return values


def screening_values(
    conn: sa.Connection, participant_id: int, study: Study
) -> dict[str, Any] | None:
    """Every value entered at the screening visit(s), the screening form's winning.

    Criteria read items from several forms of the screening visit (the PASI form's score, the
    laboratory results); ``None`` when the screening form itself has not been entered.
    """
    own = form_values(conn, participant_id, study, study.screening_form)
    if own is None:
        return None
    keys = [v.id for v in study.timeline.visits if study.screening_form in v.forms]
    rows = conn.execute(
        sa.select(form_instance.c.form_id, form_instance.c.data, form_instance.c.derived)
        .where(
            form_instance.c.participant_id == participant_id,
            form_instance.c.visit_key.in_(keys),
            form_instance.c.form_id != study.screening_form,
            form_instance.c.status == "entered",
        )
        .order_by(form_instance.c.updated_at, form_instance.c.id)
    ).all()
    merged: dict[str, Any] = {}
    for row in rows:
        merged.update(typed_form(canonical.loads(row.data)))
        for name, d in (canonical.loads(row.derived) or {}).items():
            merged[name] = None if d.get("value") is None else Decimal(d["value"])
    merged.update({k: v for k, v in own.items() if v is not None or k not in merged})
    return merged
