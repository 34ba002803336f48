"""Unscheduled visits: recording one, with the reason the participant came
(:func:`trialkit.services.unscheduled_visit`, the roles that enter data, at the participant's
site). The answer is the visit's key (``UNS-001``, ...), under which its forms are entered with
``PUT .../forms/{visit}/{form}`` and an adverse event with ``POST .../adverse-events``."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from trialkit.services import unscheduled_visit
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.params import ParticipantPath, StudyPath
from trialkit.web.api.participants import load

__all__ = ["UnscheduledIn", "UnscheduledOut", "router"]

router = APIRouter(tags=["participants"], responses=READ_ERRORS)


class UnscheduledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date = Field(description="The day of the visit.")
    reason: str = Field(min_length=1, max_length=2000, description="Why the participant came.")


class UnscheduledOut(BaseModel):
    visit: str
    on: date
    reason: str


@router.post(
    "/studies/{study}/participants/{code}/visits/unscheduled",
    response_model=UnscheduledOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Record an unscheduled visit, with its reason",
)
def new_unscheduled_visit(
    call: Auth, study: StudyPath, code: ParticipantPath, body: UnscheduledIn
) -> UnscheduledOut:
    load(call, study, code)
    reason = body.reason.strip()
    key = unscheduled_visit(call.db, call.ctx, study, code, body.on, reason)
    return UnscheduledOut(visit=key, on=body.on, reason=reason)
