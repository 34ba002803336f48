from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from trialkit.errors import ScheduleError
from trialkit.protocol import Study, resolve_study
from trialkit.schedule import (
    VisitPlanner,
    VisitState,
    plan_doses,
    plan_visits,
    study_day,
    template,
    visit_state,
)


@pytest.fixture(scope="module")
def ibd() -> Study:
    return resolve_study("ibd-placental-exosomes")


@pytest.fixture(scope="module")
def pso() -> Study:
    return resolve_study("psoriasis-adipose-exosomes")


def test_study_day_has_no_day_zero() -> None:
    origin = date(2025, 3, 10)
    assert study_day(origin, origin) == 1
    assert study_day(origin + timedelta(days=1), origin) == 2
    assert study_day(origin - timedelta(days=1), origin) == -1


@given(st.dates(), st.integers(min_value=-4000, max_value=4000))
def test_study_day_is_never_zero_and_monotone(origin: date, shift: int) -> None:
    try:
        on = origin + timedelta(days=shift)
    except OverflowError:
        return
    day = study_day(on, origin)
    assert day != 0
    assert (day > 0) == (on >= origin)


def test_ibd_doses_from_the_first_infusion(ibd: Study) -> None:
    first = datetime(2025, 1, 6, 8, 0)
    doses = {d.id: d for d in plan_doses(ibd, {"first_dose": first})}
    assert doses["D1A"].target == first
    assert doses["D1B"].target == datetime(2025, 1, 6, 16, 0)
    assert doses["D1B"].earliest == datetime(2025, 1, 6, 15, 0)
    assert doses["D1B"].latest == datetime(2025, 1, 6, 17, 0)
    assert doses["D1C"].target == datetime(2025, 1, 7, 0, 0)
    assert doses["D10"].target == datetime(2025, 1, 15, 8, 0)
    assert doses["D21"].target == datetime(2025, 1, 26, 8, 0)


def test_follow_up_is_planned_from_the_planned_last_dose(ibd: Study) -> None:
    visits = {v.id: v for v in plan_visits(ibd, {"first_dose": datetime(2025, 1, 6, 8)})}
    fu7 = visits["FU7"]
    assert fu7.target == date(2025, 2, 2)  # last dose planned on 26 Jan, + 7 days
    assert (fu7.earliest, fu7.latest) == (date(2025, 1, 31), date(2025, 2, 4))
    assert not fu7.anchor_is_actual
    assert visits["SCR"].target is None  # consent not yet given


def test_calendar_is_replanned_when_the_last_dose_moves(ibd: Study) -> None:
    anchors = {"first_dose": datetime(2025, 1, 6, 8), "last_dose": datetime(2025, 1, 29, 9)}
    visits = {v.id: v for v in plan_visits(ibd, anchors)}
    assert visits["FU7"].target == date(2025, 2, 5)
    assert visits["FU90"].target == date(2025, 4, 29)
    assert visits["FU7"].anchor_is_actual
    # Visits counted from the first dose do not move.
    assert visits["V_D10"].target == date(2025, 1, 15)


def test_visit_states(pso: Study) -> None:
    planned = {v.id: v for v in plan_visits(pso, {"first_dose": datetime(2025, 5, 1, 10)})}
    w1 = planned["W1"]  # 8 May, window 6..10 May
    assert visit_state(w1, date(2025, 5, 5)) is VisitState.UPCOMING
    assert visit_state(w1, date(2025, 5, 6)) is VisitState.OPEN
    assert visit_state(w1, date(2025, 5, 10)) is VisitState.OPEN
    assert visit_state(w1, date(2025, 5, 11)) is VisitState.OVERDUE
    assert visit_state(w1, date(2025, 5, 11), done_on=date(2025, 5, 9)) is VisitState.DONE
    assert visit_state(w1, date(2025, 5, 20), done_on=date(2025, 5, 11)) is (
        VisitState.DONE_OUT_OF_WINDOW
    )
    assert visit_state(w1, date(2025, 5, 20), missed=True) is VisitState.MISSED
    assert visit_state(planned["SCR"], date(2025, 5, 20)) is VisitState.NOT_PLANNED


def test_no_clock_is_read(pso: Study) -> None:
    anchors = {"first_dose": datetime(2025, 5, 1, 10)}
    before = plan_visits(pso, anchors)
    with time_machine.travel(datetime(2031, 1, 1), tick=False):
        assert plan_visits(pso, anchors) == before


def test_template_orders_by_study_day(ibd: Study) -> None:
    tpl = template(ibd)
    rows = [(e.kind, e.id, e.study_day) for e in tpl.entries]
    assert rows[0] == ("visit", "SCR", None)  # counted from consent: no fixed study day
    days = {e.id: e.study_day for e in tpl.entries}
    assert days["D1A"] == 1
    assert days["D21"] == 21
    assert days["FU7"] == 28
    assert days["FU90"] == 111
    known = [e.study_day for e in tpl.entries if e.study_day is not None]
    assert known == sorted(known)


def test_dosing_last_without_dosing_events_is_a_clear_error(ibd: Study) -> None:
    broken = ibd.model_copy(update={"timeline": ibd.timeline.model_copy(update={"dosing": []})})
    with pytest.raises(ScheduleError, match="no dosing events"):
        plan_visits(broken, {"first_dose": datetime(2025, 1, 1)})


# -- the shared plan (VisitPlanner) equals plan_visits -----------------------------------------

_STUDIES = ("ibd-placental-exosomes", "psoriasis-adipose-exosomes", "psoriasis-ucmsc")
_WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31))


@given(
    st.sampled_from(_STUDIES),
    st.lists(
        st.tuples(st.sampled_from(("consent", "first_dose", "last_dose", "unknown")), _WHEN),
        max_size=6,
    ),
)
def test_the_shared_plan_equals_plan_visits(name: str, anchors: list[tuple[str, datetime]]) -> None:
    """A planner reused across participants (so its memo is exercised) plans every set of
    known anchors exactly as ``plan_visits`` does, whatever anchors are known and when."""
    if name not in _PLANNERS:
        _PLANNERS[name] = VisitPlanner(resolve_study(name))
    planner = _PLANNERS[name]
    study = planner.study
    ids = {a.id for a in study.timeline.anchors}
    actual = {k: v for k, v in anchors if k in ids}
    assert planner.plan(actual) == plan_visits(study, actual)
    assert planner.plan(dict(actual)) == plan_visits(study, actual)  # from the memo


_PLANNERS: dict[str, VisitPlanner] = {}


def test_the_shared_plan_shares_equal_calendars_and_keeps_errors(ibd: Study) -> None:
    planner = VisitPlanner(ibd)
    first = {"first_dose": datetime(2025, 1, 6, 8)}
    assert planner.plan(first) is planner.plan(dict(first))
    assert planner.plan({}) == plan_visits(ibd, {})
    visits = list(ibd.timeline.visits)
    visits[0] = visits[0].model_copy(update={"anchor": "nowhere"})
    broken = ibd.model_copy(update={"timeline": ibd.timeline.model_copy(update={"visits": visits})})
    with pytest.raises(ScheduleError) as direct:
        plan_visits(broken, first)
    with pytest.raises(ScheduleError) as shared:
        VisitPlanner(broken).plan(first)
    assert (shared.value.code, shared.value.message) == (direct.value.code, direct.value.message)
