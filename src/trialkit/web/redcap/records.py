"""``content=record`` export, flat or EAV (import: :mod:`trialkit.web.redcap.imports`).

The rows are streamed from :func:`trialkit.services.extract.open_extract`: the caller's sites,
the arm hidden from a blinded reader, and (as on the pages) no dose amount or basis on the
administration form for a participant whose arm the reader may not see. One flat row per
participant, visit and repeat instance; an item saved empty with a missing-data reason has the
reason's code as its value (REDCap's missing-data codes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from trialkit.protocol import Study
from trialkit.protocol.forms import DataType
from trialkit.services.context import Context
from trialkit.services.extract import BLINDED, Cell, Extract, Record, Signed, Value, open_extract
from trialkit.services.forms import MISSING_REASONS
from trialkit.store import Database
from trialkit.web.redcap.mapping import (
    HEAD_COLUMNS,
    RECORD_FIELD,
    STATUS_COMPLETE,
    STATUS_INCOMPLETE,
    STATUS_UNVERIFIED,
    Field,
    ProjectMap,
    label_of,
    raw_of,
)
from trialkit.web.redcap.reply import RedcapRefused, listed, table

__all__ = ["export_records", "visible_values"]

_STATUS_LABEL = {
    STATUS_INCOMPLETE: "Incomplete",
    STATUS_UNVERIFIED: "Unverified",
    STATUS_COMPLETE: "Complete",
}


_SEE = {"fields": "metadata", "forms": "instrument", "events": "event"}


def _known(pm: ProjectMap, names: list[str], kind: str, allowed: Mapping[str, Any]) -> None:
    bad = [n for n in names if n not in allowed]
    if bad:
        raise RedcapRefused(
            f"the following {kind} are not in the project: {', '.join(bad)}; see "
            f"content={_SEE[kind]}"
        )


def _hidden(extract: Extract) -> set[str]:
    """The administration form's amount and basis items (hidden from blinded readers)."""
    adm = extract.study.timeline.administration
    if adm is None:
        return set()
    return {n for n in (adm.amount, adm.basis) if n}


def _form_fields(pm: ProjectMap) -> dict[str, dict[str, Field]]:
    """The REDCap fields of each form, by item name (resolved once per export)."""
    out: dict[str, dict[str, Field]] = {}
    for (form_id, item), f in pm.by_item.items():
        out.setdefault(form_id, {})[item] = f
    return out


def _visible(
    pm: ProjectMap, extract: Extract
) -> Iterator[tuple[Record, dict[str, Field], frozenset[str]]]:
    """The form instances that have REDCap fields at a REDCap event, with the fields of their
    form and the items hidden from this reader on it."""
    adm = extract.study.timeline.administration
    hidden = frozenset(_hidden(extract))
    fields_of = _form_fields(pm)
    none: frozenset[str] = frozenset()
    for rec in extract.records():
        fields = fields_of.get(rec.form)
        if fields is None or rec.visit not in pm.event_of:
            continue
        blind = rec.person.arm == BLINDED and adm is not None and rec.form == adm.form
        yield rec, fields, hidden if blind else none


def visible_values(pm: ProjectMap, extract: Extract) -> Iterator[tuple[Value, Field]]:
    """The exported values that have a REDCap field, with it."""
    for rec, fields, hidden in _visible(pm, extract):
        for v in rec.values():
            f = fields.get(v.item)
            if f is None or "." in v.instance or v.item in hidden:
                continue
            yield v, f


def _signed(signed: list[Signed]) -> tuple[set[int], set[tuple[str, str]], set[str]]:
    forms, visits, books = set(), set(), set()
    for s in signed:
        if s.scope == "form" and s.record is not None:
            forms.add(s.record)
        elif s.scope == "visit" and s.visit is not None:
            visits.add((s.participant, s.visit))
        elif s.scope == "casebook":
            books.add(s.participant)
    return forms, visits, books


