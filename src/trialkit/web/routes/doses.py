"""Dosing from the participant page: record a dose given (time, lot, vials, and the amount or
the kit), prepare a dose (the pharmacist, unblinded), and record an unscheduled visit.

Each action parses its form and calls one service (:func:`trialkit.services.record_dose`,
:func:`trialkit.services.prepare_dose`, :func:`trialkit.services.unscheduled_visit`), which
checks role and site, the stopping rules, the window and the dose; a refusal shows the
participant page again with the refusal and what was typed.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from trialkit.services import prepare_dose, record_dose, unscheduled_visit
from trialkit.web.i18n import parse_date, parse_moment
from trialkit.web.pages import User, db_of, signed_in
from trialkit.web.routes.participants import _act

__all__ = ["router"]

router = APIRouter()

_SPLIT = re.compile(r"[\s,;]+")


class RecordDoseForm(BaseModel):
    given_on: str = Field(default="", max_length=32)
    given_time: str = Field(default="", max_length=16)
    product_lot: str = Field(default="", max_length=128)
    given_amount: str = Field(default="", max_length=64)
    given_unit: str = Field(default="", max_length=32)
    kit: str = Field(default="", max_length=128)
    volume: str = Field(default="", max_length=64)
    vials: str = Field(default="", max_length=2000)


class PrepareDoseForm(BaseModel):
    kit: str = Field(default="", max_length=128)
    amount: str = Field(default="", max_length=64)
    unit: str = Field(default="", max_length=32)
    product_lot: str = Field(default="", max_length=128)
    volume: str = Field(default="", max_length=64)


class UnscheduledForm(BaseModel):
    on: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=2000)


def _or_none(text: str) -> str | None:
    return text.strip() or None


@router.post("/studies/{study}/participants/{code}/doses/{event}/record")
def record_dose_action(
    request: Request,
    study: str,
    code: str,
    event: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[RecordDoseForm, Form()],
) -> Response:
    def run() -> object:
        given_at = parse_moment(form.given_on, form.given_time, user.language, "given_at")
        amount = _or_none(form.given_amount)
        return record_dose(
            db_of(request),
            user.ctx,
            study,
            code,
            event_id=event,
            given_at=given_at,
            product_lot=form.product_lot,
            given_amount=amount,
            given_unit=_or_none(form.given_unit) if amount is not None else None,
            kit=_or_none(form.kit),
            volume=_or_none(form.volume),
            vials=[v for v in _SPLIT.split(form.vials.strip()) if v],
        )

    typed = {f"dose_{k}": v for k, v in form.model_dump().items()}
    return _act(request, user, study, code, {"dose": event, **typed}, run, anchor=f"dose-{event}")


@router.post("/studies/{study}/participants/{code}/doses/{event}/prepare")
def prepare_dose_action(
    request: Request,
    study: str,
    code: str,
    event: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[PrepareDoseForm, Form()],
) -> Response:
    def run() -> object:
        return prepare_dose(
            db_of(request),
            user.ctx,
            study,
            code,
            event_id=event,
            kit=form.kit,
            amount=form.amount,
            unit=form.unit.strip(),
            product_lot=form.product_lot,
            volume=_or_none(form.volume),
        )

    typed = {f"prep_{k}": v for k, v in form.model_dump().items()}
    return _act(request, user, study, code, {"dose": event, **typed}, run, anchor=f"dose-{event}")


@router.post("/studies/{study}/participants/{code}/visits/unscheduled/new")
def unscheduled_action(
    request: Request,
    study: str,
    code: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[UnscheduledForm, Form()],
) -> Response:
    def run() -> object:
        on = parse_date(form.on, user.language, "on")
        return unscheduled_visit(db_of(request), user.ctx, study, code, on, form.reason.strip())

    typed = {"uns_on": form.on, "uns_reason": form.reason}
    return _act(request, user, study, code, typed, run, anchor="calendar")
