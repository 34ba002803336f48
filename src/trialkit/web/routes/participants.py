"""The participant page (status, eligibility, calendar with windows, dosing timeline, history)
and the lifecycle actions the user's role allows (register, consent, screen, enrol, screen
failure, withdraw, lost to follow-up, complete).

Each action parses its form into a pydantic model and calls one service with the request's
context; the services check role and site. A participant at a site the user cannot read is
answered exactly like one that does not exist (nothing about other sites leaks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from trialkit.errors import AccessDenied, NotFound, TrialkitError
from trialkit.services import (
    Permission,
    Step,
    allowed_steps,
    calendar,
    complete,
    consent,
    enrol,
    get_participant,
    history,
    lose,
    miss_visit,
    record_visit,
    register,
    screen,
    screen_fail,
    withdraw,
)
from trialkit.services.access import visible_sites
from trialkit.web.errors import TITLES, status_of
from trialkit.web.i18n import DATE_HINTS, input_date, parse_date
from trialkit.web.pages import User, db_of, redirect, render, signed_in, today
from trialkit.web.panels import participant_panels

router = APIRouter()

#: The steps offered as buttons (``start`` happens with the first dose).
ACTIONS = (Step.CONSENT, Step.ENROL, Step.SCREEN_FAIL, Step.WITHDRAW, Step.LOSE, Step.COMPLETE)
_NEEDS_REASON = (Step.SCREEN_FAIL, Step.WITHDRAW, Step.LOSE)


class RegisterForm(BaseModel):
    site: str = Field(min_length=1, max_length=32)


class ConsentForm(BaseModel):
    on: str = Field(min_length=1, max_length=32)
    form_version: str = Field(min_length=1, max_length=32)
    obtained_by: str = Field(min_length=1, max_length=128)


class ReasonForm(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class EnrolForm(BaseModel):
    investigator_override: str = Field(default="", max_length=2000)


def _hidden(study: str, code: str) -> NotFound:
    return NotFound(
        f"study {study}: no participant {code!r} at your sites",
        code="PART.E003",
        hint="check the participant id",
    )


def _load(request: Request, user: User, study: str, code: str) -> Any:
    """The participant as the user may see it; one at another site reads as not found."""
    visible_sites(user.ctx.principal, Permission.READ, study)  # a non-member: access denied
    try:
        return get_participant(db_of(request), user.ctx, study, code)
    except AccessDenied:
        raise _hidden(study, code) from None
    except NotFound:
        raise _hidden(study, code) from None


@router.post("/studies/{study}/participants")
def register_participant(
    request: Request,
    study: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[RegisterForm, Form()],
) -> Response:
    p = register(db_of(request), user.ctx, study, form.site)
    return redirect(f"/studies/{study}/participants/{p.code}")


@router.get("/studies/{study}/participants/{code}")
def participant_page(
    request: Request, study: str, code: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _page(request, user, study, code)


def _page(
    request: Request,
    user: User,
    study: str,
    code: str,
    *,
    refused: TrialkitError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    """The participant page; after a refused action, with the refusal and what was typed."""
    db = db_of(request)
    p = _load(request, user, study, code)
    on = today(request)
    cal = calendar(db, user.ctx, study, code, on)
    events = history(db, user.ctx, study, code)
    principal = user.ctx.principal
    may_enrol = principal.can(Permission.ENROL, study, p.site)
    steps = [s for s in allowed_steps(p.status) if s in ACTIONS] if may_enrol else []
    may_screen = may_enrol and p.status.value in ("screening", "consented")
    may_record = principal.can(Permission.WRITE, study, p.site)
    verdict = p.eligibility if isinstance(p.eligibility, dict) else None
    lang = user.language
    action_error = None
    if refused is not None:
        action_error = {
            "title": TITLES.get(status_of(refused), TITLES[400]),
            "message": refused.message,
            "hint": refused.hint,
        }
    return render(
        request,
        "participant.html",
        {
            "p": p,
            "cal": cal,
            "events": events,
            "steps": [s.value for s in steps],
            "needs_reason": [s.value for s in _NEEDS_REASON],
            "may_screen": may_screen,
            "may_record": may_record,
            "verdict": verdict,
            "today": on,
            "typed": typed or {},
            "action_error": action_error,
            "day_input": lambda d: input_date(d, lang),
            "date_hint": DATE_HINTS[lang],
            **participant_panels(db, user, study, code, p.site, p.arm),
        },
        user=user,
        status_code=200 if refused is None else status_of(refused),
    )


def _act(
    request: Request,
    user: User,
    study: str,
    code: str,
    typed: dict[str, str],
    action: Callable[[], object],
    *,
    anchor: str | None = None,
) -> Response:
    """Run one service call; a refusal shows the page again with it and what was typed. After
    success the page opens at ``anchor`` (the part that changed), when given."""
    _load(request, user, study, code)
    try:
        action()
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        return _page(request, user, study, code, refused=exc, typed=typed)
    return redirect(f"/studies/{study}/participants/{code}" + (f"#{anchor}" if anchor else ""))


@router.post("/studies/{study}/participants/{code}/consent")
def consent_action(
    request: Request,
    study: str,
    code: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[ConsentForm, Form()],
) -> Response:
    def run() -> object:
        return consent(
            db_of(request),
            user.ctx,
            study,
            code,
            on=parse_date(form.on, user.language, "on"),
            form_version=form.form_version.strip(),
            obtained_by=form.obtained_by.strip(),
        )

    return _act(request, user, study, code, form.model_dump(), run)


@router.post("/studies/{study}/participants/{code}/screen")
def screen_action(
    request: Request, study: str, code: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _act(
        request,
        user,
        study,
        code,
        {},
        lambda: screen(db_of(request), user.ctx, study, code),
    )


@router.post("/studies/{study}/participants/{code}/enrol")
def enrol_action(
    request: Request,
    study: str,
    code: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[EnrolForm, Form()],
) -> Response:
    override = form.investigator_override.strip() or None
    return _act(
        request,
        user,
        study,
        code,
        form.model_dump(),
        lambda: enrol(db_of(request), user.ctx, study, code, investigator_override=override),
    )


@router.post("/studies/{study}/participants/{code}/complete")
def complete_action(
    request: Request, study: str, code: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _act(
        request, user, study, code, {}, lambda: complete(db_of(request), user.ctx, study, code)
    )


class VisitDoneForm(BaseModel):
    on: str = Field(min_length=1, max_length=32)


@router.post("/studies/{study}/participants/{code}/visits/{visit}/done")
def visit_done(
    request: Request,
    study: str,
    code: str,
    visit: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[VisitDoneForm, Form()],
) -> Response:
    def run() -> object:
        on = parse_date(form.on, user.language, "on")
        return record_visit(db_of(request), user.ctx, study, code, visit, on)

    return _act(request, user, study, code, {"visit": visit, "on": form.on}, run)


@router.post("/studies/{study}/participants/{code}/visits/{visit}/missed")
def visit_missed(
    request: Request,
    study: str,
    code: str,
    visit: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[ReasonForm, Form()],
) -> Response:
    return _act(
        request,
        user,
        study,
        code,
        {"visit": visit, "missed_reason": form.reason},
        lambda: miss_visit(db_of(request), user.ctx, study, code, visit, form.reason.strip()),
    )


_REASONED = {"screen_fail": screen_fail, "withdraw": withdraw, "lose": lose}


@router.post("/studies/{study}/participants/{code}/{step}")
def reasoned_action(
    request: Request,
    study: str,
    code: str,
    step: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[ReasonForm, Form()],
) -> Response:
    action = _REASONED.get(step)
    if action is None:
        raise NotFound(f"no action {step!r}", code="WEB.E404")
    return _act(
        request,
        user,
        study,
        code,
        {"step": step, "reason": form.reason},
        lambda: action(db_of(request), user.ctx, study, code, form.reason.strip()),
    )
