"""Source data verification of a form instance: the whole-form state and each item's, at the
form's current version (a change after a mark clears it), and marking items (or the whole form)
verified (:func:`trialkit.services.verify`, a monitor's permission); and the study's SDV
progress at the caller's sites, by site, form and monitor
(:func:`trialkit.services.monitoring.sdv_progress`, the study's SDV page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.services import ItemSdv, sdv_status, verify
from trialkit.services.monitoring import Progress, sdv_progress
from trialkit.web.api.auth import Auth, Caller
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.params import (
    FormPath,
    Instance,
    LocalDateTime,
    ParticipantPath,
    StudyPath,
    VisitPath,
)
from trialkit.web.api.participants import load

__all__ = ["SdvOut", "SdvProgressOut", "router"]

router = APIRouter(tags=["SDV"], responses=READ_ERRORS)


class ItemSdvOut(BaseModel):
    item: str
    state: str
    verified_by: str | None
    verified_at: LocalDateTime | None
    form_version: int | None
    cleared_at: LocalDateTime | None
    cleared_reason: str | None


class VerifyIn(BaseModel):
    """The items to mark verified (their paths, as ``items`` of the SDV state names them);
    none: the whole form."""

    model_config = ConfigDict(extra="forbid")

    items: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=500
    )


class SdvOut(BaseModel):
    participant: str
    visit: str
    form: str
    instance: int
    version: int
    whole_form: ItemSdvOut
    items: dict[str, ItemSdvOut]


def _item(i: ItemSdv) -> ItemSdvOut:
    return ItemSdvOut(
        item=i.item,
        state=i.state,
        verified_by=i.verified_by,
        verified_at=i.verified_at,
        form_version=i.form_version,
        cleared_at=i.cleared_at,
        cleared_reason=i.cleared_reason,
    )


@router.get(
    "/studies/{study}/participants/{code}/forms/{visit}/{form}/sdv",
    response_model=SdvOut,
    summary="The SDV state of a form instance",
)
def form_sdv(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    visit: VisitPath,
    form: FormPath,
    instance: Instance = 1,
) -> SdvOut:
    load(call, study, code)
    return _state(call, study, code, visit, form, instance)


@router.post(
    "/studies/{study}/participants/{code}/forms/{visit}/{form}/sdv",
    response_model=SdvOut,
    responses=WRITE_ERRORS,
    summary="Mark items, or the whole form, verified",
)
def verify_form(
    call: Auth,
    study: StudyPath,
    code: ParticipantPath,
    visit: VisitPath,
    form: FormPath,
    body: VerifyIn,
    instance: Instance = 1,
) -> SdvOut:
    load(call, study, code)
    verify(
        call.db,
        call.ctx,
        study,
        code,
        visit=visit,
        form_id=form,
        items=body.items,
        instance_no=instance,
    )
    return _state(call, study, code, visit, form, instance)


def _state(call: Caller, study: str, code: str, visit: str, form: str, instance: int) -> SdvOut:
    s = sdv_status(call.db, call.ctx, study, code, visit=visit, form_id=form, instance_no=instance)
    return SdvOut(
        participant=s.participant,
        visit=s.visit,
        form=s.form_id,
        instance=s.instance_no,
        version=s.version,
        whole_form=_item(s.form),
        items={k: _item(v) for k, v in s.items.items()},
    )


class ProgressOut(BaseModel):
    """Entered forms, those with no active mark, items and items verified, and the queries
    not closed with the oldest's age in whole days."""

    key: str
    forms_entered: int
    forms_not_reviewed: int
    items: int
    items_verified: int
    open_queries: int
    oldest_query_days: int | None


class MonitorProgressOut(BaseModel):
    monitor: str
    forms: int
    items_verified: int


class SdvProgressOut(BaseModel):
    study: str
    total: ProgressOut
    by_site: list[ProgressOut]
    by_form: list[ProgressOut]
    by_monitor: list[MonitorProgressOut]


def _progress(p: Progress) -> ProgressOut:
    return ProgressOut(
        key=p.key,
        forms_entered=p.forms_entered,
        forms_not_reviewed=p.forms_not_reviewed,
        items=p.items,
        items_verified=p.items_verified,
        open_queries=p.open_queries,
        oldest_query_days=p.oldest_query_days,
    )


@router.get(
    "/studies/{study}/sdv",
    response_model=SdvProgressOut,
    summary="The study's SDV progress at the caller's sites",
)
def study_sdv(call: Auth, study: StudyPath) -> SdvProgressOut:
    s = sdv_progress(call.db, call.ctx, study)
    return SdvProgressOut(
        study=s.study,
        total=_progress(s.total),
        by_site=[_progress(p) for p in s.by_site],
        by_form=[_progress(p) for p in s.by_form],
        by_monitor=[
            MonitorProgressOut(monitor=m.monitor, forms=m.forms, items_verified=m.items_verified)
            for m in s.by_monitor
        ],
    )
