"""Item values: the text as entered, its canonical typed value, and the checks of its item.

An item is stored as ``{"raw": "3.20", "value": "3.20", "type": "decimal", "pv": "1.0"}``:
``raw`` exactly as entered, ``value`` canonical JSON (decimals as strings, never floats; dates
ISO 8601; booleans true/false), ``pv`` the protocol version it was captured under.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from trialkit.protocol import DataType, Item, Study
from trialkit.store import canonical
from trialkit.store.tables import form_instance

__all__ = ["form_values", "parse_item", "typed", "typed_form"]

_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _fmt(value: Decimal) -> str:
    return format(value, "f")


def parse_item(item: Item, raw: str, study: Study) -> tuple[Any, list[str]]:
    """The canonical JSON value of ``raw`` for ``item`` and the problems found (empty if none).

    Empty text is "not entered" (``None``); whether that is allowed is the caller's business.
    """
    text = raw.strip()
    if text == "":
        return None, []
    t = item.data_type
    name = f"{item.name} ({item.label})"
    if t is DataType.INTEGER or t is DataType.DECIMAL:
        if t is DataType.INTEGER and not _INT.fullmatch(text):
            return None, [f"{name}: {raw!r} is not a whole number; enter digits only, e.g. 72"]
        if t is DataType.DECIMAL and not _DEC.fullmatch(text):
            return None, [f"{name}: {raw!r} is not a number; enter e.g. 3.2"]
        number = Decimal(text)
        problems: list[str] = []
        unit = f" {item.unit}" if item.unit else ""
        if (item.min is not None and number < item.min) or (
            item.max is not None and number > item.max
        ):
            low = "" if item.min is None else _fmt(item.min)
            high = "" if item.max is None else _fmt(item.max)
            problems.append(
                f"{name}: {text}{unit} is out of range {low}..{high}{unit}; "
                f"enter a value from {low or 'any'} to {high or 'any'}"
            )
        value: Any = str(int(number)) if t is DataType.INTEGER else _fmt(number)
        return value, problems
    if t is DataType.DATE:
        try:
            return date.fromisoformat(text).isoformat(), []
        except ValueError:
            return None, [f"{name}: {raw!r} is not a date; enter it as YYYY-MM-DD"]
    if t is DataType.DATETIME:
        try:
            return datetime.fromisoformat(text).isoformat(), []
        except ValueError:
            return None, [f"{name}: {raw!r} is not a date and time; enter YYYY-MM-DDTHH:MM"]
    if t is DataType.BOOLEAN:
        low = text.lower()
        if low in _TRUE:
            return True, []
        if low in _FALSE:
            return False, []
        return None, [f"{name}: {raw!r} is not yes or no; enter yes or no"]
    if t is DataType.CODE:
        cl = study.codelist(item.codelist or "")
        codes = cl.codes() if cl else []
        if text not in codes:
            return None, [
                f"{name}: {raw!r} is not in code list {item.codelist}; use one of "
                + ", ".join(codes)
            ]
        return text, []
    return text, []


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
