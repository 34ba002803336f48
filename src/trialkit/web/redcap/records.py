"""``content=record``: export (flat or EAV, streamed from the export read) and import (through
the one validated, audited save).

**Export** reads :func:`trialkit.services.extract.open_extract`: the caller's sites, the arm
hidden from a blinded reader, and (as on the pages) no dose amount or basis on the
administration form for a participant whose arm the reader may not see. One flat row per
participant, visit and repeat instance; an item saved empty with a missing-data reason has the
reason's code as its value (REDCap's missing-data codes).

**Import** saves each row's instruments with :func:`trialkit.services.forms.save_in`, all in
one write transaction: a hard edit check, a value out of range or a wrong code refuses the
whole import, saying which record, event, instrument and item and why; nothing is saved.
``overwriteBehavior=normal`` keeps a stored value where the row is blank; ``overwrite`` clears
it. A change after first entry is saved with the reason "imported through the REDCap API".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from trialkit.errors import NotFound, TrialkitError
from trialkit.protocol import Form
from trialkit.services.context import Context
from trialkit.services.extract import BLINDED, Extract, Signed, Value, open_extract
from trialkit.services.forms import MISSING_REASONS, FormRecord, read_form, save_in
from trialkit.store import Database
from trialkit.web.redcap.mapping import (
    RECORD_FIELD,
    STATUS_COMPLETE,
    STATUS_INCOMPLETE,
    STATUS_UNVERIFIED,
    Field,
    ProjectMap,
    label_of,
    raw_of,
)
from trialkit.web.redcap.reply import RedcapRefused, listed, table, text

__all__ = ["IMPORT_REASON", "export_records", "import_records", "visible_values"]

IMPORT_REASON = "imported through the REDCap API"
_HEAD = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
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
    out = [RECORD_FIELD, *_HEAD]
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
        eav_columns = ["record", *_HEAD, "field_name", "value"]

        def eav_rows() -> Iterator[dict[str, str]]:
            for row in flat_rows():
                head = {
                    "record": row[RECORD_FIELD],
                    **{k: row.get(k, "") for k in _HEAD},
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


# -- import ----------------------------------------------------------------------------------


def _parse_data(form: FormData) -> list[dict[str, str]]:
    data = form.get("data")
    if not isinstance(data, str) or not data.strip():
        raise RedcapRefused("no data to import: give the records in the data parameter")
    fmt = str(form.get("format") or "json").lower()
    if fmt == "json":
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError as exc:
            raise RedcapRefused(
                f"data is not valid JSON: {exc.msg} at character {exc.pos}"
            ) from exc
        if isinstance(parsed, dict):
            parsed = [parsed]
        if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
            raise RedcapRefused("data must be a JSON array of objects, one per record row")
        return [{str(k): "" if v is None else str(v) for k, v in r.items()} for r in parsed]
    if fmt == "csv":
        return [dict(r) for r in csv.DictReader(io.StringIO(data))]
    raise RedcapRefused(f"format {fmt!r} is not served here; give json or csv data")


def _from_eav(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    merged: dict[tuple[str, ...], dict[str, str]] = {}
    for r in rows:
        if "field_name" not in r or "record" not in r:
            raise RedcapRefused("an eav row needs record, field_name and value")
        key = (
            r["record"],
            r.get("redcap_event_name", ""),
            r.get("redcap_repeat_instrument", ""),
            r.get("redcap_repeat_instance", ""),
        )
        row = merged.setdefault(
            key,
            {
                RECORD_FIELD: key[0],
                "redcap_event_name": key[1],
                "redcap_repeat_instrument": key[2],
                "redcap_repeat_instance": key[3],
            },
        )
        row[r["field_name"]] = r.get("value", "")
    return list(merged.values())


def _stored(form: Form, record: FormRecord | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stored instance as save input: the values as entered and the missing-data reasons."""
    values: dict[str, Any] = {}
    missing: dict[str, Any] = {}
    if record is None:
        return values, missing
    flat = {g.id for g in form.groups if not g.repeating and g.items}
    for group_id, content in record.data.items():
        if isinstance(content, list):
            values[group_id] = [
                {n: e.get("raw", "") for n, e in row.items() if isinstance(e, dict)}
                for row in content
            ]
            missing[group_id] = [
                {
                    n: e["missing"]
                    for n, e in row.items()
                    if isinstance(e, dict) and e.get("missing")
                }
                for row in content
            ]
        elif isinstance(content, dict):
            entries = {n: e for n, e in content.items() if isinstance(e, dict)}
            target = values if group_id in flat else values.setdefault(group_id, {})
            for n, e in entries.items():
                target[n] = e.get("raw", "")
                if e.get("missing") and group_id in flat:
                    missing[n] = e["missing"]
    return values, missing


