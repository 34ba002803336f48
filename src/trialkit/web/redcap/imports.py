"""``content=record`` import, through the one validated, audited save.

Each row's instruments are saved with :func:`trialkit.services.forms.save_in`, all in one write
transaction: a hard edit check, a value out of range or a wrong code refuses the whole import,
saying which record, event, instrument and item and why; nothing is saved. A repeating
instrument's row (``redcap_repeat_instrument``, ``redcap_repeat_instance``) is an instance of a
repeating form, or a row of a repeating item group, saved with the rest of its form instance
(see :mod:`trialkit.web.redcap.mapping` for the numbering); an instance one past the stored ones
is a new one (a new row; for a repeating group of a repeating form, a new form instance with
that row), and a gap is refused. A row at the unscheduled event goes to the unscheduled visit
its instance names, which must have been recorded.
``overwriteBehavior=normal`` keeps a stored value where the row is blank; ``overwrite`` clears
it. A change after first entry is saved with the reason :data:`IMPORT_REASON`. Several rows for
one form instance are one save; ``<form>_complete`` columns are read and ignored (a form's state
follows from saving and signing).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from trialkit.errors import AccessDenied, NotFound, TrialkitError
from trialkit.protocol import Form
from trialkit.services.access import Permission, visible_sites
from trialkit.services.context import Context
from trialkit.services.forms import MISSING_REASONS, FormRecord, read_form, save_in
from trialkit.store import Database
from trialkit.web.redcap.mapping import (
    HEAD_COLUMNS,
    RECORD_FIELD,
    UNSCHEDULED,
    UNSCHEDULED_STEP,
    ProjectMap,
)
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


@dataclass
class _Target:
    """One form instance an import saves: the import row that first names it, the plain
    fields given, and the rows of its repeating groups given (group id -> row number -> the
    fields), where a row one past the stored ones is a new row."""

    first: int
    event: str
    instrument: str
    plain: dict[str, str] = field(default_factory=dict)
    rows: dict[str, dict[int, tuple[int, str, dict[str, str]]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Edit:
    """The fields one import row gives one instrument, where the row puts them."""

    n: int
    code: str
    event: str
    visit: str
    instrument: str
    k: int  # the instance within the visit (1 for a non-repeating instrument)
    given: dict[str, str]


def _visit_and_instance(
    pm: ProjectMap, n: int, code: str, event: str, repeat: str, instance_text: str
) -> tuple[str, int]:
    """The stored visit key and the instance within it of an import row (refused with the
    reason when the row's event and repeat columns do not fit)."""
    where = f"row {n} (record {code})"
    if instance_text and (not instance_text.isdigit() or int(instance_text) < 1):
        raise RedcapRefused(
            f"{where}: redcap_repeat_instance {instance_text!r} is not a whole number from 1"
        )
    number = int(instance_text) if instance_text else 0
    if event != pm.unscheduled_event:
        if repeat and not number:
            raise RedcapRefused(
                f"{where}: instrument {repeat} repeats; give its redcap_repeat_instance"
            )
        return pm.visit_of[event], number or 1
    step = UNSCHEDULED_STEP
    if not repeat:
        if not number:
            raise RedcapRefused(
                f"{where}: event {event} repeats (one instance per unscheduled visit); give the "
                "unscheduled visit's number as redcap_repeat_instance (3 for UNS-003)"
            )
        return f"{UNSCHEDULED}{number:03d}", 1
    seq, k = divmod(number, step)
    if seq < 1 or k < 1:
        raise RedcapRefused(
            f"{where}: at event {event} the instance of repeating instrument {repeat} is "
            f"{step} x the unscheduled visit's number + the instance within it (2001: visit 2, "
            f"instance 1); {instance_text or 'nothing'} is not"
        )
    return f"{UNSCHEDULED}{seq:03d}", k


def _edits(pm: ProjectMap, rows: list[dict[str, str]], overwrite: str) -> list[_Edit]:
    statuses = {f"{i.name}_complete" for i in pm.instruments}
    edits: list[_Edit] = []
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
        if repeat and (repeat not in pm.instrument or not pm.instrument[repeat].repeating):
            raise RedcapRefused(
                f"row {n} (record {code}): redcap_repeat_instrument {repeat!r} is not a "
                "repeating instrument; see content=repeatingFormsEvents"
            )
        visit, k = _visit_and_instance(
            pm, n, code, event, repeat, row.get("redcap_repeat_instance", "").strip()
        )
        by_instrument: dict[str, dict[str, str]] = {}
        for key, value in row.items():
            f = pm.by_name.get(key)
            if f is None or (value == "" and overwrite == "normal"):
                continue
            repeats = pm.instrument[f.instrument].repeating
            if value == "" and repeats != (repeat == f.instrument):
                continue  # a blank column of an instrument this row is not about
            if f.item.derived:
                if value != "":
                    raise RedcapRefused(
                        f"row {n} (record {code}): {key} is computed by trialkit; leave it out"
                    )
                continue
            if repeats != (repeat == f.instrument):
                raise RedcapRefused(
                    f"row {n} (record {code}): instrument {f.instrument} "
                    + (
                        "repeats; give redcap_repeat_instrument and redcap_repeat_instance"
                        if repeats
                        else f"does not repeat; its fields cannot be on a row of {repeat}"
                    )
                )
            by_instrument.setdefault(f.instrument, {})[key] = value
        for instrument, given in by_instrument.items():
            edits.append(_Edit(n, code, event, visit, instrument, k, given))
    return edits


def _read(
    db: Database, ctx: Context, study_code: str, edit: _Edit, form_id: str, instance_no: int
) -> FormRecord | None:
    """The stored instance an edit names (None: not entered yet), read as the user."""
    try:
        return read_form(
            db, ctx, study_code, edit.code, visit=edit.visit, form_id=form_id,
            instance_no=instance_no,
        )  # fmt: skip
    except NotFound as exc:
        if exc.code != "FORM.E012":
            raise _refused(edit.n, edit.code, edit.event, edit.instrument, exc) from exc
        return None
    except AccessDenied:  # a record at a site the user cannot read: as one that is not there
        absent = NotFound(f"study {study_code}: no participant {edit.code!r}", code="PART.E003")
        raise _refused(edit.n, edit.code, edit.event, edit.instrument, absent) from None
    except TrialkitError as exc:
        raise _refused(edit.n, edit.code, edit.event, edit.instrument, exc) from exc


def _instances(
    db: Database, ctx: Context, study_code: str, edit: _Edit, form_id: str
) -> list[FormRecord]:
    """Every stored instance of the edit's form at its visit, from instance 1 in order."""
    out: list[FormRecord] = []
    while (found := _read(db, ctx, study_code, edit, form_id, len(out) + 1)) is not None:
        out.append(found)
    return out


def _rows_of(record: FormRecord | None, group_id: str) -> int:
    content = record.data.get(group_id) if record is not None else None
    return len(content) if isinstance(content, list) else 0


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
    edits = _edits(pm, rows, overwrite)
    # each edit's form instance: read what is stored (as the user), then one save per instance
    targets: dict[tuple[str, str, str, int], _Target] = {}
    stored: dict[tuple[str, str, str, int], FormRecord | None] = {}
    listed: dict[tuple[str, str, str], list[FormRecord]] = {}  # every instance (nested rows)
    fresh: dict[tuple[str, str, str, str], list[_Edit]] = {}  # nested rows past the stored
    for e in edits:
        inst = pm.instrument[e.instrument]
        form_id = inst.form.id
        if inst.nested:  # row k over the form's instances in order; past them: new instances
            assert inst.group is not None
            whole = (e.code, e.visit, form_id)
            if whole not in listed:
                listed[whole] = _instances(db, ctx, study_code, e, form_id)
            spots = [
                (r.instance_no, row)
                for r in listed[whole]
                for row in range(1, _rows_of(r, inst.group.id) + 1)
            ]
            if e.k <= len(spots):
                instance_no, row_no = spots[e.k - 1]
            else:  # a new instance of the form with this one row
                fresh.setdefault((*whole, e.instrument), []).append(e)
                top = max((r.instance_no for r in listed[whole]), default=0)
                instance_no, row_no = top + e.k - len(spots), 1
        else:
            instance_no = e.k if inst.form.repeating and inst.group is None else 1
            row_no = e.k
        key = (e.code, e.visit, form_id, instance_no)
        if key not in stored:
            stored[key] = _read(db, ctx, study_code, e, form_id, instance_no)
        target = targets.setdefault(key, _Target(e.n, e.event, e.instrument))
        if inst.group is None:
            target.plain.update(e.given)
        else:
            rows_given = target.rows.setdefault(inst.group.id, {})
            before = rows_given.get(row_no, (e.n, e.instrument, {}))
            rows_given[row_no] = (before[0], e.instrument, {**before[2], **e.given})
    for (code, _visit, _form, instrument), news in fresh.items():
        have = len(
            [
                1
                for r in listed[(code, _visit, _form)]
                for _ in range(_rows_of(r, pm.instrument[instrument].group.id))  # type: ignore[union-attr]
            ]
        )
        ks = sorted({e.k for e in news})
        if ks != list(range(have + 1, have + len(ks) + 1)):
            e = min(news, key=lambda x: x.n)
            raise RedcapRefused(
                f"nothing was imported: row {e.n} (record {code}, event {e.event}, instrument "
                f"{instrument}) names instance {e.k}, but {have} exist there; new instances "
                f"are numbered on from {have + 1} without a gap"
            )
    done: list[str] = []
    with db.write() as conn:
        for key, target in targets.items():
            code, visit, form_id, instance = key
            record = stored[key]
            given_any = any(target.plain.values()) or any(
                v
                for rows_given in target.rows.values()
                for _, _, g in rows_given.values()
                for v in g.values()
            )
            if record is None and not given_any:
                continue  # overwrite with a blank instrument that was never entered: nothing
            target_form = pm.instrument[target.instrument].form
            values, missing = _stored(target_form, record)
            _apply(pm, target.plain, values, missing)
            for group_id, rows_given in target.rows.items():
                have = values.setdefault(group_id, [])
                reasons = missing.setdefault(group_id, [])
                while len(reasons) < len(have):
                    reasons.append({})
                for row_no in sorted(rows_given):
                    n, instrument, given = rows_given[row_no]
                    if row_no > len(have) + 1:
                        raise RedcapRefused(
                            f"nothing was imported: row {n} (record {code}, event "
                            f"{target.event}, instrument {instrument}) names instance "
                            f"{row_no}, but {len(have)} exist there; the next new one is "
                            f"{len(have) + 1}"
                        )
                    if row_no == len(have) + 1:
                        have.append({})
                        reasons.append({})
                    _apply(pm, given, have[row_no - 1], reasons[row_no - 1])
            try:
                save_in(
                    conn,
                    ctx,
                    study_code,
                    code,
                    visit=visit,
                    form_id=form_id,
                    values=values,
                    expected_version=None if record is None else record.version,
                    instance_no=instance,
                    reason=None if record is None else IMPORT_REASON,
                    missing=missing,
                )
            except TrialkitError as exc:
                raise _refused(target.first, code, target.event, target.instrument, exc) from exc
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


def _apply(
    pm: ProjectMap, given: dict[str, str], values: dict[str, Any], missing: dict[str, Any]
) -> None:
    """Put the given fields (REDCap names) into save input: a missing-data code saves the item
    empty with that reason."""
    for name, value in given.items():
        item = pm.by_name[name].item.name
        missing.pop(item, None)
        if value in MISSING_REASONS:
            values[item], missing[item] = "", value
        else:
            values[item] = value


def _refused(n: int, code: str, event: str, instrument: str, exc: TrialkitError) -> RedcapRefused:
    return RedcapRefused(
        f"nothing was imported: row {n} (record {code}, event {event}, instrument {instrument}) "
        f"was refused ({exc.code}): {exc.message}",
        status=403 if exc.code.startswith("AUTH.") else 400,
    )
