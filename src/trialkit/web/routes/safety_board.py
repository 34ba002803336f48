"""The safety board's page of a study: adverse events by arm, grade, seriousness and relatedness;
the stopping rules with their state, their firings and the events that reached them; the pauses
and the board's decisions; the sequential-cohort reviews; the serious-event clock.

The page reads :func:`trialkit.services.safety_board.safety_board` (READ at every site; the
tables for those who may analyse); a blinded reader of a masked study sees what the services
show them (no arm). The board lifts a pause (:func:`trialkit.services.safety.lift_pause`) and
opens the next cohort (:func:`trialkit.services.allocation.open_cohort`) here, each with its
reason; a refused decision shows the page again with the problem and the reason as typed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from trialkit.errors import AccessDenied, NotFound, TrialkitError
from trialkit.services.allocation import open_cohort
from trialkit.services.safety import lift_pause
from trialkit.services.safety_board import safety_board
from trialkit.web.errors import TITLES, status_of
from trialkit.web.i18n import Translator, date_text
from trialkit.web.pages import User, db_of, redirect, render, signed_in

__all__ = ["router"]

router = APIRouter()


def _base(study: str) -> str:
    return f"/studies/{study}/safety"


def words(_: Translator) -> dict[str, dict[str, str]]:
    """The user's words for the services' codes on this page."""
    return {
        "rule_state": {
            "active": _("In force: a pause is active"),
            "lifted": _("Fired; lifted by the safety board"),
            "not fired": _("Not fired"),
        },
        "action": {
            "pause_enrolment": _("pause enrolment"),
            "pause_arm": _("pause the dose group"),
            "pause_dosing": _("pause dosing"),
            "stop_participant_dosing": _("stop the participant's dosing"),
        },
        "scope": {
            "study": _("in the whole study"),
            "arm": _("per dose group"),
            "participant": _("per participant"),
        },
        "cohort": {
            "not open": _("Not open"),
            "open": _("Open"),
            "paused": _("Paused"),
            "full": _("Full: not everyone dosed yet"),
            "awaiting review": _("All dosed: awaiting review"),
            "review due": _("Review due"),
            "next opened": _("Reviewed: next cohort opened"),
            "complete": _("Complete"),
        },
        "decision": {
            "lift_pause": _("Pause lifted"),
            "open_cohort": _("Cohort opened"),
        },
        "column": {
            "arm": _("Dose group"),
            "worst grade": _("Worst grade"),
            "serious": _("Serious"),
            "related": _("Related to the product"),
            "participants": _("Participants"),
            "N": _("Of"),
            "percent": _("Percent"),
            "lower %": _("95% interval from"),
            "upper %": _("to"),
            "events": _("Events"),
        },
        "table": {
            "by worst grade": _("By worst grade"),
            "by seriousness": _("By seriousness"),
            "by relatedness": _("By relatedness"),
        },
    }


def _recorded_day(value: object, language: str) -> str:
    """A day as a stored record holds it (ISO text, or a date) in the user's calendar."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    return date_text(value, language) if isinstance(value, date) else "—"


def _page(
    request: Request,
    user: User,
    study: str,
    *,
    refused: TrialkitError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    board = safety_board(db_of(request), user.ctx, study)
    problem = None
    if refused is not None:
        problem = {
            "title": TITLES.get(status_of(refused), TITLES[400]),
            "message": refused.message,
            "hint": refused.hint,
        }
    active = [p for p in board.status.pauses if p.status == "active"]
    return render(
        request,
        "safety_board.html",
        {
            "study": study,
            "board": board,
            "active": active,
            "words": words(user._),
            "problem": problem,
            "typed": typed or {},
            "decided": request.query_params.get("decided"),
            "now": user.ctx.as_of,
            "recorded_day": lambda v: _recorded_day(v, user.language),
        },
        user=user,
        status_code=200 if refused is None else status_of(refused),
    )


@router.get("/studies/{study}/safety")
def safety_board_page(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _page(request, user, study)


class DecisionForm(BaseModel):
    reason: str = Field(default="", max_length=4000)


def _decide(
    request: Request, user: User, study: str, key: str, form: DecisionForm, act: Any
) -> Response:
    try:
        act()
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        return _page(request, user, study, refused=exc, typed={key: form.reason})
    return redirect(_base(study) + f"?decided={key}#decided")


@router.post("/studies/{study}/safety/pauses/{pause_id}/lift")
def lift_pause_action(
    request: Request,
    study: str,
    pause_id: int,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[DecisionForm, Form()],
) -> Response:
    """The board lifts a pause with its decision (recorded with the data it saw)."""
    return _decide(
        request,
        user,
        study,
        f"pause-{pause_id}",
        form,
        lambda: lift_pause(db_of(request), user.ctx, study, pause_id, form.reason),
    )


@router.post("/studies/{study}/safety/cohorts/{arm}/open")
def open_cohort_action(
    request: Request,
    study: str,
    arm: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[DecisionForm, Form()],
) -> Response:
    """The board opens the next dose cohort after reviewing the previous one."""
    return _decide(
        request,
        user,
        study,
        f"cohort-{arm}",
        form,
        lambda: open_cohort(db_of(request), user.ctx, study, arm, form.reason),
    )