def import_records(
    db: Database, ctx: Context, study_code: str, pm: ProjectMap, form: FormData, fmt: str
) -> Response:
    overwrite = str(form.get("overwriteBehavior") or "normal").lower()
    if overwrite not in ("normal", "overwrite"):
        raise RedcapRefused(f"overwriteBehavior {overwrite!r} is not normal or overwrite")
    returns = str(form.get("returnContent") or "count").lower()
    if returns not in ("count", "ids", "nothing"):
        raise RedcapRefused(
            f"returnContent {returns!r} is not served; give count, ids or nothing (records "
            "are never numbered automatically)"
        )
    if str(form.get("forceAutoNumber") or "false").lower() not in ("false", "0"):
        raise RedcapRefused("forceAutoNumber is not supported: participants are registered first")
    if str(form.get("dateFormat") or "YMD").upper() != "YMD":
        raise RedcapRefused("dateFormat must be YMD (dates as YYYY-MM-DD)")
    rows = _parse_data(form)
    if str(form.get("type") or "flat").lower() == "eav":
        rows = _from_eav(rows)
    statuses = {f"{n}_complete" for n, _ in pm.instruments}
    # one save per form instance; a later row for the same instance adds to the earlier one
    saves: dict[tuple[str, str, str, int], tuple[int, dict[str, str]]] = {}
    for n, row in enumerate(rows, start=1):
        code = row.get(RECORD_FIELD, "").strip()
        if not code:
            raise RedcapRefused(f"row {n}: {RECORD_FIELD} (the participant code) is empty")
        event = row.get("redcap_event_name", "").strip()
        if event not in pm.visit_of:
            raise RedcapRefused(
                f"row {n} (record {code}): redcap_event_name {event!r} is not an event of the "
                "project; see content=event"
            )
        unknown = [
            k
            for k in row
            if k not in pm.by_name and k not in statuses and k not in (RECORD_FIELD, *_HEAD)
        ]
        if unknown:
            raise RedcapRefused(
                f"row {n} (record {code}): not fields of the project: {', '.join(unknown)}"
            )
        repeat = row.get("redcap_repeat_instrument", "").strip()
        instance_text = row.get("redcap_repeat_instance", "").strip() or "1"
        if not instance_text.isdigit() or int(instance_text) < 1:
            raise RedcapRefused(
                f"row {n} (record {code}): redcap_repeat_instance {instance_text!r} is not a "
                "whole number from 1"
            )
        by_instrument: dict[str, dict[str, str]] = {}
        for k, value in row.items():
            f = pm.by_name.get(k)
            if f is None or (value == "" and overwrite == "normal"):
                continue
            if value == "" and f.form.repeating != (repeat == f.instrument):
                continue  # a blank column of an instrument this row is not about
            if f.item.derived:
                if value != "":
                    raise RedcapRefused(
                        f"row {n} (record {code}): {k} is computed by trialkit; leave it out"
                    )
                continue
            by_instrument.setdefault(f.instrument, {})[k] = value
        for instrument, given in by_instrument.items():
            target = pm.form_of[instrument]
            if target.repeating != (repeat == instrument):
                raise RedcapRefused(
                    f"row {n} (record {code}): instrument {instrument} "
                    + (
                        "repeats; give redcap_repeat_instrument and redcap_repeat_instance"
                        if target.repeating
                        else f"does not repeat; its fields cannot be on a row of {repeat}"
                    )
                )
            key = (code, pm.visit_of[event], instrument, int(instance_text))
            first, before = saves.get(key, (n, {}))
            saves[key] = (first, {**before, **given})
    stored: dict[tuple[str, str, str, int], FormRecord | None] = {}
    for key, (n, _) in saves.items():
        code, visit, instrument, instance = key
        try:
            stored[key] = read_form(
                db,
                ctx,
                study_code,
                code,
                visit=visit,
                form_id=pm.form_of[instrument].id,
                instance_no=instance,
            )
        except NotFound as exc:
            if exc.code != "FORM.E012":
                raise _refused(n, code, pm.event_of[visit], instrument, exc) from exc
            stored[key] = None
        except TrialkitError as exc:
            raise _refused(n, code, pm.event_of[visit], instrument, exc) from exc
    done: list[str] = []
    with db.write() as conn:
        for key, (n, given) in saves.items():
            code, visit, instrument, instance = key
            target = pm.form_of[instrument]
            record = stored[key]
            if record is None and not any(given.values()):
                continue  # overwrite with a blank instrument that was never entered: nothing
            values, missing = _stored(target, record)
            for name, value in given.items():
                item = pm.by_name[name].item.name
                missing.pop(item, None)
                if value in MISSING_REASONS:
                    values[item], missing[item] = "", value
                else:
                    values[item] = value
            try:
                save_in(
                    conn,
                    ctx,
                    study_code,
                    code,
                    visit=visit,
                    form_id=target.id,
                    values=values,
                    expected_version=None if record is None else record.version,
                    instance_no=instance,
                    reason=None if record is None else IMPORT_REASON,
                    missing=missing,
                )
            except TrialkitError as exc:
                raise _refused(n, code, pm.event_of[visit], instrument, exc) from exc
            if code not in done:
                done.append(code)
    if returns == "nothing":
        return text("")
    if returns == "ids":
        return (
            table([{"id": c} for c in done], ["id"], fmt)
            if fmt == "csv"
            else Response(json.dumps(done), media_type="application/json")
        )
    if fmt == "csv":
        return text(f"count\n{len(done)}\n")
    return Response(json.dumps({"count": len(done)}), media_type="application/json")


def _refused(n: int, code: str, event: str, instrument: str, exc: TrialkitError) -> RedcapRefused:
    return RedcapRefused(
        f"nothing was imported: row {n} (record {code}, event {event}, instrument {instrument}) "
        f"was refused ({exc.code}): {exc.message}",
        status=403 if exc.code.startswith("AUTH.") else 400,
    )
