"""Participants: the list at the caller's sites, one participant, registration, the lifecycle
actions (consent, screen, enrol, screen failure, withdrawal, lost to follow-up, completion),
the lifecycle history, the calendar, and recording a visit done or missed.

A participant at a site the caller cannot read is answered exactly like one that does not exist
(``PART.E003``, 404): nothing about other sites leaks. The arm is None for a blinded caller.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from trialkit.errors import AccessDenied, NotFound
from trialkit.services import Participant as ServiceParticipant
from trialkit.services import (
    Permission,
    calendar,
    complete,
    consent,
    enrol,
    get_participant,
    history,
    lose,
    miss_visit,
    record_visit,
    register,
    screen,
    screen_fail,
    withdraw,
)
from trialkit.services.access import visible_sites
from trialkit.services.matrix import status_matrix
from trialkit.web.api.auth import Auth, Caller
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath, VisitPath

__all__ = ["ParticipantOut", "load", "router"]

router = APIRouter(tags=["participants"], responses=READ_ERRORS)

_Text = Field(min_length=1, max_length=2000)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(_In):
    site: str = Field(min_length=1, max_length=32, description="The site's code.")


class ConsentIn(_In):
    on: date = Field(description="The day consent was obtained.")
    form_version: str = Field(min_length=1, max_length=32)
    obtained_by: str = Field(min_length=1, max_length=128)


class ReasonIn(_In):
    reason: str = _Text


class VisitDoneIn(_In):
    on: date = Field(description="The day the visit took place.")


class EnrolIn(_In):
    investigator_override: str | None = Field(default=None, max_length=2000)


class ParticipantRow(BaseModel):
    code: str
    site: str
    status: str
    arm: str | None


class ParticipantOut(ParticipantRow):
    protocol_version: str
    version: int
    eligibility: dict[str, Any] | None


class EventOut(BaseModel):
    step: str
    from_status: str
    to_status: str
    at: LocalDateTime
    actor: str
    reason: str | None
    data: Any


class VisitOut(BaseModel):
    key: str
    name: str
    target: date | None
    earliest: date | None
    latest: date | None
    state: str
    on_date: date | None
    forms: dict[str, str]


class DoseSlotOut(BaseModel):
    event: str
    target: LocalDateTime | None
    earliest: LocalDateTime | None
    latest: LocalDateTime | None
    given_at: LocalDateTime | None


class CalendarOut(BaseModel):
    participant: str
    status: str
    visits: list[VisitOut]
    doses: list[DoseSlotOut]


def _visit_out(v: Any) -> VisitOut:
    return VisitOut(
        key=v.key,
        name=v.name,
        target=v.target,
        earliest=v.earliest,
        latest=v.latest,
        state=v.state.value,
        on_date=v.on_date,
        forms=dict(v.forms),
    )


def _hidden(study: str, code: str) -> NotFound:
    return NotFound(
        f"study {study}: no participant {code!r} at your sites",
        code="PART.E003",
        hint="check the participant id",
    )


def load(call: Caller, study: str, code: str) -> ServiceParticipant:
    """The participant as the caller may read it; one at another site reads as not found."""
    visible_sites(call.ctx.principal, Permission.READ, study)  # a non-member: 403
    try:
        return get_participant(call.db, call.ctx, study, code)
    except (AccessDenied, NotFound):
        raise _hidden(study, code) from None


def _out(p: ServiceParticipant) -> ParticipantOut:
    return ParticipantOut(
        code=p.code,
        site=p.site,
        status=p.status.value,
        arm=p.arm,
        protocol_version=p.protocol_version,
        version=p.version,
        eligibility=p.eligibility if isinstance(p.eligibility, dict) else None,
    )


@router.get(
    "/studies/{study}/participants",
    response_model=Page[ParticipantRow],
    summary="The participants at the caller's sites",
)
def participants(
    call: Auth, study: StudyPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[ParticipantRow]:
    rows = [
        ParticipantRow(code=r.participant, site=r.site, status=r.status.value, arm=r.arm)
        for r in status_matrix(call.db, call.ctx, study, call.today).rows
    ]
    items, after = paginate(rows, lambda r: r.code, limit, cursor)
    return Page[ParticipantRow](items=items, next_cursor=after)


@router.post(
    "/studies/{study}/participants",
    response_model=ParticipantOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Register a participant (in screening) at a site",
)
def register_participant(call: Auth, study: StudyPath, body: RegisterIn) -> ParticipantOut:
    visible_sites(call.ctx.principal, Permission.READ, study)
    return _out(register(call.db, call.ctx, study, body.site))


@router.get(
    "/studies/{study}/participants/{code}",
    response_model=ParticipantOut,
    summary="One participant",
)
def participant(call: Auth, study: StudyPath, code: ParticipantPath) -> ParticipantOut:
    return _out(load(call, study, code))


@router.get(
    "/studies/{study}/participants/{code}/history",
    response_model=Page[EventOut],
    summary="The participant's lifecycle events, oldest first",
)
def participant_history(
    call: Auth, study: StudyPath, code: ParticipantPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[EventOut]:
    load(call, study, code)
    numbered = list(enumerate(history(call.db, call.ctx, study, code)))
    page, after = paginate(numbered, lambda e: e[0], limit, cursor)
    items = [
        EventOut(
            step=e["step"],
            from_status=e["from_status"],
            to_status=e["to_status"],
            at=e["at"],
            actor=e["actor"],
            reason=e["reason"],
            data=e["data"],
        )
        for _, e in page
    ]
    return Page[EventOut](items=items, next_cursor=after)


@router.get(
    "/studies/{study}/participants/{code}/calendar",
    response_model=CalendarOut,
    summary="The participant's visits with their windows on a day, and the dosing slots",
)
def participant_calendar(
    call: Auth, study: StudyPath, code: ParticipantPath, on: date | None = None
) -> CalendarOut:
    load(call, study, code)
    cal = calendar(call.db, call.ctx, study, code, on or call.today)
    return CalendarOut(
        participant=cal.participant,
        status=cal.status.value,
        visits=[_visit_out(v) for v in cal.visits],
        doses=[
            DoseSlotOut(
                event=d.id,
                target=d.target,
                earliest=d.earliest,
                latest=d.latest,
                given_at=(cal.given.get(d.id) or {}).get("given_at"),
            )
            for d in cal.doses
        ],
    )


def _action(step: str, summary: str) -> Callable[[Callable[..., ParticipantOut]], Any]:
    """The route of one lifecycle action: ``POST .../participants/{code}/{step}``."""
    return router.post(
        "/studies/{study}/participants/{code}/" + step,
        response_model=ParticipantOut,
        responses=WRITE_ERRORS,
        summary=summary,
    )


@_action("consent", "Record consent")
def consent_participant(
    call: Auth, study: StudyPath, code: ParticipantPath, body: ConsentIn
) -> ParticipantOut:
    load(call, study, code)
    p = consent(
        call.db,
        call.ctx,
        study,
        code,
        on=body.on,
        form_version=body.form_version,
        obtained_by=body.obtained_by,
    )
    return _out(p)


@_action("screen", "Evaluate eligibility")
def screen_participant(call: Auth, study: StudyPath, code: ParticipantPath) -> ParticipantOut:
    load(call, study, code)
    return _out(screen(call.db, call.ctx, study, code))


@_action("enrol", "Enrol and allocate")
def enrol_participant(
    call: Auth, study: StudyPath, code: ParticipantPath, body: EnrolIn
) -> ParticipantOut:
    load(call, study, code)
    override = (body.investigator_override or "").strip() or None
    return _out(enrol(call.db, call.ctx, study, code, investigator_override=override))


@_action("screen-fail", "Record a screen failure")
def screen_fail_participant(
    call: Auth, study: StudyPath, code: ParticipantPath, body: ReasonIn
) -> ParticipantOut:
    load(call, study, code)
    return _out(screen_fail(call.db, call.ctx, study, code, body.reason))


@_action("withdraw", "Withdraw")
def withdraw_participant(
    call: Auth, study: StudyPath, code: ParticipantPath, body: ReasonIn
) -> ParticipantOut:
    load(call, study, code)
    return _out(withdraw(call.db, call.ctx, study, code, body.reason))


@_action("lose", "Record lost to follow-up")
def lose_participant(
    call: Auth, study: StudyPath, code: ParticipantPath, body: ReasonIn
) -> ParticipantOut:
    load(call, study, code)
    return _out(lose(call.db, call.ctx, study, code, body.reason))


@_action("complete", "Complete")
def complete_participant(call: Auth, study: StudyPath, code: ParticipantPath) -> ParticipantOut:
    load(call, study, code)
    return _out(complete(call.db, call.ctx, study, code))


@router.post(
    "/studies/{study}/participants/{code}/visits/{visit}/done",
    response_model=VisitOut,
    responses=WRITE_ERRORS,
    summary="Record that a scheduled visit took place",
)
def visit_done(
    call: Auth, study: StudyPath, code: ParticipantPath, visit: VisitPath, body: VisitDoneIn
) -> VisitOut:
    load(call, study, code)
    return _visit_out(record_visit(call.db, call.ctx, study, code, visit, body.on))


@router.post(
    "/studies/{study}/participants/{code}/visits/{visit}/missed",
    response_model=VisitOut,
    responses=WRITE_ERRORS,
    summary="Declare a scheduled visit missed, with the reason",
)
def visit_missed(
    call: Auth, study: StudyPath, code: ParticipantPath, visit: VisitPath, body: ReasonIn
) -> VisitOut:
    load(call, study, code)
    return _visit_out(miss_visit(call.db, call.ctx, study, code, visit, body.reason))
