"""The study's active locks at the caller's sites (a study lock is always shown), and locking or
unlocking a form instance, a participant's records or the whole study (the LOCK permission; a
reason each time)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from trialkit.services import Lock, lock, locks, unlock
from trialkit.web.api.auth import Auth, Caller
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, StudyPath
from trialkit.web.api.participants import load

__all__ = ["LockOut", "router"]

router = APIRouter(tags=["locks"], responses=READ_ERRORS)


class LockIn(BaseModel):
    """What to lock or unlock: a ``study`` (nothing else named), a ``participant`` (its code),
    or a ``form`` (participant, visit, form and instance); and why."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["study", "participant", "form"]
    participant: str | None = Field(default=None, min_length=1, max_length=64)
    visit: str | None = Field(default=None, min_length=1, max_length=64)
    form: str | None = Field(default=None, min_length=1, max_length=64)
    instance: int = Field(default=1, ge=1, le=10_000)
    reason: str = Field(min_length=1, max_length=2000)


class LockOut(BaseModel):
    id: int
    scope: str
    target: str
    participant: str | None
    site: str | None
    visit: str | None
    form: str | None
    instance: int | None
    reason: str
    locked_by: str
    locked_at: LocalDateTime
    unlocked_by: str | None
    unlocked_at: LocalDateTime | None
    unlock_reason: str | None


def _out(held: Lock) -> LockOut:
    return LockOut(
        id=held.id,
        scope=held.scope,
        target=held.target,
        participant=held.participant,
        site=held.site,
        visit=held.visit,
        form=held.form_id,
        instance=held.instance_no,
        reason=held.reason,
        locked_by=held.locked_by,
        locked_at=held.locked_at,
        unlocked_by=held.unlocked_by,
        unlocked_at=held.unlocked_at,
        unlock_reason=held.unlock_reason,
    )


@router.get("/studies/{study}/locks", response_model=Page[LockOut], summary="The active locks")
def study_locks(
    call: Auth, study: StudyPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[LockOut]:
    page, after = paginate(locks(call.db, call.ctx, study), lambda lk: lk.id, limit, cursor)
    return Page[LockOut](items=[_out(lk) for lk in page], next_cursor=after)


def _check(call: Caller, study: str, body: LockIn) -> None:
    if body.participant is not None:  # another site's participant reads as not found
        load(call, study, body.participant)


@router.post(
    "/studies/{study}/locks",
    response_model=LockOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Lock a form instance, a participant's records or the study",
)
def new_lock(call: Auth, study: StudyPath, body: LockIn) -> LockOut:
    _check(call, study, body)
    held = lock(
        call.db,
        call.ctx,
        study,
        scope=body.scope,
        participant=body.participant,
        visit=body.visit,
        form_id=body.form,
        instance_no=body.instance,
        reason=body.reason,
    )
    return _out(held)


@router.post(
    "/studies/{study}/locks/unlock",
    response_model=LockOut,
    responses=WRITE_ERRORS,
    summary="Lift the active lock of a target",
)
def lift_lock(call: Auth, study: StudyPath, body: LockIn) -> LockOut:
    _check(call, study, body)
    lifted = unlock(
        call.db,
        call.ctx,
        study,
        scope=body.scope,
        participant=body.participant,
        visit=body.visit,
        form_id=body.form,
        instance_no=body.instance,
        reason=body.reason,
    )
    return _out(lifted)
