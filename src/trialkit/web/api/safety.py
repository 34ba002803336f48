"""Safety status of a study: what the stopping rules have paused now, every firing, and the
safety decisions (arms hidden from a blinded caller, as on the pages)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from trialkit.services import PauseRecord, safety_status
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
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
    s = safety_status(call.db, call.ctx, study)
    return SafetyOut(
        enrolment_paused=s.enrolment_paused,
        dosing_paused=s.dosing_paused,
        paused_arms=list(s.paused_arms),
        stopped_participants=list(s.stopped_participants),
        pauses=[pause_out(p) for p in s.pauses],
        decisions=[dict(d) for d in s.decisions],
    )
