"""The participant lifecycle as an explicit table: (state, step) -> next state.

::

    screening --consent--> consented --enrol--> enrolled --start--> on_study --complete--> completed
    screening, consented --screen_fail--> screen_failed
    consented, enrolled, on_study --withdraw--> withdrawn
    enrolled, on_study --lose--> lost_to_follow_up

The screening form and the eligibility verdict are recorded while ``screening`` or
``consented``; ``start`` happens when the first dose is given.
"""

from __future__ import annotations

from enum import StrEnum

from trialkit.errors import TransitionError

__all__ = ["TRANSITIONS", "Status", "Step", "allowed_steps", "next_status"]


class Status(StrEnum):
    SCREENING = "screening"
    CONSENTED = "consented"
    ENROLLED = "enrolled"
    ON_STUDY = "on_study"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    SCREEN_FAILED = "screen_failed"


class Step(StrEnum):
    CONSENT = "consent"
    ENROL = "enrol"
    START = "start"
    COMPLETE = "complete"
    WITHDRAW = "withdraw"
    LOSE = "lose"
    SCREEN_FAIL = "screen_fail"


TRANSITIONS: dict[tuple[Status, Step], Status] = {
    (Status.SCREENING, Step.CONSENT): Status.CONSENTED,
    (Status.SCREENING, Step.SCREEN_FAIL): Status.SCREEN_FAILED,
    (Status.CONSENTED, Step.SCREEN_FAIL): Status.SCREEN_FAILED,
    (Status.CONSENTED, Step.ENROL): Status.ENROLLED,
    (Status.CONSENTED, Step.WITHDRAW): Status.WITHDRAWN,
    (Status.ENROLLED, Step.START): Status.ON_STUDY,
    (Status.ENROLLED, Step.WITHDRAW): Status.WITHDRAWN,
    (Status.ENROLLED, Step.LOSE): Status.LOST_TO_FOLLOW_UP,
    (Status.ON_STUDY, Step.COMPLETE): Status.COMPLETED,
    (Status.ON_STUDY, Step.WITHDRAW): Status.WITHDRAWN,
    (Status.ON_STUDY, Step.LOSE): Status.LOST_TO_FOLLOW_UP,
}


def allowed_steps(status: Status) -> list[Step]:
    return [step for (state, step) in TRANSITIONS if state is status]


def next_status(status: Status, step: Step) -> Status:
    """The state after ``step``; a :class:`TransitionError` naming what is allowed otherwise."""
    target = TRANSITIONS.get((status, step))
    if target is None:
        allowed = allowed_steps(status)
        options = ", ".join(s.value for s in allowed) if allowed else "none (a final state)"
        raise TransitionError(
            f"participant is {status.value}: cannot {step.value}",
            code="STATE.E001",
            hint=f"allowed next steps: {options}",
        )
    return target
