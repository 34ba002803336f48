"""The participant's electronic signatures, oldest first: each ``valid``, ``voided`` (a later
change voided it) or ``mismatch`` (the signed content no longer hashes the same); and signing
a form, a visit or the casebook (:func:`trialkit.services.sign`), which re-enters the signer's
own password (a wrong one is ``SIGN.E001`` and counts toward the account's lockout)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from trialkit.services import Signature, sign, signatures
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath
from trialkit.web.api.participants import load

__all__ = ["SignatureOut", "router"]

router = APIRouter(tags=["signatures"], responses=READ_ERRORS)


class SignIn(BaseModel):
    """What is signed (a ``form``: visit, form, instance; a ``visit``: visit; the ``casebook``),
    the meaning stated, and the signer's password."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["form", "visit", "casebook"]
    visit: str | None = Field(default=None, min_length=1, max_length=64)
    form: str | None = Field(default=None, min_length=1, max_length=64)
    instance: int = Field(default=1, ge=1, le=10_000)
    meaning: str = Field(min_length=1, max_length=500)
    password: str = Field(
        min_length=1, max_length=1024, json_schema_extra={"format": "password", "writeOnly": True}
    )


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
    items = [_out(sig) for sig in page]
    return Page[SignatureOut](items=items, next_cursor=after)


def _out(s: Signature) -> SignatureOut:
    return SignatureOut(
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


@router.post(
    "/studies/{study}/participants/{code}/signatures",
    response_model=SignatureOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Sign a form, a visit or the casebook",
)
def new_signature(
    call: Auth, study: StudyPath, code: ParticipantPath, body: SignIn
) -> SignatureOut:
    load(call, study, code)
    signed = sign(
        call.db,
        call.ctx,
        study,
        code,
        scope=body.scope,
        visit=body.visit,
        form_id=body.form,
        instance_no=body.instance,
        meaning=body.meaning,
        password=body.password,
    )
    return _out(signed)
