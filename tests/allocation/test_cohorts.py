"""Sequential cohorts of the psoriasis study: G50, G100, G200 of four, review 7 days after."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from functools import cache

import pytest

from trialkit.allocation import (
    CohortArm,
    CohortRefusal,
    CohortState,
    cohort_status,
    next_cohort,
    require_cohort,
)
from trialkit.errors import TransitionError
from trialkit.protocol import SequentialCohorts, resolve_study

D = date.fromisoformat


@cache
def _cohorts() -> SequentialCohorts:
    cohorts = resolve_study("psoriasis-adipose-exosomes").design.cohorts
    assert cohorts is not None
    return cohorts


def _next(
    allocated: Mapping[str, int],
    doses: Mapping[str, Sequence[date | None]] | None = None,
    opened: Collection[str] = (),
    paused: Collection[str] = (),
    as_of: str = "2025-03-12",
) -> CohortArm | CohortRefusal:
    return next_cohort(_cohorts(), allocated, doses or {}, opened, paused, D(as_of))


G50_DOSED = {"G50": [D("2025-03-01"), D("2025-03-10"), D("2025-03-04"), D("2025-03-08")]}


def test_the_shipped_study_has_the_cohorts_this_module_reads() -> None:
    cohorts = _cohorts()
    assert (cohorts.order, cohorts.cohort_size, cohorts.review_after_days) == (
        ["G50", "G100", "G200"],
        4,
        7,
    )


def test_the_first_cohort_is_open_from_the_start() -> None:
    out = _next({})
    assert isinstance(out, CohortArm)
    assert out.arm == "G50"
    assert out.detail == {
        "method": "sequential_cohorts",
        "arm": "G50",
        "cohort": 1,
        "place": 1,
        "cohort_size": 4,
    }
    third = _next({"G50": 2}, {"G50": [D("2025-03-01"), None]})
    assert isinstance(third, CohortArm)
    assert third.detail["place"] == 3


def test_a_full_cohort_not_yet_dosed_waits_for_its_doses() -> None:
    out = _next({"G50": 4}, {"G50": [D("2025-03-01"), D("2025-03-02"), None]})
    assert isinstance(out, CohortRefusal)
    assert out.code == "ALLOC.E041"
    assert out.message.startswith("cohort G50 is full: 2 of its 4 participants are not dosed yet")


def test_a_full_cohort_waits_for_its_review_date() -> None:
    out = _next({"G50": 4}, G50_DOSED, as_of="2025-03-16")
    assert isinstance(out, CohortRefusal)
    assert out.code == "ALLOC.E042"
    assert out.message == (
        "cohort G50 is full: its review is due on 2025-03-17, 7 days after its last dose on "
        "2025-03-10; G100 opens when the safety board allows it after the review"
    )


def test_on_the_review_date_the_board_must_still_open_the_next_cohort() -> None:
    out = _next({"G50": 4}, G50_DOSED, as_of="2025-03-17")
    assert isinstance(out, CohortRefusal)
    assert out.code == "ALLOC.E043"
    assert "the safety board has not yet opened G100" in out.message
    assert "due since 2025-03-17 (7 days after its last dose on 2025-03-10)" in out.message
    with pytest.raises(TransitionError) as caught:
        require_cohort(_cohorts(), {"G50": 4}, G50_DOSED, (), (), D("2025-03-17"))
    assert caught.value.code == "ALLOC.E043"
    assert caught.value.hint == "record the safety board's decision to open G100"


def test_once_opened_the_next_cohort_takes_participants() -> None:
    out = _next({"G50": 4}, G50_DOSED, opened={"G100"}, as_of="2025-03-18")
    assert isinstance(out, CohortArm)
    assert out.arm == "G100"
    assert require_cohort(_cohorts(), {"G50": 4}, G50_DOSED, {"G100"}, (), D("2025-03-18")) == out


def test_an_opening_recorded_before_the_review_could_happen_is_refused() -> None:
    out = _next({"G50": 4}, G50_DOSED, opened={"G100"}, as_of="2025-03-12")
    assert isinstance(out, CohortRefusal)
    assert out.code == "ALLOC.E046"
    assert "cannot happen before 2025-03-17" in out.message


def test_paused_cohorts_take_nobody_nor_do_higher_ones() -> None:
    out = _next({"G50": 1}, paused={"G50"})
    assert isinstance(out, CohortRefusal)
    assert (out.code, out.message) == ("ALLOC.E044", "cohort G50 is paused")
    higher = _next({"G50": 4}, G50_DOSED, opened={"G100"}, paused={"G50"}, as_of="2025-04-01")
    assert isinstance(higher, CohortRefusal)
    assert higher.message == "cohort G50 is paused, so the higher dose group G100 takes nobody"


def test_all_cohorts_full() -> None:
    out = _next({"G50": 4, "G100": 4, "G200": 4})
    assert isinstance(out, CohortRefusal)
    assert out.code == "ALLOC.E040"
    assert out.message == (
        "all cohorts are full: 3 cohorts of 4 (G50, G100, G200), 12 participants allocated"
    )


def test_cohort_status_lists_each_cohort() -> None:
    doses = {**G50_DOSED, "G100": [D("2025-03-20"), D("2025-03-21"), D("2025-03-22"), None]}
    status = cohort_status(_cohorts(), {"G50": 4, "G100": 4}, doses, {"G100"}, (), D("2025-03-23"))
    assert [(s.arm, s.state) for s in status] == [
        ("G50", CohortState.NEXT_OPENED),
        ("G100", CohortState.FULL),
        ("G200", CohortState.NOT_OPEN),
    ]
    assert status[0].review_from == D("2025-03-17")
    assert status[1].review_from is None
    assert status[1].describe() == "cohort G100: full, 4 of 4 allocated, 3 dosed"
    assert status[0].describe() == (
        "cohort G50: next opened, 4 of 4 allocated, 4 dosed; review from 2025-03-17"
    )


@pytest.mark.parametrize(
    ("as_of", "opened", "state"),
    [
        ("2025-03-12", (), CohortState.AWAITING_REVIEW),
        ("2025-03-17", (), CohortState.REVIEW_DUE),
        ("2025-03-17", ("G100",), CohortState.NEXT_OPENED),
    ],
)
def test_review_states(as_of: str, opened: tuple[str, ...], state: CohortState) -> None:
    status = cohort_status(_cohorts(), {"G50": 4}, G50_DOSED, opened, (), D(as_of))
    assert status[0].state is state
    assert status[1].state is (CohortState.OPEN if opened else CohortState.NOT_OPEN)


def test_the_last_cohort_completes() -> None:
    dosed = [D("2025-05-01")] * 4
    status = cohort_status(
        _cohorts(),
        {"G50": 4, "G100": 4, "G200": 4},
        {"G50": dosed, "G100": dosed, "G200": dosed},
        {"G100", "G200"},
        (),
        D("2025-06-01"),
    )
    assert [s.state for s in status] == [
        CohortState.NEXT_OPENED,
        CohortState.NEXT_OPENED,
        CohortState.COMPLETE,
    ]


@pytest.mark.parametrize(
    ("allocated", "doses", "text"),
    [
        ({"G50": 5}, {}, "cohort G50 has 5 participants, more than its size 4"),
        ({"G50": 1}, {"G50": [None, None]}, "cohort G50 has 2 dose dates for 1 allocated"),
        ({"G400": 1}, {}, "arm G400 is not one of the cohorts (G50, G100, G200)"),
    ],
)
def test_inconsistent_state_is_refused(
    allocated: dict[str, int], doses: dict[str, list[date | None]], text: str
) -> None:
    with pytest.raises(TransitionError) as caught:
        _next(allocated, doses)
    assert caught.value.code == "ALLOC.E045"
    assert text in caught.value.message
