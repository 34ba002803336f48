"""The records database as the analysis tables: filled through the services as the demo does,
on SQLite and PostgreSQL, then analysed with the study's own endpoints.

Worked numbers (psoriasis adipose exosomes, day 1 = injection day 2025-03-11 / 2025-03-12):

* PASI = Σ (E + I + D) × area score × region weight (head 0.1, upper limbs 0.2, trunk 0.3,
  lower limbs 0.4; area 1–9 % scores 1, 10–29 % scores 2). Baseline (D1) for both: trunk
  (2 + 2 + 1) × 2 × 0.3 = 3.0 plus lower limbs (2 + 1 + 1) × 1 × 0.4 = 1.6, PASI 4.6.
  Month 3: participant 1 trunk (1 + 1 + 0) × 1 × 0.3 = 0.6 (PASI 0.6, change −4.0,
  improvement 4.0 / 4.6 = 86.96 %); participant 2 trunk (2 + 1 + 1) × 1 × 0.3 = 1.2 plus lower
  limbs (1 + 1 + 0) × 1 × 0.4 = 0.8 (PASI 2.0, change −2.6, improvement 56.52 %).
  Mean change at M3 = −3.3; PASI 75 responders 1 of 2.
* Redness treated − control at M3: participant 1: 1 − 3 = −2; participant 2: 2 − 3 = −1.
* Adverse events: participant 1 injection-site pain grade 1, probably related, onset
  2025-03-12 (day 2); participant 2 headache grade 2, unlikely related, onset 2025-04-01
  (day 21), and a rash on 2025-03-10 (day −2, before the injection: left out).
  Incidence: G50 1/1, G100 1/1; related: G50 1/1, G100 0/1.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from trialkit.analysis import analyse
from trialkit.analysis.data import AdverseEvent, Observation
from trialkit.errors import NotFound
from trialkit.protocol import resolve_study
from trialkit.services import (
    Context,
    enrol,
    record_dose,
    record_visit,
    save_form,
    screen_fail,
)
from trialkit.services.tidy import role_items, tidy_extract, tidy_tables
from trialkit.store import Database

Screened = Callable[..., str]

PAE = "psoriasis-adipose-exosomes"
REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")


def pasi(**regions: tuple[int, int, int, int]) -> dict[str, str]:
    """PASI form values: region -> (erythema, induration, desquamation, area percent)."""
    out: dict[str, str] = {}
    for r in REGIONS:
        e, i, d, a = regions.get(r, (0, 0, 0, 0))
        out |= {
            f"{r}_erythema": str(e),
            f"{r}_induration": str(i),
            f"{r}_desquamation": str(d),
            f"{r}_area_percent": str(a),
        }
    return out


BASELINE = pasi(trunk=(2, 2, 1, 12), lower_limbs=(2, 1, 1, 8))
M3 = {
    1: pasi(trunk=(1, 1, 0, 5)),
    2: pasi(trunk=(2, 1, 1, 5), lower_limbs=(1, 1, 0, 3)),
}


def lesions(treated_redness: int, control_redness: int) -> list[dict[str, str]]:
    def row(role: str, redness: int) -> dict[str, str]:
        return {
            "lesion_role": role,
            "lesion_site": "left forearm" if role == "treated" else "right forearm",
            "plaque_area": "3.20",
            "lesion_grade_v": "2",
            "erythema": "2",
            "scaling": "1",
            "induration": "1",
            "redness": str(redness),
            "pain_nrs": "3",
        }

    return [row("treated", treated_redness), row("control", control_redness)]


def ae(term: str, onset: str, grade: int, relation: str) -> dict[str, str]:
    return {
        "ae_term": term,
        "ae_onset": onset,
        "ae_grade": str(grade),
        "ae_serious": "no",
        "ae_relation": relation,
        "ae_outcome": "recovered",
        "ae_at_injection_site": "no",
    }


def screened_at_visit(db: Database, ctx: Context, screened: Screened) -> str:
    """An eligible candidate (the shared screening values, PASI 4.6), the SCR visit recorded."""
    code = screened(PAE)
    record_visit(db, ctx, PAE, code, "SCR", ctx.as_of.date())
    return code


def fill(db: Database, ctx: Context, screened: Screened) -> list[str]:
    """Two participants walked to month 3 (arms G50, G100) and one screen failure."""
    codes = []
    for n, (arm, dose) in enumerate((("G50", "160"), ("G100", "320")), start=1):
        code = screened_at_visit(db, ctx, screened)
        enrol(
            db,
            ctx,
            PAE,
            code,
            arm=arm,
            allocation_override="carried over from paper records" if arm == "G100" else None,
        )
        inj = datetime(2025, 3, 10 + n, 10, 30)
        # The dose is computed from the treated plaque's area (3.20 cm2) measured at D1.
        save_form(
            db,
            Context.operator("dr.demo", inj),
            PAE,
            code,
            visit="D1",
            form_id="LESION",
            values={"LESIONS": lesions(3, 3)},
        )
        record_dose(
            db,
            Context.operator("dr.demo", inj),
            PAE,
            code,
            event_id="INJ",
            given_at=inj,
            given_amount=dose,
            given_unit="ug",
            product_lot="EX-0311",
            vials=[f"EX-0311-{n:02d}"],
        )
        later = Context.operator("dr.demo", inj + timedelta(days=120))
        record_visit(db, later, PAE, code, "D1", inj.date())
        save_form(db, later, PAE, code, visit="D1", form_id="PASI", values=BASELINE)
        m3 = inj.date() + timedelta(days=90)
        record_visit(db, later, PAE, code, "M3", m3)
        save_form(db, later, PAE, code, visit="M3", form_id="PASI", values=M3[n])
        save_form(
            db, later, PAE, code, visit="M3", form_id="LESION", values={"LESIONS": lesions(n, 3)}
        )
        codes.append(code)
    p1, p2 = codes
    later = Context.operator("dr.demo", datetime(2025, 7, 1, 9, 0))
    save_form(
        db,
        later,
        PAE,
        p1,
        visit="D1",
        form_id="AE",
        values={"AE": [ae("injection site pain", "2025-03-12", 1, "probable")]},
    )
    save_form(
        db,
        later,
        PAE,
        p2,
        visit="D1",
        form_id="AE",
        values={"AE": [ae("rash", "2025-03-10", 1, "not_related")]},
    )
    save_form(
        db,
        later,
        PAE,
        p2,
        visit="M3",
        form_id="AE",
        values={"AE": [ae("headache", "2025-04-01", 2, "unlikely")]},
    )
    failed = screened_at_visit(db, ctx, screened)
    screen_fail(db, ctx, PAE, failed, "withdrew before enrolment")
    return codes


def values(obs: tuple[Observation, ...], code: str, visit: str, item: str) -> list[Observation]:
    return [o for o in obs if (o.participant, o.visit, o.item) == (code, visit, item)]


def test_tables_hold_the_entered_values(db: Database, ctx: Context, screened: Screened) -> None:
    p1, p2 = fill(db, ctx, screened)
    data = tidy_tables(db, ctx, PAE)
    assert data.participants() == {p1: "G50", p2: "G100"}  # the screen failure is left out
    (base,) = values(data.observations, p1, "D1", "pasi")
    assert (base.value, base.day, base.role, base.instance) == ("4.6", 1, None, None)
    (scr,) = values(data.observations, p1, "SCR", "pasi")
    assert scr.day == -8  # screening 2025-03-03, injection 2025-03-11: no day 0
    (m3,) = values(data.observations, p2, "M3", "pasi")
    assert (m3.value, m3.day) == ("2.0", 91)
    area = values(data.observations, p1, "M3", "plaque_area")
    assert [(o.value, o.role, o.instance) for o in area] == [
        ("3.20", "treated", "1"),
        ("3.20", "control", "2"),
    ]
    (pregnant,) = values(data.observations, p1, "SCR", "pregnant")
    assert pregnant.value == "false"
    assert all(o.row == i for i, o in enumerate(data.observations, start=2))


def test_adverse_events(db: Database, ctx: Context, screened: Screened) -> None:
    p1, p2 = fill(db, ctx, screened)
    extract = tidy_extract(db, ctx, PAE)
    assert extract.data.adverse_events == (
        AdverseEvent(2, p1, "G50", "injection site pain", 1, False, True, 2, 91),
        AdverseEvent(3, p2, "G100", "headache", 2, False, False, 21, 91),
    )
    assert extract.notes == (
        "1 adverse event(s) left out: onset before day 1 (not treatment-emergent)",
    )
    assert p2 not in " ".join(extract.notes)


def test_study_endpoints_on_the_database(db: Database, ctx: Context, screened: Screened) -> None:
    fill(db, ctx, screened)
    specs = [ep for o in resolve_study(PAE).outcomes for ep in o.endpoints]
    arms = [a.id for a in resolve_study(PAE).arms]  # the protocol's (dose) order
    results = {r.name: r for r in analyse(specs, tidy_tables(db, ctx, PAE), arm_order=arms)}

    def rows(name: str, key: tuple[object, ...]) -> tuple[object, ...]:
        (row,) = [r for r in results[name].display_rows() if r[: len(key)] == key]
        return row

    assert rows("PASI change from baseline", ("G50", "M3"))[2:4] == (1, -4.0)
    assert rows("PASI change from baseline", ("G100", "M3"))[2:4] == (1, -2.6)
    assert rows("PASI improvement at month 3", ("G50", "mean % improvement"))[4] == 86.96
    assert rows("PASI improvement at month 3", ("G100", "mean % improvement"))[4] == 56.52
    assert rows("PASI improvement at month 3", ("G50", "pasi 75 (≥ 75%)"))[3] == 1
    assert rows("PASI improvement at month 3", ("G100", "pasi 75 (≥ 75%)"))[3] == 0
    assert rows("Redness treated minus control", ("G50", "M3"))[2:4] == (1, -2.0)
    assert rows("Redness treated minus control", ("G100", "M3"))[2:4] == (1, -1.0)
    # By arm, serious, related, worst grade: each arm 1 of 1; G50's event related, G100's not;
    # every cell for every arm (empty ones 0 of 1), events beside participants.
    none, one = (0, 1, 0.0, 0.0, 97.5, 0), (1, 1, 100.0, 2.5, 100.0, 1)
    assert results["Participants with adverse events"].display_rows() == (
        ("G50", "no", "no", 1, *none),
        ("G50", "no", "no", 2, *none),
        ("G50", "no", "yes", 1, *one),
        ("G50", "no", "yes", 2, *none),
        ("G100", "no", "no", 1, *none),
        ("G100", "no", "no", 2, *one),
        ("G100", "no", "yes", 1, *none),
        ("G100", "no", "yes", 2, *none),
    )
    # Days from the first dose (onset day - 1): G50 day 2 -> 1, G100 day 21 -> 20.
    assert [r[:4] for r in results["Time to the first adverse event"].rows] == [
        ("G50", 1.0, 1, 1),
        ("G100", 20.0, 1, 1),
    ]


def test_role_items_come_from_within_patient_endpoints() -> None:
    assert role_items(resolve_study(PAE)) == frozenset({"lesion_role"})


def test_unknown_study(db: Database, ctx: Context) -> None:
    with pytest.raises(NotFound):
        tidy_tables(db, ctx, "no-such-study")


def test_values_are_text_and_exact(db: Database, ctx: Context, screened: Screened) -> None:
    p1, _ = fill(db, ctx, screened)
    obs = tidy_tables(db, ctx, PAE).observations
    assert all(isinstance(o.value, str) for o in obs)
    (creatinine,) = values(obs, p1, "SCR", "creatinine")
    assert creatinine.value == "0.9"
    (onset,) = values(obs, p1, "D1", "ae_onset")
    assert (onset.value, onset.instance) == (date(2025, 3, 12).isoformat(), "1.1")
