"""Calendars, visits, overdue lists and dose administrations on a real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

import trialkit.services as services
from trialkit.errors import ConflictError, DoseError, TransitionError, ValidationFailed
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
    read_form,
    record_dose,
    record_visit,
    register,
    save_form,
    unscheduled_visit,
)
from trialkit.services.forms import FormRefused
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
Screened = Callable[..., str]


VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}


def _weigh(db: Database, ctx: Context, code: str, visit: str, kg: str = "70") -> None:
    """The weight measured at an infusion visit of the UCM study (the basis of its dose)."""
    save_form(db, ctx, UCM, code, visit=visit, form_id="VITALS", values={**VITALS, "weight": kg})


def _lesions(treated: str, control: str) -> list[dict[str, str]]:
    return [
        {
            "lesion_role": role,
            "lesion_site": "knee",
            "plaque_area": area,
            "lesion_grade_v": "2",
            "erythema": "2",
            "scaling": "2",
            "induration": "2",
            "redness": "2",
            "pain_nrs": "0",
        }
        for role, area in (("treated", treated), ("control", control))
    ]


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


def _dose(
    db: Database, ctx: Context, code: str, event: str, at: datetime, amount: str = "1.4e8"
) -> services.DoseResult:
    return record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id=event,
        given_at=at,
        given_amount=amount,
        given_unit="cells",
        product_lot="L",
    )


def test_first_dose_plans_the_calendar_and_starts_the_participant(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    first = datetime(2025, 3, 10, 9, 0)
    _weigh(db, ctx, code, "V_W0")
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
    assert r.computed is not None
    assert r.computed.amount == Decimal("1.4E8")
    assert r.deviations == []
    assert r.anchors_moved == ["first_dose"]
    assert get_participant(db, ctx, UCM, code).status is Status.ON_STUDY
    cal = calendar(db, ctx, UCM, code, date(2025, 3, 10))
    v = {x.key: x for x in cal.visits}
    assert v["V_W2"].target == date(2025, 3, 24)
    assert (v["V_W2"].earliest, v["V_W2"].latest) == (date(2025, 3, 22), date(2025, 3, 26))
    assert v["V_W0"].state is VisitState.OPEN
    assert v["V_W0"].forms == {
        "PASI": "expected",
        "INFUSION": "entered",
        "VITALS": "entered",
        "AE": "expected",
    }
    assert cal.given["W0"]["deviations"] == []


def test_the_weight_is_the_one_measured_at_the_dosing_visit(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)  # 70 kg at screening
    with pytest.raises(DoseError, match="weight at visit V_W0") as missing:
        _dose(db, ctx, code, "W0", datetime(2025, 3, 10, 9))
    assert missing.value.code == "DOSE.E004"
    _weigh(db, ctx, code, "V_W0", "72.5")
    r = _dose(db, ctx, code, "W0", datetime(2025, 3, 10, 9), "1.45e8")
    assert r.computed is not None
    assert (r.computed.basis, r.computed.amount) == (Decimal("72.5"), Decimal("1.450E8"))
    assert r.deviations == []
    # Week 2 reads week 2's weight, not week 0's nor the screening weight.
    _weigh(db, ctx, code, "V_W2", "71")
    r2 = _dose(db, ctx, code, "W2", datetime(2025, 3, 24, 9), "1.42e8")
    assert r2.computed is not None
    assert r2.computed.basis == Decimal(71)


def test_the_administration_form_is_filled_by_the_dose(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    _weigh(db, ctx, code, "V_W0")
    r = record_dose(
        db,
        ctx,
        UCM,
        code,
        event_id="W0",
        given_at=datetime(2025, 3, 10, 9, 30),
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L-77",
        kit="BAG-3",
        volume="100",
    )
    form = read_form(db, ctx, UCM, code, visit="V_W0", form_id="INFUSION")
    assert r.form_instance_id == form.id
    assert form.values() == {
        "infusion_start": datetime(2025, 3, 10, 9, 30),
        "product_lot": "L-77",
        "vial_number": "BAG-3",
        "volume_given": Decimal(100),
        "infusion_weight": Decimal(70),
        "cells_given": Decimal(140000000),
        "given_by": "dr.amini",
    }
    # The nurse completes the end time later: a change of the same form, with its reason.
    save_form(
        db,
        ctx,
        UCM,
        code,
        visit="V_W0",
        form_id="INFUSION",
        values={
            "infusion_start": "2025-03-10T09:30",
            "infusion_end": "2025-03-10T10:10",
            "product_lot": "L-77",
            "vial_number": "BAG-3",
            "volume_given": "100",
            "infusion_weight": "70",
            "cells_given": "140000000",
            "given_by": "dr.amini",
        },
        expected_version=form.version,
        reason="infusion end entered",
    )


def test_the_administration_form_is_validated_and_nothing_is_half_saved(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    _weigh(db, ctx, code, "V_W0")
    with pytest.raises(ValidationFailed) as bad:
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
            volume="5000",  # the form allows at most 1000 mL
        )
    assert bad.value.code == "FORM.E010"
    assert "INF/volume_given" in bad.value.errors
    # Nothing was recorded: the dose and its form are one transaction.
    assert calendar(db, ctx, UCM, code, date(2025, 3, 10)).given == {}
    assert get_participant(db, ctx, UCM, code).status is Status.ENROLLED


def test_ibd_vials_fill_one_row_each(db: Database, ctx: Context, screened: Screened) -> None:
    ibd = "ibd-placental-exosomes"
    code = screened(ibd)
    enrol(db, ctx, ibd, code, investigator_override="criteria checked by the investigator")
    start = datetime(2025, 3, 10, 8)
    for n, (event, hours) in enumerate((("D1A", 0), ("D1B", 8), ("D1C", 16))):
        record_dose(
            db,
            ctx,
            ibd,
            code,
            event_id=event,
            given_at=start + timedelta(hours=hours),
            given_amount="1",
            given_unit="vial",
            product_lot="PX-1",
            kit=f"PX-1-{n + 1:02d}",
        )
    rows = read_form(db, ctx, ibd, code, visit="V_D1", form_id="INFUSION").values()["INF"]
    assert [(r["vial_number"], r["vials_given"]) for r in rows] == [
        ("PX-1-01", 1),
        ("PX-1-02", 1),
        ("PX-1-03", 1),
    ]


def test_dose_per_area_of_the_treated_plaque(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx, PAE)
    # The treated lesion is 3.2 cm2, its untreated control 5 cm2: the dose uses 3.2.
    save_form(
        db, ctx, PAE, code, visit="D1", form_id="LESION", values={"LESIONS": _lesions("3.2", "5")}
    )
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
        volume="0.5",
    )
    assert r.computed is not None
    assert (r.computed.amount, str(r.computed)) == (Decimal("160.0"), "160 ug in 0.5 mL")
    assert r.deviations == []
    injection = read_form(db, ctx, PAE, code, visit="D1", form_id="INJECTION").values()
    assert injection["treated_plaque_area"] == Decimal("3.2")
    assert (injection["dose_given"], injection["vial_number"]) == (Decimal(160), "7")
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
        )


def test_two_treated_rows_are_refused_at_entry(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx, PAE)
    rows = _lesions("3.2", "5")
    rows[1]["lesion_role"] = "treated"
    with pytest.raises(FormRefused) as two:
        save_form(db, ctx, PAE, code, visit="D1", form_id="LESION", values={"LESIONS": rows})
    assert two.value.code == "FORM.E010"
    assert "LESIONS" in str(two.value)
    assert two.value.submitted == {"LESIONS": rows}  # what was typed is kept
    # Nothing was saved, so the dose has no basis yet and says which.
    with pytest.raises(DoseError) as none:
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
    assert "plaque_area" in str(none.value)


@pytest.mark.parametrize(
    ("given", "deviates"),
    [("1.26e8", False), ("1.54e8", False), ("125999999", True), ("154000001", True)],
)
def test_the_protocol_tolerance_bounds_are_inclusive(
    db: Database, ctx: Context, given: str, deviates: bool, screened: Screened
) -> None:
    """UCM allows ±10 % of 1.4e8 cells (70 kg): 1.26e8 and 1.54e8 are in, one cell more is out."""
    code = _enrolled(screened, db, ctx)
    _weigh(db, ctx, code, "V_W0")
    r = _dose(db, ctx, code, "W0", datetime(2025, 3, 10, 9), given)
    assert [d.kind for d in r.deviations] == (["dose"] if deviates else [])
    if deviates:
        assert "(tolerance 10%)" in r.deviations[0].message


def test_a_late_infusion_is_a_time_deviation(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    for visit in ("V_W0", "V_W2", "V_W4"):
        _weigh(db, ctx, code, visit)
    _dose(db, ctx, code, "W0", datetime(2025, 3, 10, 9))
    # W2 is planned for 24 March 09:00 with a window of ±48 hours: 26 March 09:00 is its edge.
    on_edge = _dose(db, ctx, code, "W2", datetime(2025, 3, 26, 9))
    assert on_edge.deviations == []
    # planned 7 April 09:00, window ends 9 April 09:00
    late = _dose(db, ctx, code, "W4", datetime(2025, 4, 9, 9, 1))
    assert [d.kind for d in late.deviations] == ["time"]


def test_moving_the_last_dose_replans_the_future_and_keeps_the_past(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    w0 = datetime(2025, 3, 10, 9)
    _weigh(db, ctx, code, "V_W0")
    _weigh(db, ctx, code, "V_W8")
    _dose(db, ctx, code, "W0", w0)
    record_visit(db, ctx, UCM, code, "V_W0", date(2025, 3, 10))
    before = {v.key: v for v in calendar(db, ctx, UCM, code, date(2025, 3, 10)).visits}
    assert before["FU12"].target == date(2025, 3, 10) + timedelta(days=56 + 84)
    # The last infusion is given three days late; follow-up moves, week 0 stays.
    given = datetime(2025, 5, 8, 9)
    r = _dose(db, ctx, code, "W8", given)
    assert r.anchors_moved == ["last_dose"]
    after = {v.key: v for v in calendar(db, ctx, UCM, code, date(2025, 5, 8)).visits}
    assert after["FU12"].target == date(2025, 5, 8) + timedelta(days=84)
    assert after["V_W0"].state is VisitState.DONE
    assert after["V_W0"].target == before["V_W0"].target


def test_missed_unscheduled_not_required_and_overdue(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = _enrolled(screened, db, ctx)
    _weigh(db, ctx, code, "V_W0")
    _dose(db, ctx, code, "W0", datetime(2025, 3, 10, 9))
    record_visit(db, ctx, UCM, code, "SCR", date(2025, 3, 3))
    mark_not_required(db, ctx, UCM, code, visit="V_W0", form_id="PASI", reason="done at SCR")
    record_visit(db, ctx, UCM, code, "V_W0", date(2025, 3, 10))
    miss_visit(db, ctx, UCM, code, "V_W2", "participant ill")
    with pytest.raises(ValidationFailed) as no_reason:
        unscheduled_visit(db, ctx, UCM, code, date(2025, 3, 30), "  ")
    assert no_reason.value.code == "SCHED.E206"
    key = unscheduled_visit(db, ctx, UCM, code, date(2025, 3, 30), "rash")
    assert key == "UNS-001"
    save_form(db, ctx, UCM, code, visit=key, form_id="VITALS", values=VITALS)
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


def test_doses_need_an_enrolled_participant(db: Database, ctx: Context) -> None:
    p = register(db, ctx, UCM, "TEH")
    with pytest.raises(TransitionError):
        _dose(db, ctx, p.code, "W0", datetime(2025, 3, 10))


def test_all_is_exported() -> None:
    assert len(services.__all__) == len(set(services.__all__))
    for name in services.__all__:
        assert getattr(services, name) is not None
