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
        forms: dict[int, tuple[str, str, str]] = {}  # record -> participant, form, instance
        names: dict[tuple[int, str], Field] = {}
        for v, f in visible_values(pm, extract):
            if only and v.participant != only:
                continue
            forms[v.record] = (v.participant, f.instrument, v.instance)
            path = f"{v.group}/{v.item}" if v.group else f"derived/{v.item}"
            names[(v.record, path)] = f
        history = extract.history(sorted(forms))
    saves: dict[tuple[int, datetime, str, str], list[tuple[Field | None, Entry]]] = {}
    for (record, path), entries in history.items():
        field = names.get((record, path))
        if field is None and path != "status":
            continue  # an item without a REDCap field, or one hidden from this reader
        for e in entries:
            saves.setdefault((record, e.at, e.actor, e.action), []).append((field, e))
    for (record, at, actor, action), changes in sorted(
        saves.items(), key=lambda kv: -max(e.seq for _, e in kv[1])
    ):
        code, instrument, instance = forms[record]
        if (user and actor != user) or (begin and at < begin) or (end and at > end):
            continue
        kind = {"enter": "Create record", "not_required": "Update record"}.get(
            action, "Update record"
        )
        if (logtype == "record_add" and kind != "Create record") or (
            logtype == "record_edit" and kind == "Create record"
        ):
            continue
        details = [
            f"{f.name} = '{raw_of(f.item, e.value or '')}'"
            for f, e in sorted(changes, key=lambda c: c[1].seq)
            if f is not None
        ]
        if action == "not_required":
            details.append(f"[{instrument} not required]")
        if pm.form_of[instrument].repeating:
            details.append(f"[instance = {instance}]")
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
