"""The participant's electronic signatures, oldest first: each ``valid``, ``voided`` (a later
change voided it) or ``mismatch`` (the signed content no longer hashes the same)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from trialkit.services import signatures
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath
from trialkit.web.api.participants import load

__all__ = ["SignatureOut", "router"]

router = APIRouter(tags=["signatures"], responses=READ_ERRORS)


class SignatureOut(BaseModel):
    id: int
    scope: str
    visit: str | None
    form: str | None
    instance: int | None
    meaning: str
    content_hash: str
    signed_by: str
    signer_name: str
    signed_at: LocalDateTime
    voided_at: LocalDateTime | None
    void_reason: str | None
    status: str
    problem: str | None
    forms: int


@router.get(
    "/studies/{study}/participants/{code}/signatures",
    response_model=Page[SignatureOut],
    summary="The participant's signatures",
)
def participant_signatures(
    call: Auth, study: StudyPath, code: ParticipantPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[SignatureOut]:
    load(call, study, code)
    found = signatures(call.db, call.ctx, study, code)
    page, after = paginate(found, lambda s: s.id, limit, cursor)
    items = [
        SignatureOut(
            id=s.id,
            scope=s.scope,
            visit=s.visit,
            form=s.form_id,
            instance=s.instance_no,
            meaning=s.meaning,
            content_hash=s.content_hash,
            signed_by=s.signed_by,
            signer_name=s.signer_name,
            signed_at=s.signed_at,
            voided_at=s.voided_at,
            void_reason=s.void_reason,
            status=s.status,
            problem=s.problem,
            forms=s.forms,
        )
        for s in page
    ]
    return Page[SignatureOut](items=items, next_cursor=after)
