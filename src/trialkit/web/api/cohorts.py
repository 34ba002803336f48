"""Sequential dose cohorts: each cohort's state today (open, full, awaiting review, review due,
next opened; :func:`trialkit.services.cohorts`, a reader of every site), and the safety board
opening the next cohort after reviewing the previous one (:func:`trialkit.services.open_cohort`,
the board's decision in words). A study without sequential cohorts is ``ALLOC.E055`` (422)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from trialkit.allocation import CohortStatus
from trialkit.services import cohorts, open_cohort
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Page
from trialkit.web.api.params import StudyPath

__all__ = ["CohortOut", "OpenCohortIn", "router"]

router = APIRouter(tags=["safety"], responses=READ_ERRORS)

ArmPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", description="The arm's id.")
]


class OpenCohortIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000, description="The board's decision.")


class CohortOut(BaseModel):
    arm: str
    position: int
    state: str
    allocated: int
    size: int
    dosed: int
    last_dose: date | None
    review_from: date | None


def _out(c: CohortStatus) -> CohortOut:
    return CohortOut(
        arm=c.arm,
        position=c.position,
        state=c.state.value,
        allocated=c.allocated,
        size=c.size,
        dosed=c.dosed,
        last_dose=c.last_dose,
        review_from=c.review_from,
    )


@router.get(
    "/studies/{study}/safety/cohorts",
    response_model=Page[CohortOut],
    summary="The sequential dose cohorts and their state today",
)
def study_cohorts(call: Auth, study: StudyPath) -> Page[CohortOut]:
    return Page[CohortOut](items=[_out(c) for c in cohorts(call.db, call.ctx, study)])


@router.post(
    "/studies/{study}/safety/cohorts/{arm}/open",
    response_model=Page[CohortOut],
    responses=WRITE_ERRORS,
    summary="The safety board opens the next cohort",
)
def open_next_cohort(
    call: Auth, study: StudyPath, arm: ArmPath, body: OpenCohortIn
) -> Page[CohortOut]:
    open_cohort(call.db, call.ctx, study, arm, body.reason)
    return Page[CohortOut](items=[_out(c) for c in cohorts(call.db, call.ctx, study)])
