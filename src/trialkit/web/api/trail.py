"""The audit trail as its readers see it (:mod:`trialkit.services.audit_trail`): a participant's
entries (READ at the participant's site) and a study's (READ at every site), newest first, one
entry per changed field: who, when, the action, the row, the field, the old and new values, the
reason, the protocol version. The trail of a masked study holds the allocation, so a blinded
reader is refused (``AUDIT.E010``, 403) rather than shown a filtered trail.

``GET /studies/{study}/audit/verification`` proves the trail as the study's audit page does
(:func:`trialkit.services.audit_trail.verify_trail`, for those who may lock the study: data
managers): the hash chain and every audited table replayed; it proves the whole database.

Pages are keyed by the entries' sequence numbers (the cursor names the last one returned), so
an entry written meanwhile neither repeats nor shifts a page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from trialkit.services.audit_trail import TrailPage, participant_trail, study_trail, verify_trail
from trialkit.web.api.audit import VerificationOut, verification_out
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, ApiError
from trialkit.web.api.paging import Cursor, Limit, Page, cursor_after, key_of
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath
from trialkit.web.api.participants import load

__all__ = ["AuditEntryOut", "router"]

router = APIRouter(tags=["audit"], responses=READ_ERRORS)


class AuditEntryOut(BaseModel):
    seq: int
    at: LocalDateTime
    actor: str
    action: str
    entity: str
    entity_id: str
    path: str
    old: Any
    new: Any
    reason: str | None
    protocol_version: str | None


def _before(cursor: str | None) -> int | None:
    if not cursor:
        return None
    key = key_of(cursor)
    if not isinstance(key, int) or key < 1:
        raise ApiError(
            422,
            f"the cursor {cursor[:40]!r} is not one this API gave",
            code="API.E002",
            hint="pass the next_cursor of the previous page unchanged, or none for the first",
        )
    return key


def _page(read: Callable[[int | None], TrailPage], cursor: str | None) -> Page[AuditEntryOut]:
    trail = read(_before(cursor))
    items = [
        AuditEntryOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            path=e.path,
            old=e.old,
            new=e.new,
            reason=e.reason,
            protocol_version=e.protocol_version,
        )
        for e in trail.entries
    ]
    more = trail.total > len(items) and bool(items)
    return Page[AuditEntryOut](
        items=items, next_cursor=cursor_after(items[-1].seq) if more else None
    )


@router.get(
    "/studies/{study}/participants/{code}/audit",
    response_model=Page[AuditEntryOut],
    summary="The participant's audit trail, newest first",
)
def participant_audit(
    call: Auth, study: StudyPath, code: ParticipantPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[AuditEntryOut]:
    load(call, study, code)
    return _page(
        lambda before: participant_trail(
            call.db, call.ctx, study, code, per_page=limit, before=before
        ),
        cursor,
    )


@router.get(
    "/studies/{study}/audit",
    response_model=Page[AuditEntryOut],
    summary="The study's audit trail, newest first (a reader of every site)",
)
def study_audit(
    call: Auth, study: StudyPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[AuditEntryOut]:
    return _page(
        lambda before: study_trail(call.db, call.ctx, study, per_page=limit, before=before),
        cursor,
    )


@router.get(
    "/studies/{study}/audit/verification",
    response_model=VerificationOut,
    summary="Prove the audit trail and the data (those who may lock the study)",
)
def study_audit_verification(call: Auth, study: StudyPath) -> VerificationOut:
    return verification_out(verify_trail(call.db, call.ctx, study))
