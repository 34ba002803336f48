"""``content=log``: the audit trail of the participants' forms, as REDCap's logging export.

The entries are those of the form instances the record export reads (same sites, same export
permission), newest first, one row per save: ``timestamp`` (``YYYY-MM-DD HH:MM``), ``username``
(the actor the trail recorded), ``action`` (``Create record``, ``Update record``, or
``Update record`` with ``(not required)``), ``details`` (``field = 'value'`` for each change,
the reason given, the repeat instance) and ``record``. Only data changes are in the trail's
form entries, so ``logtype`` other than ``record``, ``record_add`` and ``record_edit`` has no
rows. Filters: ``user``, ``record``, ``beginTime`` and ``endTime`` (``YYYY-MM-DD HH:MM``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import Response
from starlette.datastructures import FormData

from trialkit.services.context import Context
from trialkit.services.extract import Entry, open_extract
from trialkit.store import Database
from trialkit.web.redcap.mapping import Field, ProjectMap, raw_of
from trialkit.web.redcap.records import visible_values
from trialkit.web.redcap.reply import RedcapRefused, table

__all__ = ["COLUMNS", "export_log"]

COLUMNS = ("timestamp", "username", "action", "details", "record")
_RECORD_TYPES = ("", "record", "record_add", "record_edit")


def _time(form: FormData, key: str) -> datetime | None:
    given = str(form.get(key) or "").strip()
    if not given:
        return None
    try:
        return datetime.fromisoformat(given)
    except ValueError as exc:
        raise RedcapRefused(f"{key} {given!r} is not a time; write YYYY-MM-DD HH:MM") from exc


def export_log(
    db: Database, ctx: Context, study_code: str, pm: ProjectMap, form: FormData, fmt: str
) -> Response:
    logtype = str(form.get("logtype") or "").strip()
    user = str(form.get("user") or "").strip()
    only = str(form.get("record") or "").strip()
    begin, end = _time(form, "beginTime"), _time(form, "endTime")
    rows: list[dict[str, str]] = []
    if logtype not in _RECORD_TYPES:
        return table(rows, COLUMNS, fmt)
    with open_extract(db, ctx, study_code) as extract:
        forms: dict[int, tuple[str, str]] = {}  # record -> participant, form's plain instrument
        names: dict[tuple[int, str], tuple[Field, int]] = {}  # the field and repeat instance
        for v, f, instance in visible_values(pm, extract):
            if only and v.participant != only:
                continue
            plain = pm.instrument[f.instrument].group is None
            if plain or v.record not in forms:
                forms[v.record] = (v.participant, f.instrument)
            if not v.group:
                path = f"derived/{v.item}"
            elif plain:
                path = f"{v.group}/{v.item}"
            else:
                path = f"{v.group}[{v.instance.partition('.')[2]}]/{v.item}"
            names[(v.record, path)] = (f, instance)
        history = extract.history(sorted(forms))
    saves: dict[tuple[int, datetime, str, str], list[tuple[tuple[Field, int] | None, Entry]]] = {}
    for (record, path), entries in history.items():
        field = names.get((record, path))
        if field is None and path != "status":
            continue  # an item without a REDCap field, or one hidden from this reader
        for e in entries:
            saves.setdefault((record, e.at, e.actor, e.action), []).append((field, e))
    for (record, at, actor, action), changes in sorted(
        saves.items(), key=lambda kv: -max(e.seq for _, e in kv[1])
    ):
        code, instrument = forms[record]
        if (user and actor != user) or (begin and at < begin) or (end and at > end):
            continue
        kind = {"enter": "Create record", "not_required": "Update record"}.get(
            action, "Update record"
        )
        if (logtype == "record_add" and kind != "Create record") or (
            logtype == "record_edit" and kind == "Create record"
        ):
            continue
        ordered = sorted(changes, key=lambda c: c[1].seq)
        details = [
            f"{fk[0].name} = '{raw_of(fk[0].item, e.value or '')}'"
            for fk, e in ordered
            if fk is not None
        ]
        if action == "not_required":
            details.append(f"[{instrument} not required]")
        instances = sorted({k for fk, _ in ordered if fk is not None and (k := fk[1])})
        if instances:
            details.append(f"[instance = {', '.join(map(str, instances))}]")
        reason = next((e.reason for _, e in changes if e.reason), None)
        if reason:
            details.append(f"[reason: {reason}]")
        rows.append(
            {
                "timestamp": at.strftime("%Y-%m-%d %H:%M"),
                "username": actor,
                "action": f"{kind} {code}",
                "details": ", ".join(details),
                "record": code,
            }
        )
    return table(rows, COLUMNS, fmt)
