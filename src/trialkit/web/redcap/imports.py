"""``content=record`` import, through the one validated, audited save.

Each row's instruments are saved with :func:`trialkit.services.forms.save_in`, all in one write
transaction: a hard edit check, a value out of range or a wrong code refuses the whole import,
saying which record, event, instrument and item and why; nothing is saved.
``overwriteBehavior=normal`` keeps a stored value where the row is blank; ``overwrite`` clears
it. A change after first entry is saved with the reason :data:`IMPORT_REASON`. Several rows for
one form instance are one save; ``<form>_complete`` columns are read and ignored (a form's state
follows from saving and signing).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from trialkit.errors import AccessDenied, NotFound, TrialkitError
from trialkit.protocol import Form
from trialkit.services.access import Permission, visible_sites
from trialkit.services.context import Context
from trialkit.services.forms import MISSING_REASONS, FormRecord, read_form, save_in
from trialkit.store import Database
from trialkit.web.redcap.mapping import HEAD_COLUMNS, RECORD_FIELD, ProjectMap
from trialkit.web.redcap.reply import RedcapRefused, table, text

__all__ = ["IMPORT_REASON", "import_records"]

IMPORT_REASON = "imported through the REDCap API"


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
    # the role first: a user who may enter data at no site learns nothing from the rows
    visible_sites(ctx.principal, Permission.WRITE, study_code)
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
            if k not in pm.by_name and k not in statuses and k not in (RECORD_FIELD, *HEAD_COLUMNS)
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
        except AccessDenied:  # a record at a site the user cannot read: as one that is not there
            absent = NotFound(f"study {study_code}: no participant {code!r}", code="PART.E003")
            raise _refused(n, code, pm.event_of[visit], instrument, absent) from None
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
