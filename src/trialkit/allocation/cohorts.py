"""Sequential dose cohorts: which group the next participant joins, or why nobody can join.

The groups of ``design.cohorts`` fill one after another in ``order`` (lowest dose first), each
with ``cohort_size`` participants. The first group is open from the start. A group's review may
happen ``review_after_days`` days after the last dose of its last-dosed participant, once every
participant of the group has been dosed; the next group opens only when the safety board, having
reviewed, allows it (``opened``, a set of arm ids the service reads from the board's recorded
decisions). A paused group takes nobody, and while a group is paused no higher group takes
anybody. Everything is passed in, ``as_of`` included: nothing here reads the clock.

Example, the psoriasis study (G50, G100, G200 of 4; review 7 days after the last dose): with four
participants in G50, the last dosed on 2025-03-10, on 2025-03-12 the next participant is refused
with "cohort G50 is full: its review is due on 2025-03-17, 7 days after its last dose on
2025-03-10; G100 opens when the safety board allows it after the review" (``ALLOC.E042``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from trialkit.allocation.assignment import JSON
from trialkit.errors import TransitionError
from trialkit.protocol.design import SequentialCohorts

__all__ = [
    "CohortArm",
    "CohortRefusal",
    "CohortState",
    "CohortStatus",
    "cohort_status",
    "next_cohort",
    "require_cohort",
]


class CohortState(StrEnum):
    NOT_OPEN = "not open"  # waiting for the lower group's review and the board
    OPEN = "open"  # taking participants
    PAUSED = "paused"  # the safety board (or a stopping rule) paused it
    FULL = "full"  # every place taken; not every participant dosed yet
    AWAITING_REVIEW = "awaiting review"  # all dosed; the review may happen from review_from
    REVIEW_DUE = "review due"  # review_from reached; the board has not opened the next group
    NEXT_OPENED = "next opened"  # reviewed: the board opened the next group
    COMPLETE = "complete"  # the last group: full and every participant dosed


@dataclass(frozen=True)
class CohortStatus:
    """One group: its state, places taken, participants dosed, the latest last dose and the
    earliest date its review may happen (``review_from``, once every participant is dosed)."""

    arm: str
    position: int
    state: CohortState
    allocated: int
    size: int
    dosed: int
    last_dose: date | None
    review_from: date | None

    def describe(self) -> str:
        text = f"cohort {self.arm}: {self.state.value}, {self.allocated} of {self.size} allocated"
        if self.allocated:
            text += f", {self.dosed} dosed"
        if self.review_from is not None:
            text += f"; review from {self.review_from.isoformat()}"
        return text


@dataclass(frozen=True)
class CohortArm:
    """The next participant joins ``arm``; ``detail`` is JSON for the audit trail."""

    arm: str
    detail: dict[str, JSON]


@dataclass(frozen=True)
class CohortRefusal:
    """Nobody can join now: why (``message``), its code and what would change it (``hint``)."""

    code: str
    message: str
    hint: str

    def error(self) -> TransitionError:
        return TransitionError(self.message, code=self.code, hint=self.hint)


def _inconsistent(message: str) -> TransitionError:
    return TransitionError(
        message,
        code="ALLOC.E045",
        hint="pass the allocations and dose dates of the cohorts' participants as recorded",
    )


def cohort_status(
    cohorts: SequentialCohorts,
    allocated: Mapping[str, int],
    last_doses: Mapping[str, Sequence[date | None]],
    opened: Collection[str],
    paused: Collection[str],
    as_of: date,
) -> list[CohortStatus]:
    """Each group of ``cohorts.order`` with its state on ``as_of``.

    ``allocated``: participants allocated per arm; ``last_doses``: per arm, each participant's
    last dose date (``None`` while not dosed); ``opened``: arms the safety board has allowed to
    open; ``paused``: arms paused now.
    """
    order, size = cohorts.order, cohorts.cohort_size
    for arm in [*allocated, *last_doses]:
        if arm not in order:
            raise _inconsistent(
                f"arm {arm} is not one of the cohorts ({', '.join(order)}) of this design"
            )
    out: list[CohortStatus] = []
    current_found = False
    for i, arm in enumerate(order):
        n = allocated.get(arm, 0)
        doses = list(last_doses.get(arm, ()))
        if n > size:
            raise _inconsistent(f"cohort {arm} has {n} participants, more than its size {size}")
        if len(doses) > n:
            raise _inconsistent(
                f"cohort {arm} has {len(doses)} dose dates for {n} allocated participants"
            )
        given = [d for d in doses if d is not None]
        last = max(given) if given else None
        review_from = None
        if n == size and len(given) == size and last is not None:
            review_from = last + timedelta(days=cohorts.review_after_days)
        if arm in paused:
            state = CohortState.PAUSED
        elif n < size:
            accessible = i == 0 or arm in opened
            state = (
                CohortState.OPEN
                if (accessible and not current_found) or n > 0
                else CohortState.NOT_OPEN
            )
        elif review_from is None:
            state = CohortState.FULL
        elif i == len(order) - 1:
            state = CohortState.COMPLETE
        elif order[i + 1] in opened:
            state = CohortState.NEXT_OPENED
        elif as_of < review_from:
            state = CohortState.AWAITING_REVIEW
        else:
            state = CohortState.REVIEW_DUE
        if n < size:
            current_found = True
        out.append(CohortStatus(arm, i + 1, state, n, size, len(given), last, review_from))
    return out


def next_cohort(
    cohorts: SequentialCohorts,
    allocated: Mapping[str, int],
    last_doses: Mapping[str, Sequence[date | None]],
    opened: Collection[str],
    paused: Collection[str],
    as_of: date,
) -> CohortArm | CohortRefusal:
    """The group the next participant joins on ``as_of``, or the refusal that says why none.

    The arguments are those of :func:`cohort_status`.
    """
    status = cohort_status(cohorts, allocated, last_doses, opened, paused, as_of)
    days = cohorts.review_after_days
    current = next((s for s in status if s.allocated < s.size), None)
    if current is None:
        total = len(status) * cohorts.cohort_size
        return CohortRefusal(
            "ALLOC.E040",
            f"all cohorts are full: {len(status)} cohorts of {cohorts.cohort_size} "
            f"({', '.join(cohorts.order)}), {total} participants allocated",
            "no more participants can be allocated under this design; an amendment may add a "
            "cohort",
        )
    for s in status[: current.position]:
        if s.state is CohortState.PAUSED:
            lower = s is not current
            return CohortRefusal(
                "ALLOC.E044",
                f"cohort {s.arm} is paused"
                + (f", so the higher dose group {current.arm} takes nobody" if lower else ""),
                "the safety board must lift the pause before anybody is allocated",
            )
    if current.position == 1:
        return _joins(current)
    prev = status[current.position - 2]
    if current.arm in opened:
        if prev.review_from is None or as_of < prev.review_from:
            when = (
                f"before {prev.review_from.isoformat()}"
                if prev.review_from
                else "before all its participants are dosed"
            )
            return CohortRefusal(
                "ALLOC.E046",
                f"cohort {current.arm} is recorded as opened, but cohort {prev.arm}'s review "
                f"cannot happen {when}",
                "check the safety board's decision and its date; correct the record if it was "
                "entered in error",
            )
        return _joins(current)
    if prev.review_from is None:
        waiting = prev.size - prev.dosed
        return CohortRefusal(
            "ALLOC.E041",
            f"cohort {prev.arm} is full: {waiting} of its {prev.size} participants "
            f"{'is' if waiting == 1 else 'are'} not dosed yet; its review is due {days} days "
            f"after the last dose, and {current.arm} opens when the safety board allows it",
            f"record the doses of cohort {prev.arm}; allocate to {current.arm} after the review",
        )
    assert prev.last_dose is not None
    if as_of < prev.review_from:
        return CohortRefusal(
            "ALLOC.E042",
            f"cohort {prev.arm} is full: its review is due on {prev.review_from.isoformat()}, "
            f"{days} days after its last dose on {prev.last_dose.isoformat()}; {current.arm} "
            "opens when the safety board allows it after the review",
            f"wait for the review of cohort {prev.arm}",
        )
    return CohortRefusal(
        "ALLOC.E043",
        f"cohort {prev.arm} is full and its review has been due since "
        f"{prev.review_from.isoformat()} ({days} days after its last dose on "
        f"{prev.last_dose.isoformat()}); the safety board has not yet opened {current.arm}",
        f"record the safety board's decision to open {current.arm}",
    )


def _joins(cohort: CohortStatus) -> CohortArm:
    return CohortArm(
        cohort.arm,
        {
            "method": "sequential_cohorts",
            "arm": cohort.arm,
            "cohort": cohort.position,
            "place": cohort.allocated + 1,
            "cohort_size": cohort.size,
        },
    )


def require_cohort(
    cohorts: SequentialCohorts,
    allocated: Mapping[str, int],
    last_doses: Mapping[str, Sequence[date | None]],
    opened: Collection[str],
    paused: Collection[str],
    as_of: date,
) -> CohortArm:
    """:func:`next_cohort`, raising the refusal as a ``TransitionError``."""
    out = next_cohort(cohorts, allocated, last_doses, opened, paused, as_of)
    if isinstance(out, CohortRefusal):
        raise out.error()
    return out
