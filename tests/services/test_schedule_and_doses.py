"""Calendars, visits, overdue lists and dose administrations on a real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

import trialkit.services as services
from trialkit.errors import ConflictError, DoseError, TransitionError
from trialkit.schedule import VisitState
from trialkit.services import (
    Context,
    Status,
    calendar,
    enrol,
    get_participant,
    mark_not_required,
    miss_visit,
    overdue,
    record_dose,
    record_visit,
    register,
    save_form,
    unscheduled_visit,
)
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
Screened = Callable[..., str]


def _enrolled(screened: Screened, db: Database, ctx: Context, study: str = UCM) -> str:
    code = screened(study)
    enrol(
        db,
        ctx,
        study,
        code,
        arm=None if study == UCM else "G50",
        investigator_override="criteria checked by the investigator",
    )
    return code


def test_first_dose_plans_the_calendar_and_starts_the_participant(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    first = datetime(2025, 3, 10, 9, 0)
    r = record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W0",
        given_at=first,
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L-77",
        vials=["V1", "V2"],
    )
    assert r.computed.amount == Decimal("1.4E8")
    assert r.deviations == []
    assert r.anchors_moved == ["first_dose"]
    assert get_participant(db, ctx, UCM, code).status is Status.ON_STUDY
    cal = calendar(db, ctx, UCM, code, date(2025, 3, 10))
    v = {x.key: x for x in cal.visits}
    assert v["V_W2"].target == date(2025, 3, 24)
    assert (v["V_W2"].earliest, v["V_W2"].latest) == (date(2025, 3, 22), date(2025, 3, 26))
    assert v["V_W0"].state is VisitState.OPEN
    assert v["V_W0"].forms == dict.fromkeys(("PASI", "INFUSION", "VITALS", "AE"), "expected")
    assert cal.given["W0"]["deviations"] == []


def test_the_dose_basis_is_read_from_the_forms(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    r = record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W0",
        given_at=datetime(2025, 3, 10, 9),
        given_amount="1.5e8",
        given_unit="cells",
        product_lot="L-77",
    )
    assert r.computed.basis == Decimal(70)
    assert [d.kind for d in r.deviations] == ["dose"]


def test_dose_per_plaque_area_and_time_deviation(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx, PAE)
    r = record_dose(
        db,
        ctx,
        PAE,
        code,
        event_id="INJ",
        given_at=datetime(2025, 3, 10, 10),
        given_amount="160",
        given_unit="ug",
        product_lot="EX-1",
        vials=["7"],
        basis_value="3.2",
    )
    assert (r.computed.amount, str(r.computed)) == (Decimal("160.0"), "160 ug in 0.5 mL")
    assert r.deviations == []
    with pytest.raises(ConflictError):
        record_dose(
            db,
            ctx,
            PAE,
            code,
            event_id="INJ",
            given_at=datetime(2025, 3, 10, 10),
            given_amount="160",
            given_unit="ug",
            product_lot="EX-1",
            basis_value="3.2",
        )


def test_a_late_infusion_is_a_time_deviation(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W0",
        given_at=datetime(2025, 3, 10, 9),
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L",
    )
    # W2 is planned for 24 March 09:00 with a window of ±48 hours: 26 March 09:00 is its edge.
    on_edge = record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W2",
        given_at=datetime(2025, 3, 26, 9),
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L",
    )
    assert on_edge.deviations == []
    late = record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W4",
        given_at=datetime(2025, 4, 9, 9, 1),  # planned 7 April 09:00, window ends 9 April 09:00
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L",
    )
    assert [d.kind for d in late.deviations] == ["time"]


def test_moving_the_last_dose_replans_the_future_and_keeps_the_past(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    w0 = datetime(2025, 3, 10, 9)
    record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W0",
        given_at=w0,
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L",
    )
    record_visit(db, ctx, UCM, code, "V_W0", date(2025, 3, 10))
    before = {v.key: v for v in calendar(db, ctx, UCM, code, date(2025, 3, 10)).visits}
    assert before["FU12"].target == date(2025, 3, 10) + timedelta(days=56 + 84)
    # The last infusion is given three days late; follow-up moves, week 0 stays.
    given = datetime(2025, 5, 8, 9)
    r = record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W8",
        given_at=given,
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L",
    )
    assert r.anchors_moved == ["last_dose"]
    after = {v.key: v for v in calendar(db, ctx, UCM, code, date(2025, 5, 8)).visits}
    assert after["FU12"].target == date(2025, 5, 8) + timedelta(days=84)
    assert after["V_W0"].state is VisitState.DONE
    assert after["V_W0"].target == before["V_W0"].target


def test_missed_unscheduled_not_required_and_overdue(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W0",
        given_at=datetime(2025, 3, 10, 9),
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L",
    )
    record_visit(db, ctx, UCM, code, "SCR", date(2025, 3, 3))
    mark_not_required(db, ctx, UCM, code, visit="V_W0", form_id="PASI", reason="done at SCR")
    record_visit(db, ctx, UCM, code, "V_W0", date(2025, 3, 10))
    miss_visit(db, ctx, UCM, code, "V_W2", "participant ill")
    key = unscheduled_visit(db, ctx, UCM, code, date(2025, 3, 30), "rash")
    assert key == "UNS-001"
    save_form(
        db,
        ctx,
        UCM,
        code,
        visit=key,
        form_id="VITALS",
        values={
            "systolic_bp": "120",
            "diastolic_bp": "80",
            "heart_rate": "70",
            "temperature": "37",
        },
    )
    with time_machine.travel(datetime(2025, 4, 20, 12), tick=False):
        today = datetime.now().date()  # the frozen clock, passed in as the services expect
    cal = {v.key: v for v in calendar(db, ctx, UCM, code, today).visits}
    assert cal["V_W0"].forms["PASI"] == "not_required"
    assert cal["V_W2"].state is VisitState.MISSED
    assert cal["V_W2"].forms["VITALS"] == "missed"
    assert cal["V_W4"].state is VisitState.OVERDUE  # 7 Apr +2 d closed on 9 Apr
    assert cal["UNS-001"].forms == {"VITALS": "entered"}
    late = overdue(db, ctx, UCM, today)
    assert [(o.participant, o.visit, o.days_overdue) for o in late] == [(code, "V_W4", 11)]
    assert overdue(db, ctx, UCM, date(2025, 4, 9)) == []  # the last day of the window


def test_doses_need_an_enrolled_participant(db: Database, ctx: Context, screened: Screened) -> None:
    p = register(db, ctx, UCM, "TEH")
    with pytest.raises(TransitionError):
        record_dose(
            db,
            ctx,
            UCM,
            p.code,
            event_id="W0",
            given_at=datetime(2025, 3, 10),
            given_amount="1",
            given_unit="cells",
            product_lot="L",
        )
    code = _enrolled(screened, db, ctx, PAE)
    save_form(
        db,
        ctx,
        PAE,
        code,
        visit="D1",
        form_id="LESION",
        values={
            "LESIONS": [
                {
                    "lesion_role": r,
                    "lesion_site": "knee",
                    "plaque_area": "3.2",
                    "lesion_grade_v": "2",
                    "erythema": "2",
                    "scaling": "2",
                    "induration": "2",
                    "redness": "2",
                    "pain_nrs": "0",
                }
                for r in ("treated", "control")
            ]
        },
    )
    with pytest.raises(DoseError, match="entered 2 times"):
        record_dose(
            db,
            ctx,
            PAE,
            code,
            event_id="INJ",
            given_at=datetime(2025, 3, 10),
            given_amount="160",
            given_unit="ug",
            product_lot="L",
        )


def test_all_is_exported() -> None:
    assert len(services.__all__) == len(set(services.__all__))
    for name in services.__all__:
        assert getattr(services, name) is not None
