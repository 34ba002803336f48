"""``content=record`` export, flat or EAV (import: :mod:`trialkit.web.redcap.imports`).

The rows are streamed from :func:`trialkit.services.extract.open_extract`: the caller's sites,
the arm hidden from a blinded reader, and (as on the pages) no dose amount or basis on the
administration form for a participant whose arm the reader may not see. One flat row per
participant, visit and repeat instance; an item saved empty with a missing-data reason has the
reason's code as its value (REDCap's missing-data codes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from trialkit.services.context import Context
from trialkit.services.extract import BLINDED, Extract, Signed, Value, open_extract
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


def visible_values(pm: ProjectMap, extract: Extract) -> Iterator[tuple[Value, Field]]:
    """The exported values that have a REDCap field, with it."""
    adm = extract.study.timeline.administration
    hidden = _hidden(extract)
    for v in extract.values():
        f = pm.by_item.get((v.form, v.item))
        if f is None or v.visit not in pm.event_of or "." in v.instance:
            continue
        if v.arm == BLINDED and adm is not None and v.form == adm.form and v.item in hidden:
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
    current: tuple[str, str] | None = None
    last_record = -1
    rows: dict[tuple[str, str], dict[str, str]] = {}

    def flush() -> Iterator[dict[str, str]]:
        for key in sorted(rows, key=lambda k: (k[0] != "", k[0], int(k[1] or 0))):
            yield rows[key]
        rows.clear()

    for v, f in visible_values(pm, extract):
        if (records and v.participant not in records) or (visits and v.visit not in visits):
            continue
        if (v.participant, v.visit) != current:
            yield from flush()
            current = (v.participant, v.visit)
        repeating = f.form.repeating
        key = (f.instrument, v.instance) if repeating else ("", "")
        row = rows.get(key)
        if row is None:
            event = pm.event_of[v.visit]
            row = rows[key] = {
                RECORD_FIELD: v.participant,
                "redcap_event_name": event_label[event] if label == "label" else event,
                "redcap_repeat_instrument": (
                    (f.form.name if label == "label" else f.instrument) if repeating else ""
                ),
                "redcap_repeat_instance": v.instance if repeating else "",
            }
        if v.record != last_record and f.instrument in statuses:  # once per form instance
            last_record = v.record
            if v.missing_reason.startswith("not required"):
                status = STATUS_INCOMPLETE
            elif (
                v.record in forms_signed
                or (v.participant, v.visit) in visits_signed
                or v.participant in books
            ):
                status = STATUS_COMPLETE
            else:
                status = STATUS_UNVERIFIED
            row[f"{f.instrument}_complete"] = _STATUS_LABEL[status] if label == "label" else status
        if f.name in wanted:
            if v.value == "" and v.missing_reason in MISSING_REASONS:
                row[f.name] = v.missing_reason
            else:
                raw = raw_of(f.item, v.value)
                row[f.name] = label_of(study, f.item, raw) if label == "label" else raw
    yield from flush()
