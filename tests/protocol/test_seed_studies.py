"""Each shipped study pinned against its registry record (shared/seeds)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from trialkit.checks import check_full
from trialkit.protocol import DataType, Severity, Study, resolve_study, shipped_studies

PSO = "psoriasis-adipose-exosomes"
IBD = "ibd-placental-exosomes"
UCM = "psoriasis-ucmsc"


@pytest.fixture(scope="module")
def studies() -> dict[str, Study]:
    return {s: resolve_study(s) for s in (PSO, IBD, UCM)}


def test_three_studies_ship() -> None:
    names = [name for name, _ in shipped_studies()]
    assert names == [f"{IBD}.yaml", f"{PSO}.yaml", f"{UCM}.yaml"]


@pytest.mark.parametrize(
    ("ref", "study_id"),
    [
        ("IRCT20080901001159N29", PSO),
        ("irct20230801058996n5", IBD),
        ("NCT03745417", UCM),
        (PSO, PSO),
    ],
)
def test_resolve_by_registry_id(ref: str, study_id: str) -> None:
    assert resolve_study(ref).id == study_id


@pytest.mark.parametrize("study_id", [PSO, IBD, UCM])
def test_no_errors_on_shipped_studies(studies: dict[str, Study], study_id: str) -> None:
    errors = [d for d in check_full(studies[study_id]) if d.severity is Severity.ERROR]
    assert errors == []


@pytest.mark.parametrize("study_id", [PSO, IBD, UCM])
def test_every_criterion_is_computable_or_a_judgement(
    studies: dict[str, Study], study_id: str
) -> None:
    study = studies[study_id]
    items = study.items()
    screening = {i.name for i in study.form(study.screening_form).items()}  # type: ignore[union-attr]
    for crit in study.eligibility:
        assert crit.expression or crit.judgement_item, crit.id
        if crit.judgement_item:
            item = items[crit.judgement_item]
            assert item.data_type is DataType.BOOLEAN
            assert item.judgement, f"{crit.id}: {item.name} should be marked as a judgement"
            assert item.name in screening


def test_psoriasis_exosomes_against_its_record(studies: dict[str, Study]) -> None:
    s = studies[PSO]
    reg = s.identity.registrations[0]
    assert reg.id == "IRCT20080901001159N29"
    assert reg.registered is not None
    assert reg.registered.gregorian == date(2020, 10, 5)
    assert reg.registered.solar_hijri == "1399/07/14"
    assert s.identity.ethics[0].reference == "IR.TUMS.VCR.REC.1399.523"
    assert s.identity.ethics[0].approved is not None
    assert s.identity.ethics[0].approved.solar_hijri == "1399/03/28"
    assert [c.icd10 for c in s.identity.conditions] == ["L40"]
    assert s.identity.phase == "1"
    # 6 inclusion and 14 exclusion items in the detailed criteria and the age field.
    kinds = [c.kind for c in s.eligibility]
    assert kinds.count("inclusion") == 6
    assert kinds.count("exclusion") == 14
    # Design: 3 parallel dose groups of 4, lowest first, within-patient untreated control.
    assert s.design.sample_size.target == 12
    assert s.design.intervention_model == "parallel"
    assert s.design.cohorts is not None
    assert s.design.cohorts.order == ["G50", "G100", "G200"]
    assert s.design.cohorts.cohort_size == 4
    assert (s.design.age.minimum, s.design.age.maximum) == (18, 65)
    doses = {a.id: a.interventions[0].dose for a in s.arms}
    assert {k: d.amount for k, d in doses.items()} == {
        "G50": Decimal(50),
        "G100": Decimal(100),
        "G200": Decimal(200),
    }
    for dose in doses.values():
        assert (dose.unit, dose.per, dose.basis_item) == ("ug", "cm2", "plaque_area")
        assert dose.volume is not None
        assert dose.volume.amount == Decimal("0.5")
        assert dose.volume.unit == "mL"
    assert {a.interventions[0].route for a in s.arms} == {"intradermal"}
    # Weekly to one month, then monthly to three months, after a single injection.
    visits = {v.id: v for v in s.timeline.visits}
    assert [(v.id, v.offset.days) for v in s.timeline.visits if v.anchor == "first_dose"] == [
        ("D1", 0),
        ("W1", 7),
        ("W2", 14),
        ("W3", 21),
        ("M1", 28),
        ("M2", 60),
        ("M3", 90),
    ]
    assert (visits["W1"].window.lower, visits["W1"].window.upper) == (-2, 2)
    assert [d.id for d in s.timeline.dosing] == ["INJ"]
    # Outcomes: pain and redness primary, lesion grade secondary.
    assert [(o.id, o.kind, o.description) for o in s.outcomes[:3]] == [
        ("P1", "primary", "Pain"),
        ("P2", "primary", "Redness severity"),
        ("S1", "secondary", "Lesion severity (grade 1-3)"),
    ]
    lesion = s.form("LESION")
    assert lesion is not None
    assert lesion.groups[0].repeating
    assert lesion.groups[0].max_repeats == 2


def test_ibd_exosomes_against_its_record(studies: dict[str, Study]) -> None:
    s = studies[IBD]
    assert s.identity.registrations[0].id == "IRCT20230801058996N5"
    assert s.identity.phase == "1-2"
    assert (s.design.sample_size.target, s.design.sample_size.with_attrition) == (12, 15)
    assert s.design.intervention_model == "single_group"
    assert (s.design.age.minimum, s.design.age.maximum) == (18, 75)
    assert [c.icd10 for c in s.identity.conditions] == ["K51", "K50"]
    assert [sp.funding_share_percent for sp in s.identity.sponsors] == [Decimal(50), Decimal(50)]
    assert len(s.eligibility) == 4
    # Day 1: three vials 8 h apart; then one vial on days 2, 3, 10 and 21.
    dosing = [(d.id, d.offset.days + 1, d.offset.hours) for d in s.timeline.dosing]
    assert dosing == [
        ("D1A", 1, 0),
        ("D1B", 1, 8),
        ("D1C", 1, 16),
        ("D2", 2, 0),
        ("D3", 3, 0),
        ("D10", 10, 0),
        ("D21", 21, 0),
    ]
    follow_up = [(v.id, v.offset.days) for v in s.timeline.visits if v.anchor == "last_dose"]
    assert follow_up == [("FU7", 7), ("FU30", 30), ("FU60", 60), ("FU90", 90)]
    iv = s.arms[0].interventions[0]
    assert (iv.route, iv.site) == ("intravenous", "central vein")
    assert iv.infusion_duration is not None
    assert (iv.infusion_duration.low, iv.infusion_duration.high) == (5, 10)
    assert iv.product.source == "placental mesenchymal stem cells"
    assert iv.product.vials_per_content == 3
    assert [o.kind for o in s.outcomes] == ["primary", "primary", "secondary"]


def test_ucmsc_against_its_record(studies: dict[str, Study]) -> None:
    s = studies[UCM]
    assert s.design.sample_size.target == 5
    assert s.design.intervention_model == "single_group"
    dose = s.arms[0].interventions[0].dose
    assert (dose.amount, dose.unit, dose.per, dose.basis_item) == (
        Decimal(2_000_000),
        "cells",
        "kg",
        "weight",
    )
    assert [d.offset.days // 7 for d in s.timeline.dosing] == [0, 2, 4, 6, 8]
    fu = next(v for v in s.timeline.visits if v.id == "FU12")
    assert (fu.anchor, fu.offset.days, fu.window.lower, fu.window.upper) == ("last_dose", 84, -3, 3)
    primary = s.outcomes[0]
    assert primary.kind == "primary"
    ep = primary.endpoints[0]
    assert ep.type == "percent_improvement"
    assert [c.expression for c in s.eligibility] == [
        "pasi > 7 or bsa_percent > 10",
        "age between 18 and 65",
    ]


def test_registry_conflicts_reported_with_both_passages(studies: dict[str, Study]) -> None:
    found = {d.path: d for d in check_full(studies[PSO]) if d.code == "REG.W001"}
    assert set(found) == {"eligibility.I3", "eligibility.E2", "eligibility.I5"}
    assert "range 3–12 against 3–10" in found["eligibility.I3"].message
    assert "4 weeks against 2 weeks" in found["eligibility.E2"].message
    assert "3 months against 6 months" in found["eligibility.I5"].message
    for diag in found.values():
        assert diag.severity is Severity.WARNING
        assert len(diag.cites) == 2
        assert diag.cites[1].startswith("Protocol summary: ")
