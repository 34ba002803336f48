"""Forms: read a stored instance, save one (the validated, scored, checked and audited save of
:func:`trialkit.services.save_form`, with the version the client last read), and its history
from the audit trail (:func:`trialkit.services.form_views.form_history`).

Values are the texts as the services take them (ISO dates, a full stop for decimals); a
repeating group is a list of rows. A stale save is 409 ``FORM.E001`` with ``current_version``
and the ``current`` values; a refused save is 422 with ``errors`` per field and writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.services import mark_not_required, read_form, save_form
from trialkit.services.form_views import form_history
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import (
    FormPath,
    Instance,
    LocalDateTime,
    ParticipantPath,
    StudyPath,
    VisitPath,
)
from trialkit.web.api.participants import load

__all__ = ["FormIn", "FormOut", "NotRequiredIn", "NotRequiredOut", "SaveOut", "router"]

router = APIRouter(tags=["forms"], responses=READ_ERRORS)

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Row = dict[Name, Text | None]
Values = dict[Name, Text | Annotated[list[Row], Field(max_length=200)] | None]

_PATH = "/studies/{study}/participants/{code}/forms/{visit}/{form}"


class FormIn(BaseModel):
    """A save: every entered item (``values``), the ``expected_version`` last read (None for a
    first entry), the ``reason`` a change after first entry needs, and missing-data reasons
    for items left empty (``missing``, in the shape of ``values``)."""

    model_config = ConfigDict(extra="forbid")

    values: Values = Field(max_length=2000)
    expected_version: int | None = Field(default=None, ge=1, le=2_147_483_647)
    reason: str | None = Field(default=None, max_length=2000)
    missing: Values | None = Field(default=None, max_length=2000)


class FormOut(BaseModel):
    visit: str
    form: str
    instance: int
    status: str
    version: int
    protocol_version: str
    data: dict[str, Any]
    derived: dict[str, Any]


class CheckOut(BaseModel):
    id: str
    severity: str
    status: str
    message: str
    missing: list[str]


class SaveOut(BaseModel):
    version: int
    protocol_version: str
    changed: list[str]
    derived: dict[str, Any]
    checks: list[CheckOut]
    queries_opened: list[int]
    notes: list[str]


class ChangeOut(BaseModel):
    path: str
    old: Any
    new: Any


class SaveEntryOut(BaseModel):
    seq: int
    at: LocalDateTime
    actor: str
    action: str
    reason: str | None
    protocol_version: str | None
    changes: list[ChangeOut]


@router.get(_PATH, response_model=FormOut, summary="A stored form instance")
def get_form(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    visit: VisitPath,
    form: FormPath,
    instance: Instance = 1,
) -> FormOut:
    load(call, study, code)
    r = read_form(call.db, call.ctx, study, code, visit=visit, form_id=form, instance_no=instance)
    return FormOut(
        visit=r.visit_key,
        form=r.form_id,
        instance=r.instance_no,
        status=r.status,
        version=r.version,
        protocol_version=r.protocol_version,
        data=r.data,
        derived=r.derived,
    )


@router.put(_PATH, response_model=SaveOut, responses=WRITE_ERRORS, summary="Save a form instance")
def put_form(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    visit: VisitPath,
    form: FormPath,
    body: FormIn,
    instance: Instance = 1,
) -> SaveOut:
    load(call, study, code)
    reason = (body.reason or "").strip() or None
    r = save_form(
        call.db,
        call.ctx,
        study,
        code,
        visit=visit,
        form_id=form,
        values=body.values,
        expected_version=body.expected_version,
        instance_no=instance,
        reason=reason,
        missing=body.missing,
    )
    return SaveOut(
        version=r.version,
        protocol_version=r.protocol_version,
        changed=list(r.changed),
        derived=r.derived,
        checks=[
            CheckOut(
                id=c.id,
                severity=c.severity,
                status=c.status,
                message=c.message,
                missing=list(c.missing),
            )
            for c in r.checks
        ],
        queries_opened=list(r.queries_opened),
        notes=list(r.notes),
    )


@router.get(
    _PATH + "/history",
    response_model=Page[SaveEntryOut],
    summary="Every save of the form instance in the audit trail, oldest first",
)
def get_history(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    visit: VisitPath,
    form: FormPath,
    instance: Instance = 1,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[SaveEntryOut]:
    load(call, study, code)
    saves = form_history(
        call.db, call.ctx, study, code, visit=visit, form_id=form, instance_no=instance
    )
    page, after = paginate(saves, lambda s: s.seq, limit, cursor)
    items = [
        SaveEntryOut(
            seq=s.seq,
            at=s.at,
            actor=s.actor,
            action=s.action,
            reason=s.reason,
            protocol_version=s.protocol_version,
            changes=[ChangeOut(path=c.path, old=c.old, new=c.new) for c in s.changes],
        )
        for s in page
    ]
    return Page[SaveEntryOut](items=items, next_cursor=after)


class NotRequiredIn(BaseModel):
    """Why the form expected at the visit is not required for this participant."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, examples=["lesion resolved"])


class NotRequiredOut(BaseModel):
    visit: str
    form: str
    status: str
    reason: str


@router.post(
    _PATH + "/not-required",
    response_model=NotRequiredOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Mark a form not required for the participant (a form without data)",
)
def not_required(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    visit: VisitPath,
    form: FormPath,
    body: NotRequiredIn,
) -> NotRequiredOut:
    load(call, study, code)
    reason = body.reason.strip()
    mark_not_required(call.db, call.ctx, study, code, visit=visit, form_id=form, reason=reason)
    return NotRequiredOut(visit=visit, form=form, status="not_required", reason=reason)