def _columns(pm: ProjectMap, chosen: list[Field], statuses: list[str]) -> list[str]:
    out = [RECORD_FIELD, *HEAD_COLUMNS]
    for name, _ in pm.instruments:
        out.extend(f.name for f in chosen if f.instrument == name)
        if name in statuses:
            out.append(f"{name}_complete")
    return out


def export_records(
    db: Database, ctx: Context, study_code: str, pm: ProjectMap, form: FormData, fmt: str
) -> Response:
    kind = str(form.get("type") or "flat").lower()
    if kind not in ("flat", "eav"):
        raise RedcapRefused(f"type {kind!r} is not flat or eav")
    label = str(form.get("rawOrLabel") or "raw").lower()
    if label not in ("raw", "label"):
        raise RedcapRefused(f"rawOrLabel {label!r} is not raw or label")
    for key in ("filterLogic", "dateRangeBegin", "dateRangeEnd"):
        if str(form.get(key) or "").strip():
            raise RedcapRefused(
                f"{key} is not supported here; select with records, fields, forms and events"
            )
    fields, forms, events = listed(form, "fields"), listed(form, "forms"), listed(form, "events")
    records = set(listed(form, "records"))
    status_names = {f"{n}_complete": n for n, _ in pm.instruments}
    _known(pm, [f for f in fields if f != RECORD_FIELD], "fields", {**pm.by_name, **status_names})
    _known(pm, forms, "forms", pm.form_of)
    _known(pm, events, "events", pm.visit_of)
    if fields or forms:
        chosen = [f for f in pm.fields if f.name in fields or f.instrument in forms]
        statuses = [n for n, _ in pm.instruments if n in forms or f"{n}_complete" in fields]
    else:
        chosen, statuses = list(pm.fields), [n for n, _ in pm.instruments]
    wanted = {f.name for f in chosen}
    visits = {pm.visit_of[e] for e in events}
    columns = _columns(pm, chosen, statuses)
    stack = ExitStack()
    try:
        extract = stack.enter_context(open_extract(db, ctx, study_code))
        signed = _signed(extract.signatures())
    except BaseException:
        stack.close()
        raise

    def flat_rows() -> Iterator[dict[str, str]]:
        with stack:
            yield from _flat(pm, extract, signed, wanted, statuses, visits, records, label)

    if kind == "eav":
        eav_columns = ["record", *HEAD_COLUMNS, "field_name", "value"]

        def eav_rows() -> Iterator[dict[str, str]]:
            for row in flat_rows():
                head = {
                    "record": row[RECORD_FIELD],
                    **{k: row.get(k, "") for k in HEAD_COLUMNS},
                }
                for c in columns[4:]:
                    if row.get(c, "") != "":
                        yield {**head, "field_name": c, "value": row[c]}

        return table(eav_rows(), eav_columns, fmt, stream=True)
    return table(flat_rows(), columns, fmt, stream=True)


