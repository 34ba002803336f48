"""Verification of the audit trail and the data (platform administrators): the hash chain
intact, and every audited table equal to its replay from the trail (``trialkit audit verify``).
The entries of one form are its history (``.../forms/{visit}/{form}/history``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from trialkit.services.audit import verify_trail
from trialkit.store import Verification
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS

__all__ = ["VerificationOut", "router", "verification_out"]

router = APIRouter(tags=["audit"], responses=READ_ERRORS)


class ProblemOut(BaseModel):
    seq: int
    kind: str
    detail: str


class DifferenceOut(BaseModel):
    table: str
    row_id: str
    field: str
    seq: int | None
    detail: str


class VerificationOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: ProblemOut | None
    replayed: bool
    differences: list[DifferenceOut]
    differences_total: int


@router.get(
    "/audit/verification",
    response_model=VerificationOut,
    summary="Prove the audit trail and the data (platform administrators)",
)
def audit_verification(call: Auth) -> VerificationOut:
    return verification_out(verify_trail(call.db, call.ctx))


def verification_out(v: Verification) -> VerificationOut:
    p = v.problem
    return VerificationOut(
        ok=v.ok,
        entries=v.entries,
        head_seq=v.head_seq,
        head_hash=v.head_hash,
        problem=None if p is None else ProblemOut(seq=p.seq, kind=p.kind, detail=p.detail),
        replayed=v.replayed,
        differences=[
            DifferenceOut(table=d.table, row_id=d.row_id, field=d.field, seq=d.seq, detail=d.detail)
            for d in v.differences
        ],
        differences_total=v.differences_total,
    )
