"""What a data-entry page reads: a form's definition, its stored instance, its open queries, and
its history from the audit trail.

:func:`form_view` gives everything needed to show one form of one participant at one visit: the
definition at the participant's protocol version (instrument groups written out, so every item
is there), the code lists its items use, the stored instance (or None), the queries open on it
and whether the user may enter data. :func:`form_history` reads the instance's entries from the
audit trail, grouped per save: who, when, why, and each item's old and new entry.

Both check READ at the participant's site (a participant elsewhere reads as not found to the
caller that asks, as everywhere); neither shows an arm: the participant is shown as the caller
may see it, and form data never holds the allocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.errors import NotFound, ValidationFailed
from trialkit.protocol import CodeList, DataType, Form
from trialkit.services import lookups, studies
from trialkit.services.access import Permission
from trialkit.services.context import Context
from trialkit.services.forms import (
    IDENTITY_PATHS,
    UNSCHEDULED_PREFIX,
    FormRecord,
    _form_for_visit,
    _record,
)
from trialkit.services.queries import DataQuery, list_queries
from trialkit.store import Database, canonical
from trialkit.store.audited import audited
from trialkit.store.tables import audit_log, form_instance

__all__ = [
    "FormEntry",
    "FormSave",
    "FormView",
    "ItemChange",
    "form_entry",
    "form_history",
    "form_view",
]


@dataclass(frozen=True)
class FormView:
    """One form of one participant at one visit, as the caller may see it."""

    participant: lookups.Participant
    visit: str
    visit_name: str
    form: Form
    codelists: dict[str, CodeList]
    protocol_version: str
    record: FormRecord | None
    queries: tuple[DataQuery, ...]
    may_write: bool
    instance_no: int = 1


@dataclass(frozen=True)
class ItemChange:
    """One audited change of an item (``path`` as the trail names it) or of the form's status."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class FormSave:
    """One save of the form: who, when, why, under which protocol version, and what changed."""

    seq: int
    at: datetime
    actor: str
    action: str
    reason: str | None
    protocol_version: str | None
    changes: tuple[ItemChange, ...]


def _visit_name(study: Any, visit: str) -> str:
    if visit.startswith(UNSCHEDULED_PREFIX):
        return "Unscheduled visit"
    found = next((v for v in study.timeline.visits if v.id == visit), None)
    return str(found.name) if found is not None else visit


def form_view(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    instance_no: int = 1,
) -> FormView:
    """The form's definition and stored instance (READ at the participant's site)."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.READ)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        form = _form_for_visit(ref.study, visit, form_id)
        if instance_no != 1 and not form.repeating:
            raise ValidationFailed(
                f"form {form_id} is entered once per visit; instance {instance_no} is not allowed",
                code="FORM.E006",
            )
        row = conn.execute(
            sa.select(form_instance).where(
                form_instance.c.participant_id == p.id,
                form_instance.c.visit_key == visit,
                form_instance.c.form_id == form_id,
                form_instance.c.instance_no == instance_no,
            )
        ).first()
        record = None
        if row is not None:
            record = _record(row, studies.protocol_by_id(conn, row.protocol_version_id).version)
        names = {i.codelist for i in form.items() if i.data_type is DataType.CODE and i.codelist}
        codelists = {c.id: c for c in ref.study.codelists if c.id in names}
        shown = lookups.shown(conn, ctx, p)
        visit_name = _visit_name(ref.study, visit)
        version = ref.version
    queries: tuple[DataQuery, ...] = ()
    if record is not None:
        queries = tuple(
            q
            for q in list_queries(
                db, ctx, study_code, status=("open", "answered"), participant=participant_code
            )
            if (q.visit, q.form_id, q.instance_no) == (visit, form_id, instance_no)
        )
    return FormView(
        shown,
        visit,
        visit_name,
        form,
        codelists,
        version,
        record,
        queries,
        ctx.principal.can(Permission.WRITE, study_code, p.site),
        instance_no,
    )


@dataclass(frozen=True)
class FormEntry:
    """What a save of the data-entry page needs before the service: the form's definition at
    the participant's protocol version and the stored instance (None: not entered, or not
    read)."""

    form: Form
    record: FormRecord | None
    instance_no: int = 1


def form_entry(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    instance_no: int = 1,
    stored: bool = True,
) -> FormEntry:
    """The part of :func:`form_view` that turns posted fields into the values of a save, with
    the same checks (READ at the participant's site, the form at the visit, its instance);
    ``stored=False`` leaves the stored instance unread (a form opened as new: nothing was
    shown, and the service refuses the save if someone entered it since)."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.READ)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        form = _form_for_visit(ref.study, visit, form_id)
        if instance_no != 1 and not form.repeating:
            raise ValidationFailed(
                f"form {form_id} is entered once per visit; instance {instance_no} is not allowed",
                code="FORM.E006",
            )
        record = None
        if stored:
            row = conn.execute(
                sa.select(form_instance).where(
                    form_instance.c.participant_id == p.id,
                    form_instance.c.visit_key == visit,
                    form_instance.c.form_id == form_id,
                    form_instance.c.instance_no == instance_no,
                )
            ).first()
            if row is not None:
                pv = studies.protocol_by_id(conn, row.protocol_version_id).version
                record = _record(row, pv)
    return FormEntry(form, record, instance_no)


def _loads(text: str | None) -> Any:
    return None if text is None else canonical.loads(text)


def form_history(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    instance_no: int = 1,
) -> list[FormSave]:
    """Every change of the form instance in the audit trail, oldest first, one entry per save."""
    entity = audited(form_instance).entity
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.READ)
        instance_id = conn.execute(
            sa.select(form_instance.c.id).where(
                form_instance.c.participant_id == p.id,
                form_instance.c.visit_key == visit,
                form_instance.c.form_id == form_id,
                form_instance.c.instance_no == instance_no,
            )
        ).scalar()
        if instance_id is None:
            raise NotFound(
                f"form {form_id} at visit {visit} has not been entered", code="FORM.E012"
            )
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.entity == entity, audit_log.c.entity_id == str(instance_id))
            .order_by(audit_log.c.seq)
        ).all()
    saves: list[FormSave] = []
    for r in rows:
        if r.path in IDENTITY_PATHS:  # what the instance is, recorded once: not a change
            continue
        key = (r.at, r.actor, r.action, r.reason, r.protocol_version)
        change = ItemChange(r.path, _loads(r.old), _loads(r.new))
        last = saves[-1] if saves else None
        if (
            last is not None
            and (
                last.at.isoformat(timespec="microseconds"),
                last.actor,
                last.action,
                last.reason,
                last.protocol_version,
            )
            == key
            and r.seq == last.seq + len(last.changes)
        ):
            saves[-1] = FormSave(
                last.seq,
                last.at,
                last.actor,
                last.action,
                last.reason,
                last.protocol_version,
                (*last.changes, change),
            )
            continue
        saves.append(
            FormSave(
                int(r.seq),
                datetime.fromisoformat(r.at),
                r.actor,
                r.action,
                r.reason,
                r.protocol_version,
                (change,),
            )
        )
    return saves
