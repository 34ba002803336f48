"""The study's active locks at the caller's sites (a study lock is always shown)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from trialkit.services import Lock, locks
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, StudyPath

__all__ = ["LockOut", "router"]

router = APIRouter(tags=["locks"], responses=READ_ERRORS)


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


def _out(lock: Lock) -> LockOut:
    return LockOut(
        id=lock.id,
        scope=lock.scope,
        target=lock.target,
        participant=lock.participant,
        site=lock.site,
        visit=lock.visit,
        form=lock.form_id,
        instance=lock.instance_no,
        reason=lock.reason,
        locked_by=lock.locked_by,
        locked_at=lock.locked_at,
    )


@router.get("/studies/{study}/locks", response_model=Page[LockOut], summary="The active locks")
def study_locks(
    call: Auth, study: StudyPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[LockOut]:
    page, after = paginate(locks(call.db, call.ctx, study), lambda lk: lk.id, limit, cursor)
    return Page[LockOut](items=[_out(lk) for lk in page], next_cursor=after)
