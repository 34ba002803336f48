"""A participant's dosing timeline (:func:`trialkit.services.dose_timeline`): each dosing event
with its window, the dose the protocol's rule computes now (exact decimal text), the
preparation and the administration; nothing that depends on the arm for a blinded reader of a
masked study (amounts None, only the kit)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from trialkit.dosing.compute import ComputedDose
from trialkit.services import dose_timeline
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath
from trialkit.web.api.participants import load

__all__ = ["DosesOut", "router"]

router = APIRouter(tags=["doses"], responses=READ_ERRORS)


class ComputedOut(BaseModel):
    amount: str
    unit: str
    text: str


class PreparedOut(BaseModel):
    kit: str
    amount: str | None
    unit: str | None
    volume: str | None
    product_lot: str
    prepared_by: str
    prepared_at: LocalDateTime
    deviations: list[dict[str, Any]]


class GivenOut(BaseModel):
    given_at: LocalDateTime
    computed: ComputedOut | None
    rule: str | None
    given_amount: str | None
    given_unit: str | None
    product_lot: str
    vials: list[str]
    deviations: list[dict[str, Any]]


class DoseOut(BaseModel):
    event: str
    target: LocalDateTime | None
    earliest: LocalDateTime | None
    latest: LocalDateTime | None
    computed: ComputedOut | None
    rule: str | None
    not_computed: str | None
    prepared: PreparedOut | None
    given: GivenOut | None


class DosesOut(BaseModel):
    masked: bool
    blind: bool
    dosable: bool
    doses: list[DoseOut]


def _computed(c: ComputedDose | None) -> ComputedOut | None:
    if c is None:
        return None
    return ComputedOut(amount=f"{c.amount.normalize():f}", unit=c.unit, text=str(c))


@router.get(
    "/studies/{study}/participants/{code}/doses",
    response_model=DosesOut,
    summary="The participant's dosing timeline",
)
def participant_doses(call: Auth, study: StudyPath, code: ParticipantPath) -> DosesOut:
    load(call, study, code)
    t = dose_timeline(call.db, call.ctx, study, code)
    doses = []
    for d in t.doses:
        p, g = d.prepared, d.given
        doses.append(
            DoseOut(
                event=d.id,
                target=d.planned.target,
                earliest=d.planned.earliest,
                latest=d.planned.latest,
                computed=_computed(d.computed),
                rule=d.rule,
                not_computed=d.not_computed,
                prepared=None
                if p is None
                else PreparedOut(
                    kit=p.kit,
                    amount=p.amount,
                    unit=p.unit,
                    volume=p.volume,
                    product_lot=p.product_lot,
                    prepared_by=p.prepared_by,
                    prepared_at=p.prepared_at,
                    deviations=p.deviations,
                ),
                given=None
                if g is None
                else GivenOut(
                    given_at=g.given_at,
                    computed=_computed(g.computed),
                    rule=g.rule,
                    given_amount=g.given_amount,
                    given_unit=g.given_unit,
                    product_lot=g.product_lot,
                    vials=list(g.vials),
                    deviations=g.deviations,
                ),
            )
        )
    return DosesOut(masked=t.masked, blind=t.blind, dosable=t.dosable, doses=doses)