def _flat(
    pm: ProjectMap,
    extract: Extract,
    signed: tuple[set[int], set[tuple[str, str]], set[str]],
    wanted: set[str],
    statuses: list[str],
    visits: set[str],
    records: set[str],
    label: str,
) -> Iterator[dict[str, str]]:
    """Flat rows, one visit of one participant at a time (bounded memory)."""
    forms_signed, visits_signed, books = signed
    study = pm.study
    event_label = {unique: name for unique, _, name in pm.events}
    as_label = label == "label"
    current: tuple[str, str] | None = None
    rows: dict[tuple[str, str], dict[str, str]] = {}
    # how each wanted field's stored text becomes its REDCap value (resolved once per field)
    convert = {f.name: _converter(study, f, as_label) for f in pm.fields if f.name in wanted}

    def flush() -> Iterator[dict[str, str]]:
        for key in sorted(rows, key=lambda k: (k[0] != "", k[0], int(k[1] or 0))):
            yield rows[key]
        rows.clear()

    plans: dict[tuple[str, bool, tuple[tuple[str, str], ...]], _Plan] = {}
    for rec, fields, hidden in _visible(pm, extract):
        code, visit = rec.person.code, rec.visit
        if (records and code not in records) or (visits and visit not in visits):
            continue
        cells = rec.cells + rec.derived if rec.derived else rec.cells
        run = (rec.form, bool(hidden), tuple(map(_INSTANCE_ITEM, cells)))
        plan = plans.get(run)
        if plan is None:
            if len(plans) >= _PLANS:  # forms whose runs all differ: bounded memory
                plans.clear()
            plan = plans[run] = _Plan.of(cells, fields, hidden, convert)
        if plan.first is None:
            continue
        # the instance's first value with a field: its row and the form's status
        if (code, visit) != current:
            yield from flush()
            current = (code, visit)
        f, (instance, missing) = plan.first, _INSTANCE_MISSING(cells[plan.first_at])
        repeating = f.form.repeating
        key = (f.instrument, instance) if repeating else ("", "")
        row = rows.get(key)
        if row is None:
            event = pm.event_of[visit]
            row = rows[key] = {
                RECORD_FIELD: code,
                "redcap_event_name": event_label[event] if as_label else event,
                "redcap_repeat_instrument": (
                    (f.form.name if as_label else f.instrument) if repeating else ""
                ),
                "redcap_repeat_instance": instance if repeating else "",
            }
        if f.instrument in statuses:
            if missing.startswith("not required"):
                status = STATUS_INCOMPLETE
            elif rec.record in forms_signed or (code, visit) in visits_signed or code in books:
                status = STATUS_COMPLETE
            else:
                status = STATUS_UNVERIFIED
            row[f"{f.instrument}_complete"] = _STATUS_LABEL[status] if as_label else status
        if not plan.at:
            continue
        values = list(map(_VALUE, map(cells.__getitem__, plan.at)))
        if plan.as_stored and "" not in values:  # no conversion, no missing-data code
            row.update(zip(plan.names, values, strict=True))
            continue
        for name, at, to, value in zip(plan.names, plan.at, plan.convert, values, strict=True):
            missing = cells[at][5]
            if value == "" and missing in MISSING_REASONS:
                row[name] = missing
            else:
                row[name] = value if to is None else to(value)
    yield from flush()


_INSTANCE_ITEM = itemgetter(0, 2)  # of a Cell
_INSTANCE_MISSING = itemgetter(0, 5)
_VALUE = itemgetter(3)
_PLANS = 10_000


@dataclass(frozen=True)
class _Plan:
    """Where a run of values of a form (the same instances and items, as every instance of a
    form mostly has) goes on the flat row: resolved once per run, not once per value."""

    first: Field | None  # the field of the first value that has one (None: no value has)
    first_at: int
    at: tuple[int, ...]  # the wanted values, by position in the run
    names: tuple[str, ...]  # their fields' names
    convert: tuple[Callable[[str], str] | None, ...]  # None: the stored text as it is
    as_stored: bool  # no value needs converting

    @classmethod
    def of(
        cls,
        cells: list[Cell],
        fields: dict[str, Field],
        hidden: frozenset[str],
        convert: dict[str, Callable[[str], str] | None],
    ) -> _Plan:
        first: Field | None = None
        first_at = -1
        at: list[int] = []
        names: list[str] = []
        to: list[Callable[[str], str] | None] = []
        for n, (instance, _group, item, _value, _unit, _missing) in enumerate(cells):
            f = fields.get(item)
            if f is None or "." in instance or item in hidden:
                continue
            if first is None:
                first, first_at = f, n
            if f.name in convert:
                at.append(n)
                names.append(f.name)
                to.append(convert[f.name])
        as_stored = all(t is None for t in to)
        return cls(first, first_at, tuple(at), tuple(names), tuple(to), as_stored)


def _converter(study: Study, f: Field, as_label: bool) -> Callable[[str], str] | None:
    """The stored canonical text of ``f`` as its REDCap value (raw, or its label); None where
    the raw value is the stored text (:func:`raw_of` changes only booleans and date-times)."""
    item = f.item
    if as_label:
        return lambda value: label_of(study, item, raw_of(item, value))
    if item.data_type in (DataType.BOOLEAN, DataType.DATETIME):
        return lambda value: raw_of(item, value)
    return None
