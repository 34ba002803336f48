"""What hides the arm in safety outputs from a blinded reader of a masked study: status,
firings, their triggering events, pauses and decisions, and the refusal of a dose. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from trialkit.errors import TransitionError
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_site,
    enrol,
    load_study,
    record_dose,
    save_form,
)
from trialkit.services.doses import prepare_dose
from trialkit.services.safety import lift_pause, safety_status
from trialkit.store import Database

MASKED = "masked-ucmsc-arms"
UCM = "psoriasis-ucmsc"
People = Callable[..., Context]
Screened = Callable[..., str]
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}
T = datetime(2025, 3, 12, 9)

_ARMS_AND_RULE = """
  - id: PLACEBO
    name: Placebo infusions
    type: placebo_comparator
    interventions:
      - id: SALINE
        name: Normal saline, 100 mL
        product: {name: Normal saline, kind: drug}
        route: intravenous
        dose: {amount: 100, unit: mL}

timeline:"""
_ARM_RULE = """  stopping_rules:
    - id: S4
      text: Pause an arm after a related adverse event of grade 3 or higher in it.
      events: {min_grade: 3, related_only: true}
      count: 1
      scope: arm
      action: pause_arm"""


def _text() -> str:
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    for old, new in (
        ("id: psoriasis-ucmsc", f"id: {MASKED}"),
        (
            "masking: {level: none, placebo: false, description: Open label}",
            "masking: {level: double, masked_roles: [participant, investigator], placebo: true}",
        ),
        ("allocation: not_applicable", "allocation: non_randomised"),
        ("intervention_model: single_group", "intervention_model: parallel"),
        ("\ntimeline:", _ARMS_AND_RULE),
        ("  stopping_rules:", _ARM_RULE),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.fixture
def study(db: Database, ctx: Context) -> str:
    load_study(db, ctx, _text(), source="masked-arms.yaml")
    add_site(db, ctx, MASKED, "TEH", "Tehran")
    return MASKED


def _enrolled(screened: Screened, db: Database, ctx: Context, arm: str) -> str:
    code = screened(MASKED, like=UCM)  # eligible under the copied UCM study's criteria
    enrol(db, ctx, MASKED, code, arm=arm)
    save_form(
        db, ctx, MASKED, code, visit="V_W0", form_id="VITALS", values={**VITALS, "weight": "70"}
    )
    return code


def _ae(db: Database, ctx: Context, code: str) -> None:
    row = {
        "ae_term": "Infusion related reaction",
        "ae_onset": "2025-03-11",
        "ae_grade": "3",
        "ae_serious": "no",
        "ae_relation": "probable",
        "ae_outcome": "recovering",
        "ae_during_infusion": "yes",
    }
    save_form(db, ctx.at(T), MASKED, code, visit="V_W0", form_id="AE", values={"AE": [row]})


def _no_arm(value: Any, arms: set[str]) -> None:
    """No arm id anywhere in ``value`` (its reprs, keys and values)."""
    text = repr(value)
    for arm in arms:
        assert f"'{arm}'" not in text, f"arm {arm} is visible: {text}"


def test_every_safety_output_is_blind(
    db: Database, ctx: Context, study: str, person: People, screened: Screened
) -> None:
    active, other, placebo = (
        _enrolled(screened, db, ctx, "UCMSC"),
        _enrolled(screened, db, ctx, "UCMSC"),
        _enrolled(screened, db, ctx, "PLACEBO"),
    )
    _ae(db, ctx, active)
    readers = {
        "investigator": person("dr", study, Role.INVESTIGATOR),
        "monitor": person("mon", study, Role.MONITOR),
        "data_manager": person("dm", study, Role.DATA_MANAGER),
        "statistician": person("stat", study, Role.STATISTICIAN),
    }
    board = person("dsmb", study, Role.SAFETY_BOARD).at(T)
    unblinded = person("unb", study, Role.PRINCIPAL_INVESTIGATOR, unblinded=True)
    seen = safety_status(db, board, study)
    arm_pause = next(p for p in seen.pauses if p.rule_id == "S4")
    assert (arm_pause.target, seen.paused_arms) == ("UCMSC", ("UCMSC",))
    assert [e["arm"] for e in arm_pause.trigger["events"]] == ["UCMSC"]
    lift_pause(db, board, study, arm_pause.id, "reviewed: the reaction resolved, resume")
    _ae(db, ctx, other)  # fires again on the new event, and stays active
    for role, reader in {**readers, "unblinded": unblinded}.items():
        status = safety_status(db, reader.at(T), study)
        if role == "unblinded":
            assert status.paused_arms == ("UCMSC",)
            assert any(d["target"] == "UCMSC" for d in status.decisions)
            continue
        assert status.paused_arms == ("(blinded)",)
        for pause in status.pauses:
            assert pause.target is None or pause.scope != "arm"
            if pause.scope == "arm":
                assert pause.trigger["target"] is None
                assert pause.trigger["pauses"]["arms"] == ["(blinded)"]
                assert {e["participant"] for e in pause.trigger["events"]} == {None}
            assert {e["arm"] for e in pause.trigger["events"]} == {None}
        (decision,) = status.decisions
        assert decision["target"] is None
        assert {e["arm"] for e in decision["data"]["trigger"]["events"]} == {None}
        _no_arm((status.pauses, status.decisions, status.paused_arms), {"UCMSC", "PLACEBO"})
    # A blinded dose in the paused arm is refused without naming the rule; in the other arm
    # it goes on.
    pharm = person("pharm", study, Role.PHARMACIST).at(T)
    nurse = person("nurse", study, Role.COORDINATOR).at(T)
    with pytest.raises(TransitionError) as paused:
        prepare_dose(
            db, pharm, study, other, event_id="W0", kit="K-1", amount="1.4e8", unit="cells",
            product_lot="L",
        )  # fmt: skip
    assert "S4" in str(paused.value)  # the unblinded pharmacist is told which rule
    prepare_dose(
        db, pharm, study, placebo, event_id="W0", kit="K-2", amount="100", unit="mL",
        product_lot="L",
    )  # fmt: skip
    r = record_dose(
        db, nurse, study, placebo, event_id="W0", given_at=T, product_lot="L", kit="K-2"
    )
    assert r.blinded
    with db.write() as conn:
        from trialkit.services.safety import ensure_dosing_allowed
        from trialkit.services.studies import protocol

        study_id = protocol(conn, study).study_id
        with pytest.raises(TransitionError) as blind_refusal:
            ensure_dosing_allowed(conn, study_id, other, "UCMSC", blind=True)
    assert blind_refusal.value.code == "SAFETY.E011"
    assert "S4" not in str(blind_refusal.value)
    _no_arm(str(blind_refusal.value), {"UCMSC", "PLACEBO"})


def test_an_open_label_study_hides_nothing(db: Database, ctx: Context, person: People) -> None:
    status = safety_status(
        db, person("ro", "psoriasis-adipose-exosomes", Role.READ_ONLY), "psoriasis-adipose-exosomes"
    )
    assert status.paused_arms == ()
