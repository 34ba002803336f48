"""Adverse-event grades computed from the visit's measured values; an override only with a
reason, both kept and audited; the stopping rules count the effective grade. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from trialkit.errors import ValidationFailed
from trialkit.services import Context, consent, enrol, register, save_form, screen
from trialkit.services.grades import ae_grades
from trialkit.services.safety import safety_status
from trialkit.store import Database, verify

from .conftest import SCREEN_VALUES, VITALS_VALUES

UCM = "psoriasis-ucmsc"
LABS = {
    "hemoglobin": "13.5",
    "wbc": "6",
    "neutrophils": "3.5",
    "lymphocytes": "1.8",
    "platelets": "250",
    "alt": "30",
    "ast": "28",
    "total_bilirubin": "0.8",
    "creatinine": "0.9",
}
VITALS = {"systolic_bp": "118", "diastolic_bp": "76", "heart_rate": "72", "temperature": "36.6"}
T = datetime(2025, 3, 24, 12)


def enrolled(db: Database, ctx: Context) -> str:
    code = register(db, ctx, UCM, "TEH").code
    consent(db, ctx, UCM, code, on=date(2025, 3, 3), form_version="1", obtained_by="dr.b")
    # The study's eligible screening values (conftest) plus the baseline labs the grades use.
    for form_id, values in (("SCREEN", SCREEN_VALUES), ("VITALS", VITALS_VALUES), ("LABS", LABS)):
        save_form(db, ctx, UCM, code, visit="SCR", form_id=form_id, values=values)
    screen(db, ctx, UCM, code)
    enrol(db, ctx, UCM, code)
    return code


def ae(term: str, ctcae: str | None, grade: str | None = None, **more: str) -> dict[str, str]:
    row = {
        "ae_term": term,
        "ae_onset": "2025-03-24",
        "ae_serious": "no",
        "ae_relation": "probable",
        "ae_outcome": "recovering",
        "ae_during_infusion": "no",
        **more,
    }
    if ctcae is not None:
        row["ae_ctcae_term"] = ctcae
    if grade is not None:
        row["ae_grade"] = grade
    return row


def save_ae(
    db: Database, ctx: Context, code: str, rows: list[dict[str, str]], version: int | None = None
) -> Any:
    return save_form(
        db,
        ctx.at(T),
        UCM,
        code,
        visit="V_W2",
        form_id="AE",
        values={"AE": rows},
        expected_version=version,
        reason=None if version is None else "follow-up",
    )


@pytest.mark.parametrize(
    ("alt", "grade"),
    # ULN 40, normal baseline 30: >ULN-3.0xULN g1, >3.0-5.0 g2, >5.0-20.0 g3, >20.0 g4.
    [("41", 1), ("120", 1), ("120.01", 2), ("200", 2), ("200.5", 3), ("800", 3), ("801", 4)],
)
def test_alt_grade_is_computed_from_the_lab_form(
    db: Database, ctx: Context, alt: str, grade: int
) -> None:
    code = enrolled(db, ctx)
    save_form(db, ctx, UCM, code, visit="V_W2", form_id="LABS", values={**LABS, "alt": alt})
    save_ae(db, ctx, code, [ae("ALT increased", "alt_increased")])
    (g,) = ae_grades(db, ctx, UCM, code)
    assert (g.term, g.computed, g.entered, g.effective) == ("alt_increased", grade, None, grade)
    assert g.inputs["uln"] == "40"
    assert g.inputs["baseline"] == "30"
    assert g.inputs["instrument"] == "ctcae_alt_increased"


def test_an_override_needs_a_reason_and_both_grades_are_kept(db: Database, ctx: Context) -> None:
    code = enrolled(db, ctx)
    save_form(db, ctx, UCM, code, visit="V_W2", form_id="LABS", values={**LABS, "alt": "150"})
    with pytest.raises(ValidationFailed) as refused:
        save_ae(db, ctx, code, [ae("ALT increased", "alt_increased", "3")])
    assert refused.value.code == "SAFETY.E040"
    assert "overrides the computed grade 2" in str(refused.value.errors)
    assert ae_grades(db, ctx, UCM, code) == []  # nothing was saved
    save_ae(
        db,
        ctx,
        code,
        [
            ae(
                "ALT increased",
                "alt_increased",
                "3",
                ae_grade_reason="with jaundice: grade 3 by the clinical picture",
            )
        ],
    )
    (g,) = ae_grades(db, ctx, UCM, code)
    assert (g.computed, g.entered, g.effective) == (2, 3, 3)
    assert g.reason == "with jaundice: grade 3 by the clinical picture"
    # The effective grade 3, related, fires S1 (stop the participant's dosing).
    status = safety_status(db, ctx.at(T), UCM)
    assert code in status.stopped_participants
    (pause,) = [p for p in status.pauses if p.rule_id == "S1"]
    assert [e["grade"] for e in pause.trigger["events"]] == [3]
    with db.read() as conn:
        assert verify(conn).ok


def test_an_entered_grade_equal_to_the_computed_one_needs_no_reason(
    db: Database, ctx: Context
) -> None:
    code = enrolled(db, ctx)
    save_form(db, ctx, UCM, code, visit="V_W2", form_id="LABS", values={**LABS, "alt": "150"})
    save_ae(db, ctx, code, [ae("ALT increased", "alt_increased", "2")])
    (g,) = ae_grades(db, ctx, UCM, code)
    assert (g.computed, g.entered, g.effective, g.reason) == (2, 2, 2, None)


def test_hypertension_and_fever_from_the_vital_signs(db: Database, ctx: Context) -> None:
    code = enrolled(db, ctx)
    vitals = {**VITALS, "systolic_bp": "162", "diastolic_bp": "95", "temperature": "39.2"}
    save_form(db, ctx, UCM, code, visit="V_W2", form_id="VITALS", values=vitals)
    save_ae(db, ctx, code, [ae("Hypertension", "hypertension"), ae("Fever", "fever")])
    grades = {g.term: g for g in ae_grades(db, ctx, UCM, code)}
    assert (grades["hypertension"].computed, grades["hypertension"].effective) == (3, 3)
    assert (grades["fever"].computed, grades["fever"].effective) == (2, 2)


def test_no_values_no_computed_grade(db: Database, ctx: Context) -> None:
    code = enrolled(db, ctx)  # no LABS at V_W2
    with pytest.raises(ValidationFailed) as refused:
        save_ae(db, ctx, code, [ae("ALT increased", "alt_increased")])
    assert "alt is not entered at this visit" in str(refused.value.errors)
    save_ae(db, ctx, code, [ae("ALT increased", "alt_increased", "2")])
    (g,) = ae_grades(db, ctx, UCM, code)
    assert (g.computed, g.entered, g.effective) == (None, 2, 2)
    assert g.computed_why == "alt is not entered at this visit"


def test_grade_zero_from_the_values_is_not_an_event(db: Database, ctx: Context) -> None:
    code = enrolled(db, ctx)
    save_form(db, ctx, UCM, code, visit="V_W2", form_id="LABS", values=LABS)
    with pytest.raises(ValidationFailed, match="without a valid grade") as refused:
        save_ae(db, ctx, code, [ae("ALT increased", "alt_increased")])
    assert "grade 0" in str(refused.value.errors)


def test_a_term_not_graded_from_values_takes_the_entered_grade(db: Database, ctx: Context) -> None:
    code = enrolled(db, ctx)
    with pytest.raises(ValidationFailed, match="without a valid grade"):
        save_ae(db, ctx, code, [ae("Headache", None)])
    save_ae(db, ctx, code, [ae("Headache", None, "1")])
    (g,) = ae_grades(db, ctx, UCM, code)
    assert (g.term, g.computed, g.effective) == (None, None, 1)


def test_the_analysis_table_counts_the_effective_grade(db: Database, ctx: Context) -> None:
    from trialkit.services import record_dose, tidy_tables

    code = enrolled(db, ctx)
    w0 = datetime(2025, 3, 10, 9)
    save_form(db, ctx, UCM, code, visit="V_W0", form_id="VITALS", values={**VITALS, "weight": "70"})
    record_dose(
        db,
        ctx.at(w0),
        UCM,
        code,
        event_id="W0",
        given_at=w0,
        given_amount="1.4e8",
        given_unit="cells",
        product_lot="L",
    )
    save_form(db, ctx, UCM, code, visit="V_W2", form_id="LABS", values={**LABS, "alt": "150"})
    save_ae(db, ctx, code, [ae("ALT increased", "alt_increased")])
    events = tidy_tables(db, ctx.at(T), UCM).adverse_events
    assert [(e.term, e.grade) for e in events] == [("ALT increased", 2)]


# Normal values of each graded term: every one grades 0 (CTCAE v5.0: a value within the normal
# range is no adverse event of that term), the values given as the services pass them.
_NORMAL = {
    "ctcae_alt_increased": {"value": "30", "uln": "40", "baseline": "30"},
    "ctcae_ast_increased": {"value": "30", "uln": "40", "baseline": "30"},
    "ctcae_alp_increased": {"value": "100", "uln": "120", "baseline": "100"},
    "ctcae_bilirubin_increased": {"value": "1.2", "uln": "1.2", "baseline": "0.8"},
    "ctcae_creatinine_increased": {"value": "0.9", "uln": "1.2", "baseline": "0.9"},
    "ctcae_anemia": {"hemoglobin": "12", "lln": "12", "unit": "g/dL"},
    "ctcae_neutrophil_count_decreased": {"value": "2", "lln": "2", "unit": "10*9/L"},
    "ctcae_lymphocyte_count_decreased": {"value": "1", "lln": "1", "unit": "10*9/L"},
    "ctcae_platelet_count_decreased": {"value": "150", "lln": "150", "unit": "10*9/L"},
    "ctcae_white_blood_cell_count_decreased": {"value": "4", "lln": "4", "unit": "10*9/L"},
    "ctcae_fever": {"temperature": "37.9"},
    "ctcae_hypertension": {"systolic": "119", "diastolic": "79"},
}


def test_every_term_the_shipped_studies_grade_is_graded_from_values_with_grade_0() -> None:
    """Issue #18 item 9: each CTCAE term a shipped study lets an adverse event name
    (codelist ``CTCAE_GRADED``) is graded from measured values by a CTCAE v5.0 instrument,
    and a normal value gives grade 0 (not "no grade")."""
    from trialkit.instruments import INSTRUMENTS
    from trialkit.protocol import load_study_text, shipped_studies
    from trialkit.services.grades import GRADED_TERMS

    for name, text in shipped_studies():
        study = load_study_text(text, source=name)
        (graded,) = [c for c in study.codelists if c.id == "CTCAE_GRADED"]
        codes = {item.code for item in graded.items}
        assert codes <= set(GRADED_TERMS), (name, sorted(codes - set(GRADED_TERMS)))
        for code in codes:
            instrument = INSTRUMENTS[GRADED_TERMS[code][0]]
            result = instrument.score(_NORMAL[instrument.name])
            assert result.value == 0, (code, result.reason)
            assert result.flags["ctcae_version"] == "CTCAE v5.0"
