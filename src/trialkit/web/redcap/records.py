"""``content=record`` export, flat or EAV (import: :mod:`trialkit.web.redcap.imports`).

The rows are read by :func:`trialkit.web.redcap.stream.flat_rows` in the one read transaction
of :func:`trialkit.services.extract.open_extract`: the caller's sites, the arm hidden from a
blinded reader, and (as on the pages) no dose amount or basis on the administration form for a
participant whose arm the reader may not see. One flat row per participant, event and repeat
instance (:mod:`trialkit.web.redcap.mapping`); an item saved empty with a missing-data reason
has the reason's code as its value (REDCap's missing-data codes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from trialkit.services.context import Context
from trialkit.services.extract import BLINDED, Extract, Value, open_extract
from trialkit.store import Database
from trialkit.web.redcap.mapping import (
    HEAD_COLUMNS,
    RECORD_FIELD,
    UNSCHEDULED_STEP,
    Field,
    ProjectMap,
)
from trialkit.web.redcap.reply import RedcapRefused, listed, stream_table
from trialkit.web.redcap.stream import Layout, flat_rows, signed_sets

__all__ = ["EAV_COLUMNS", "export_records", "visible_values"]

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


def visible_values(pm: ProjectMap, extract: Extract) -> Iterator[tuple[Value, Field, int]]:
    """The exported values that have a REDCap field, with it and their REDCap repeat instance
    (0 on a scheduled visit's plain row; see :mod:`trialkit.web.redcap.mapping`)."""
    adm = extract.study.timeline.administration
    hidden = frozenset(_hidden(extract))
    fields_of = _form_fields(pm)
    running: dict[tuple[str, str, str], int] = {}
    numbered: dict[tuple[int, str], int] = {}
    for rec in extract.records():
        fields = fields_of.get(rec.form)
        where = pm.event_instance(rec.visit)
        if fields is None or where is None:
            continue
        seq = where[1]
        blind = rec.person.arm == BLINDED and adm is not None and rec.form == adm.form
        for v in rec.values():
            f = fields.get(v.item)
            if f is None or (blind and v.item in hidden):
                continue
            inst = pm.instrument[f.instrument]
            first, _, row = v.instance.partition(".")
            if (inst.group is not None) != bool(row):
                continue  # not this instrument's value (a not-required form's empty entries)
            if inst.group is None:
                k = int(first) if inst.repeating else 0
            elif inst.nested:
                key = (v.record, f"{inst.name}.{row}")
                k = numbered.get(key, 0)
                if not k:
                    run = (rec.person.code, rec.visit, inst.name)
                    k = numbered[key] = running[run] = running.get(run, 0) + 1
            else:
                k = int(row)
            if seq:
                k = seq * UNSCHEDULED_STEP + k if inst.repeating else seq
            yield v, f, k


def _columns(pm: ProjectMap, chosen: list[Field], statuses: list[str]) -> list[str]:
    out = [RECORD_FIELD, *HEAD_COLUMNS]
    for inst in pm.instruments:
        out.extend(f.name for f in chosen if f.instrument == inst.name)
        if inst.name in statuses:
            out.append(f"{inst.name}_complete")
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
    status_names = {f"{i.name}_complete": i.name for i in pm.instruments}
    _known(pm, [f for f in fields if f != RECORD_FIELD], "fields", {**pm.by_name, **status_names})
    _known(pm, forms, "forms", pm.form_of)
    _known(pm, events, "events", pm.visit_of)
    if fields or forms:
        chosen = [f for f in pm.fields if f.name in fields or f.instrument in forms]
        statuses = [
            i.name for i in pm.instruments if i.name in forms or f"{i.name}_complete" in fields
        ]
    else:
        chosen, statuses = list(pm.fields), [i.name for i in pm.instruments]
    visits = {pm.visit_of[e] for e in events}
    columns = _columns(pm, chosen, statuses)
    stack = ExitStack()
    try:
        extract = stack.enter_context(open_extract(db, ctx, study_code))
        signed = signed_sets(extract.signatures())
        layout = Layout(pm, columns, label == "label", frozenset(_hidden(extract)))
    except BaseException:
        stack.close()
        raise

    def rows() -> Iterator[list[str]]:
        with stack:
            yield from flat_rows(layout, extract, signed, visits, records)

    if kind == "eav":
        return stream_table(_eav(rows(), columns), list(EAV_COLUMNS), fmt)
    return stream_table(rows(), columns, fmt)


EAV_COLUMNS = ("record", *HEAD_COLUMNS, "field_name", "value")


def _eav(rows: Iterator[list[str]], columns: list[str]) -> Iterator[list[str]]:
    """One EAV row per non-empty value of the flat rows."""
    named = list(enumerate(columns))[4:]
    for row in rows:
        head = row[:4]
        for n, name in named:
            value = row[n]
            if value != "":
                yield [*head, name, value]
