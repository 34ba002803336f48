"""Doses of a participant: the dosing timeline (:func:`trialkit.services.dose_timeline`), each
dosing event with its window, the dose the protocol's rule computes now (exact decimal text),
the preparation and the administration; recording an administration
(:func:`trialkit.services.record_dose`: time, lot, vials, the amount given or the prepared kit;
the dose computed from the protocol and the captured data, its deviations, the administration
form filled, the anchors it sets); and the pharmacist's preparation of a dose in a masked study
(:func:`trialkit.services.prepare_dose`).

Nothing that depends on the arm reaches a blinded reader of a masked study: amounts None, only
the kit, and a dose deviation as the fixed text of
:data:`trialkit.services.doses.BLINDED_DEVIATION`. The services check role, site, the lock, the
stopping rules and the window; this module only translates.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.dosing import Deviation
from trialkit.dosing.compute import ComputedDose
from trialkit.services import dose_timeline, prepare_dose, record_dose
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.params import LocalDateTime, ParticipantPath, StudyPath
from trialkit.web.api.participants import load

__all__ = [
    "AdministrationIn",
    "AdministrationOut",
    "DosesOut",
    "PreparationIn",
    "PreparationOut",
    "router",
]

EventPath = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", description="The dosing event's id."),
]

#: A decimal as typed (``1.4e8``, ``160``, ``0.5``): the exponent is bounded, so no amount can
#: overflow the dose arithmetic.
_NUMBER = r"^[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})([eE][+-]?\d{1,3})?$"
Amount = Annotated[str, StringConstraints(pattern=_NUMBER, max_length=64)]
_Label = Annotated[str, StringConstraints(min_length=1, max_length=128)]

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


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdministrationIn(_In):
    """A dose given: when (the site's clock), the product lot, and either the amount given
    with its unit (an unblinded team) or the kit prepared for it (``kit``; the amount is the
    prepared one: a blinded role of a masked study always gives the kit, never an amount);
    the volume, the vial numbers."""

    given_at: LocalDateTime
    product_lot: _Label
    given_amount: Amount | None = Field(default=None, description="The amount given, e.g. 1.4e8.")
    given_unit: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        default=None, description="Its unit (e.g. cells, ug); required with an amount."
    )
    kit: _Label | None = Field(default=None, description="The kit or vial number given.")
    volume: Amount | None = Field(default=None, description="The volume given, a number.")
    vials: list[_Label] = Field(default_factory=list, max_length=50)


class PreparationIn(_In):
    """A dose prepared by an unblinded role (the pharmacist): the amount in the kit."""

    kit: _Label
    amount: Amount
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    product_lot: _Label
    volume: Amount | None = None


class DeviationOut(BaseModel):
    kind: str
    message: str


class AdministrationOut(BaseModel):
    """The administration recorded. ``computed`` is None and ``deviations`` the time deviations
    only for a blinded caller of a masked study (``blinded``)."""

    id: int
    event: str
    blinded: bool
    computed: ComputedOut | None
    deviations: list[DeviationOut]
    anchors_moved: list[str]
    kit: str | None
    volume: str | None


class PreparationOut(BaseModel):
    id: int
    event: str
    kit: str
    amount: str
    unit: str
    volume: str | None
    computed: ComputedOut
    deviations: list[DeviationOut]


def _deviations(found: list[Deviation]) -> list[DeviationOut]:
    return [DeviationOut(kind=d.kind, message=d.message) for d in found]


@router.post(
    "/studies/{study}/participants/{code}/doses/{event}/administration",
    response_model=AdministrationOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Record a dose given",
)
def administer(
    call: Auth, study: StudyPath, code: ParticipantPath, event: EventPath, body: AdministrationIn
) -> AdministrationOut:
    load(call, study, code)
    r = record_dose(
        call.db,
        call.ctx,
        study,
        code,
        event_id=event,
        given_at=body.given_at,
        product_lot=body.product_lot,
        given_amount=body.given_amount,
        given_unit=body.given_unit,
        kit=body.kit,
        volume=body.volume,
        vials=list(body.vials),
    )
    return AdministrationOut(
        id=r.id,
        event=event,
        blinded=r.blinded,
        computed=_computed(r.computed),
        deviations=_deviations(r.deviations),
        anchors_moved=list(r.anchors_moved),
        kit=r.kit,
        volume=r.volume,
    )


@router.post(
    "/studies/{study}/participants/{code}/doses/{event}/preparation",
    response_model=PreparationOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Prepare a dose (an unblinded role, the pharmacist)",
)
def prepare(
    call: Auth, study: StudyPath, code: ParticipantPath, event: EventPath, body: PreparationIn
) -> PreparationOut:
    load(call, study, code)
    p = prepare_dose(
        call.db,
        call.ctx,
        study,
        code,
        event_id=event,
        kit=body.kit,
        amount=body.amount,
        unit=body.unit,
        product_lot=body.product_lot,
        volume=body.volume,
    )
    computed = _computed(p.computed)
    assert computed is not None
    return PreparationOut(
        id=p.id,
        event=p.event_id,
        kit=p.kit,
        amount=body.amount,
        unit=p.unit,
        volume=p.volume,
        computed=computed,
        deviations=_deviations(p.deviations),
    )
