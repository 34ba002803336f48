"""Adverse events of a participant: the list with grades and serious-event clocks, entry of a
new event (:func:`trialkit.services.record_adverse_event`: the form's validated, audited save,
grading, the stopping rules and the serious-event clock, in one transaction), the grade a CTCAE
term would take from a visit's values before anything is saved
(:func:`trialkit.services.preview_grade`), and recording that a serious event's report was made
(:func:`trialkit.services.record_serious_report`; a report of another participant reads as
not found, ``SAFETY.E031``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.errors import NotFound
from trialkit.services import (
    Permission,
    list_adverse_events,
    preview_grade,
    record_adverse_event,
    record_serious_report,
    serious_reports,
)
from trialkit.services.access import require
from trialkit.services.grades import AeGrade
from trialkit.services.safety import SeriousReport
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath
from trialkit.web.api.participants import load
from trialkit.web.api.safety import PauseOut, pause_out

__all__ = ["AdverseEventIn", "AdverseEventOut", "GradePreviewOut", "ReportIn", "router"]

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


class ReportIn(BaseModel):
    """That the report was made: when (the site's clock) and where it went, with its number."""

    model_config = ConfigDict(extra="forbid")

    reported_at: LocalDateTime
    reference: str = Field(min_length=1, max_length=500, examples=["sponsor SAE form 2025-014"])


class GradePreviewOut(BaseModel):
    """The grade the term takes from the visit's values (and the baseline's): ``computed``
    (None: not graded from values, ``why``), the ``inputs`` read, and a ``problem``."""

    term: str | None
    computed: int | None
    why: str | None
    inputs: dict[str, Any]
    entered: int | None
    reason: str | None
    effective: int | None
    problem: str | None


@router.get(
    _PATH + "/grade",
    response_model=GradePreviewOut,
    summary="The grade a CTCAE term takes from a visit's values, before anything is saved",
)
def grade_preview(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    visit: Annotated[
        str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", description="The visit key.")
    ],
    term: Annotated[str, Query(min_length=1, max_length=200, description="The CTCAE term.")],
) -> GradePreviewOut:
    load(call, study, code)
    g = preview_grade(call.db, call.ctx, study, code, visit=visit, term=term)
    return GradePreviewOut(
        term=g.term,
        computed=g.computed,
        why=g.why,
        inputs=g.inputs,
        entered=g.entered,
        reason=g.reason,
        effective=g.effective,
        problem=g.problem,
    )


@router.post(
    _PATH + "/reports/{report_id}",
    response_model=ReportOut,
    responses=WRITE_ERRORS,
    summary="Record that a serious event's report was made",
)
def report_made(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    report_id: Annotated[int, Path(ge=1, le=2_147_483_647, description="The report's id.")],
    body: ReportIn,
) -> ReportOut:
    p = load(call, study, code)
    # who may record it is checked before the report is looked up: a role that may not record
    # reports is told so whatever the id
    require(call.ctx.principal, Permission.WRITE, study, p.site)
    mine = {r.id for r in serious_reports(call.db, call.ctx, study, participant_code=code)}
    if report_id not in mine:
        raise NotFound(
            f"participant {code}: no serious-event report {report_id}",
            code="SAFETY.E031",
            hint="GET .../adverse-events lists the participant's reports",
        )
    made = record_serious_report(
        call.db, call.ctx, study, report_id, reported_at=body.reported_at, reference=body.reference
    )
    out = _report(made)
    assert out is not None
    return out
