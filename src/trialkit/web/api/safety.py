"""Safety status of a study: what the stopping rules have paused now, every firing, and the
safety decisions (arms hidden from a blinded caller, as on the pages); and the safety board
lifting a pause with its decision (:func:`trialkit.services.lift_pause`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from trialkit.services import PauseRecord, lift_pause, safety_status
from trialkit.web.api.auth import Auth, Caller
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.params import LocalDateTime, StudyPath

__all__ = ["PauseOut", "SafetyOut", "pause_out", "router"]

router = APIRouter(tags=["safety"], responses=READ_ERRORS)


class PauseOut(BaseModel):
    id: int
    rule_id: str
    action: str
    scope: str
    target: str | None
    status: str
    fired_at: LocalDateTime
    trigger: dict[str, Any]
    lifted_by: str | None
    lifted_at: LocalDateTime | None
    lift_reason: str | None


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000, description="The board's decision.")


class SafetyOut(BaseModel):
    enrolment_paused: bool
    dosing_paused: bool
    paused_arms: list[str]
    stopped_participants: list[str]
    pauses: list[PauseOut]
    decisions: list[dict[str, Any]]


def pause_out(p: PauseRecord) -> PauseOut:
    return PauseOut(
        id=p.id,
        rule_id=p.rule_id,
        action=p.action,
        scope=p.scope,
        target=p.target,
        status=p.status,
        fired_at=p.fired_at,
        trigger=p.trigger,
        lifted_by=p.lifted_by,
        lifted_at=p.lifted_at,
        lift_reason=p.lift_reason,
    )


@router.get("/studies/{study}/safety", response_model=SafetyOut, summary="The safety status")
def study_safety(call: Auth, study: StudyPath) -> SafetyOut:
    return _status(call, study)


@router.post(
    "/studies/{study}/safety/pauses/{pause_id}/lift",
    response_model=SafetyOut,
    responses=WRITE_ERRORS,
    summary="Lift a pause (the safety board), with its decision",
)
def lift(
    call: Auth,
    study: StudyPath,
    pause_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: LiftIn,
) -> SafetyOut:
    lift_pause(call.db, call.ctx, study, pause_id, body.reason)
    return _status(call, study)


def _status(call: Caller, study: str) -> SafetyOut:
    s = safety_status(call.db, call.ctx, study)
    return SafetyOut(
        enrolment_paused=s.enrolment_paused,
        dosing_paused=s.dosing_paused,
        paused_arms=list(s.paused_arms),
        stopped_participants=list(s.stopped_participants),
        pauses=[pause_out(p) for p in s.pauses],
        decisions=[dict(d) for d in s.decisions],
    )
