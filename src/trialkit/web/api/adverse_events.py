"""Adverse events of a participant: the list with grades and serious-event clocks, and entry
of a new event (:func:`trialkit.services.record_adverse_event`: the form's validated, audited
save, grading, the stopping rules and the serious-event clock, in one transaction)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.services import list_adverse_events, record_adverse_event
from trialkit.services.grades import AeGrade
from trialkit.services.safety import SeriousReport
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath
from trialkit.web.api.participants import load
from trialkit.web.api.safety import PauseOut, pause_out

__all__ = ["AdverseEventIn", "AdverseEventOut", "router"]

router = APIRouter(tags=["adverse events"], responses=READ_ERRORS)

_PATH = "/studies/{study}/participants/{code}/adverse-events"


class AdverseEventIn(BaseModel):
    """An event entered at ``visit``: item name to the text as entered."""

    model_config = ConfigDict(extra="forbid")

    visit: str = Field(min_length=1, max_length=64)
    values: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64)],
        Annotated[str, StringConstraints(max_length=4000)],
    ] = Field(max_length=200)


class GradeOut(BaseModel):
    term: str | None
    computed: int | None
    computed_why: str | None
    inputs: dict[str, Any]
    entered: int | None
    reason: str | None
    effective: int | None


class ReportOut(BaseModel):
    id: int
    term: str
    aware_at: LocalDateTime
    aware_source: str
    due_at: LocalDateTime
    report_hours: int
    status: str
    reported_at: LocalDateTime | None
    reported_by: str | None
    reference: str | None
    overdue: bool
    late: bool
    version: int


class AdverseEventOut(BaseModel):
    event_key: str
    visit: str
    instance: int
    row: int | None
    values: dict[str, Any]
    labels: dict[str, str]
    grade: GradeOut | None
    report: ReportOut | None


class RecordedOut(BaseModel):
    event_key: str
    visit: str
    instance: int
    grade: GradeOut | None
    fired: list[PauseOut]
    report: ReportOut | None
    notes: list[str]


def _grade(g: AeGrade | None) -> GradeOut | None:
    if g is None:
        return None
    return GradeOut(
        term=g.term,
        computed=g.computed,
        computed_why=g.computed_why,
        inputs=g.inputs,
        entered=g.entered,
        reason=g.reason,
        effective=g.effective,
    )


def _report(r: SeriousReport | None) -> ReportOut | None:
    if r is None:
        return None
    return ReportOut(
        id=r.id,
        term=r.term,
        aware_at=r.aware_at,
        aware_source=r.aware_source,
        due_at=r.due_at,
        report_hours=r.report_hours,
        status=r.status,
        reported_at=r.reported_at,
        reported_by=r.reported_by,
        reference=r.reference,
        overdue=r.overdue,
        late=r.late,
        version=r.version,
    )


@router.get(_PATH, response_model=Page[AdverseEventOut], summary="The participant's adverse events")
def adverse_events(
    call: Auth, study: StudyPath, code: ParticipantPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[AdverseEventOut]:
    load(call, study, code)
    numbered = list(enumerate(list_adverse_events(call.db, call.ctx, study, code)))
    page, after = paginate(numbered, lambda e: e[0], limit, cursor)
    items = [
        AdverseEventOut(
            event_key=e.event_key,
            visit=e.visit,
            instance=e.instance_no,
            row=e.row,
            values=e.values,
            labels=e.labels,
            grade=_grade(e.grade),
            report=_report(e.report),
        )
        for _, e in page
    ]
    return Page[AdverseEventOut](items=items, next_cursor=after)


@router.post(
    _PATH,
    response_model=RecordedOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Enter an adverse event",
)
def new_adverse_event(
    call: Auth, study: StudyPath, code: ParticipantPath, body: AdverseEventIn
) -> RecordedOut:
    load(call, study, code)
    r = record_adverse_event(
        call.db, call.ctx, study, code, visit=body.visit, values=dict(body.values)
    )
    return RecordedOut(
        event_key=r.event_key,
        visit=r.visit,
        instance=r.instance_no,
        grade=_grade(r.grade),
        fired=[pause_out(p) for p in r.fired],
        report=_report(r.report),
        notes=list(r.notes),
    )
