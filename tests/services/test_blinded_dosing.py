"""Blinded dosing in a masked study: the pharmacist prepares, the blinded team records the kit,
and nothing a blinded role sees (result, error, form, calendar, history, tables) depends on the
arm. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from trialkit.errors import AccessDenied, TrialkitError
from trialkit.protocol import shipped_studies
from trialkit.services import (
    BLINDED,
    Context,
    Role,
    add_site,
    calendar,
    enrol,
    get_participant,
    history,
    load_study,
    read_form,
    record_dose,
    save_form,
    tidy_tables,
)
from trialkit.services.doses import BLINDED_DEVIATION, prepare_dose
from trialkit.services.matrix import given_doses
from trialkit.store import Database

MASKED2 = "masked-ucmsc-placebo"
UCM = "psoriasis-ucmsc"

_PLACEBO_ARM = """
  - id: PLACEBO
    name: Placebo infusions
    type: placebo_comparator
    planned_size: 5
    interventions:
      - id: SALINE
        name: Normal saline, 100 mL
        product:
          name: Normal saline
          kind: drug
        route: intravenous
        dose:
          amount: 100
          unit: mL
          text: 100 mL of normal saline

timeline:"""


def masked_two_arm_text() -> str:
    """UCM, double blind, an active and a placebo arm (allocated by the team, not randomised)."""
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    replacements = [
        ("id: psoriasis-ucmsc", f"id: {MASKED2}"),
        (
            "masking: {level: none, placebo: false, description: Open label}",
            "masking: {level: double, masked_roles: [participant, investigator], placebo: true}",
        ),
        ("allocation: not_applicable", "allocation: non_randomised"),
        ("intervention_model: single_group", "intervention_model: parallel"),
        ("\ntimeline:", _PLACEBO_ARM),
    ]
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}
W0 = datetime(2025, 3, 10, 9, 0)
People = Callable[..., Context]
Screened = Callable[..., str]


@pytest.fixture
def study(db: Database, ctx: Context) -> str:
    load_study(db, ctx, masked_two_arm_text(), source="masked2.yaml")
    add_site(db, ctx, MASKED2, "TEH", "Tehran")
    return MASKED2


def _enrolled(screened: Screened, db: Database, ctx: Context, arm: str) -> str:
    code = screened(MASKED2, like=UCM)  # eligible under the copied UCM study's criteria
    enrol(db, ctx, MASKED2, code, arm=arm)
    save_form(
        db, ctx, MASKED2, code, visit="V_W0", form_id="VITALS", values={**VITALS, "weight": "70"}
    )
    return code


@pytest.fixture
def team(study: str, person: People) -> dict[str, Context]:
    return {
        "pharmacist": person("pharm", study, Role.PHARMACIST, site="TEH"),
        "nurse": person("nurse", study, Role.COORDINATOR, site="TEH"),
        "doctor": person("doctor", study, Role.INVESTIGATOR, site="TEH"),
        "stats": person("stats", study, Role.STATISTICIAN),
        "unblinded_pi": person("pi", study, Role.PRINCIPAL_INVESTIGATOR, unblinded=True),
    }


def _error(call: Any) -> tuple[str, str, str | None]:
    with pytest.raises(TrialkitError) as caught:
        call()
    return caught.value.code, caught.value.message, caught.value.hint


def _record(db: Database, ctx: Context, code: str, **kw: Any) -> Any:
    args: dict[str, Any] = {"event_id": "W0", "given_at": W0, "product_lot": "L-1"}
    return record_dose(db, ctx.at(W0), MASKED2, code, **{**args, **kw})


def test_the_pharmacist_prepares_each_arm_and_sees_the_deviation(
    db: Database, ctx: Context, team: dict[str, Context], screened: Screened
) -> None:
    active, placebo = _enrolled(screened, db, ctx, "UCMSC"), _enrolled(screened, db, ctx, "PLACEBO")
    pharm = team["pharmacist"].at(W0)
    a = prepare_dose(
        db,
        pharm,
        MASKED2,
        active,
        event_id="W0",
        kit="K-101",
        amount="1.6e8",
        unit="cells",
        product_lot="L-1",
        volume="100",
    )
    assert a.computed.amount == Decimal("1.4E8")
    assert [d.kind for d in a.deviations] == ["dose"]  # 1.6e8 is beyond 10 % of 1.4e8
    b = prepare_dose(
        db,
        pharm,
        MASKED2,
        placebo,
        event_id="W0",
        kit="K-102",
        amount="100",
        unit="mL",
        product_lot="L-1",
        volume="100",
    )
    assert (b.computed.amount, b.deviations) == (Decimal(100), [])
    # A blinded role may not prepare.
    code, _, _ = _error(
        lambda: prepare_dose(
            db,
            team["nurse"],
            MASKED2,
            active,
            event_id="W2",
            kit="K",
            amount="1",
            unit="cells",
            product_lot="L",
        )
    )
    assert code == "AUTH.E010"


def test_nothing_a_blinded_role_sees_depends_on_the_arm(
    db: Database, ctx: Context, team: dict[str, Context], screened: Screened
) -> None:
    active, placebo = _enrolled(screened, db, ctx, "UCMSC"), _enrolled(screened, db, ctx, "PLACEBO")
    nurse, doctor = team["nurse"], team["doctor"]
    # Errors before the kit is prepared: the same code, message and hint for both arms.
    for blinded in (nurse, doctor):
        assert _error(lambda c=blinded: _record(db, c, active, kit="K-101")) == _error(
            lambda c=blinded: _record(db, c, placebo, kit="K-101")
        )
        assert _error(lambda c=blinded: _record(db, c, active, kit="K-101"))[0] == "DOSE.E022"
        # An amount from a blinded role is refused the same way for both arms.
        for code in (active, placebo):
            with pytest.raises(AccessDenied) as amount:
                _record(db, blinded, code, given_amount="1.4e8", given_unit="cells")
            assert amount.value.code == "DOSE.E020"
    pharm = team["pharmacist"].at(W0)
    for code, kit, amount, unit in (
        (active, "K-101", "1.4e8", "cells"),
        (placebo, "K-102", "100", "mL"),
    ):
        prepare_dose(
            db,
            pharm,
            MASKED2,
            code,
            event_id="W0",
            kit=kit,
            amount=amount,
            unit=unit,
            product_lot="L-1",
            volume="100",
        )
    wrong = [_error(lambda c=c: _record(db, nurse, c, kit="K-999")) for c in (active, placebo)]
    assert wrong[0] == wrong[1]
    assert wrong[0][0] == "DOSE.E023"
    results = [
        _record(db, nurse, code, kit=kit, volume="100")
        for code, kit in ((active, "K-101"), (placebo, "K-102"))
    ]
    for r in results:
        assert (r.computed, r.deviations, r.blinded, r.volume) == (None, [], True, "100")
    assert [r.kit for r in results] == ["K-101", "K-102"]
    # The outputs a blinded role reads, side by side: equal once the kit number is set aside.
    for reader in (nurse, doctor, team["stats"]):
        views = [_blinded_view(db, reader, code) for code in (active, placebo)]
        assert views[0] == views[1]
        assert views[0]["arm"] is None
        assert views[0]["infusion"] == {
            "infusion_start": W0,
            "product_lot": "L-1",
            "volume_given": Decimal(100),
            "given_by": "nurse",
        }
    # The unblinded see what was given.
    pi = team["unblinded_pi"]
    assert get_participant(db, pi, MASKED2, active).arm == "UCMSC"
    # The analysis tables still pool both arms as BLINDED for a blinded statistician, and hold
    # no dose amount.
    _assert_pooled(tidy_tables(db, team["stats"], MASKED2))


def test_a_dose_deviation_is_shown_blinded(
    db: Database, ctx: Context, team: dict[str, Context], screened: Screened
) -> None:
    active = _enrolled(screened, db, ctx, "UCMSC")
    prepare_dose(
        db,
        team["pharmacist"].at(W0),
        MASKED2,
        active,
        event_id="W0",
        kit="K-1",
        amount="1.6e8",
        unit="cells",
        product_lot="L-1",
    )
    r = _record(db, team["nurse"], active, kit="K-1")
    assert r.deviations == []  # the dose deviation belongs to the unblinded preparation
    blinded = calendar(db, team["doctor"], MASKED2, active, date(2025, 3, 10)).given["W0"]
    assert blinded["deviations"] == [{"kind": "dose", "message": BLINDED_DEVIATION}]
    full = calendar(db, team["unblinded_pi"], MASKED2, active, date(2025, 3, 10)).given["W0"]
    assert [d["kind"] for d in full["deviations"]] == ["dose"]
    assert "160000000 cells given" in full["deviations"][0]["message"]
    # The participant page's dosing timeline: the same, and no amount to the blinded.
    (seen,) = given_doses(db, team["doctor"], MASKED2, active)
    assert seen.blinded
    assert (seen.computed_amount, seen.given_amount, seen.rule) == ("", "", "")
    assert seen.deviations == (BLINDED_DEVIATION,)
    (shown,) = given_doses(db, team["unblinded_pi"], MASKED2, active)
    assert not shown.blinded
    assert shown.computed_amount == "140000000"
    assert "160000000 cells given" in shown.deviations[0]


def test_a_late_blinded_dose_is_a_time_deviation_for_everyone(
    db: Database, ctx: Context, team: dict[str, Context], screened: Screened
) -> None:
    late = datetime(2025, 3, 26, 9, 1)  # W2 is planned 24 March 09:00 ± 48 h
    results = []
    for arm, amount, unit in (("UCMSC", "1.4e8", "cells"), ("PLACEBO", "100", "mL")):
        code = _enrolled(screened, db, ctx, arm)
        save_form(
            db,
            ctx,
            MASKED2,
            code,
            visit="V_W2",
            form_id="VITALS",
            values={**VITALS, "weight": "70"},
        )
        for event, kit in (("W0", "A"), ("W2", "B")):
            prepare_dose(
                db,
                team["pharmacist"].at(W0),
                MASKED2,
                code,
                event_id=event,
                kit=f"{code}-{kit}",
                amount=amount,
                unit=unit,
                product_lot="L-1",
            )
        _record(db, team["nurse"], code, kit=f"{code}-A")
        results.append(
            _record(db, team["nurse"], code, event_id="W2", given_at=late, kit=f"{code}-B")
        )
    assert [[d.kind for d in r.deviations] for r in results] == [["time"], ["time"]]
    assert results[0].deviations[0].message == results[1].deviations[0].message


def _blinded_view(db: Database, reader: Context, code: str) -> dict[str, Any]:
    p = get_participant(db, reader, MASKED2, code)
    cal = calendar(db, reader, MASKED2, code, date(2025, 3, 10))
    form = read_form(db, reader, MASKED2, code, visit="V_W0", form_id="INFUSION").values()
    given = {k: {**v, "kit": None} for k, v in cal.given.items()}
    events = [
        {k: v for k, v in e.items() if k not in ("id", "participant_id", "at")}
        for e in history(db, reader, MASKED2, code)
    ]
    return {
        "arm": p.arm,
        "status": p.status,
        "visits": [(v.key, v.state, v.target, v.forms) for v in cal.visits],
        "given": given,
        "infusion": {k: v for k, v in form.items() if k != "vial_number"},
        "history": [(e.get("step"), e.get("data")) for e in events],
        # the participant page's dosing timeline
        "doses": [replace(d, vials=()) for d in given_doses(db, reader, MASKED2, code)],
    }


def _assert_pooled(tables: Any) -> None:
    text = repr(tables)
    assert "UCMSC" not in text.replace("psoriasis-ucmsc", "")
    assert "PLACEBO" not in text
    assert BLINDED in text
    assert "cells_given" not in text
    assert "infusion_weight" not in text
