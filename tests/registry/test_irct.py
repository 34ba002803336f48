from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from trialkit.errors import ImportFailed
from trialkit.protocol import check_study, dump_study, load_study_text
from trialkit.registry import IMPORT_NOTE, parse_irct

PSORIASIS_INCLUSION = [
    "Chronic plaque psoriasis for at least 6 months",
    "plaque Mild to severity of moderate (grade 1-3)",
    "PASI 3-12",
    "No response to standard treatments",
    "No incidence of new lesion or increase in size of previous lesions during past 3 months",
]
PSORIASIS_EXCLUSION = [
    "Other types of psoriasis include pustular, erythrodermic, gutate, and drug induced",
    "Immunosuppressive drugs over the past 4 weeks or topical medications other than "
    "moisturizing lotions in the 2 past weeks",
    "Severe underlying disease (including liver, kidney and heart failure), increased liver "
    "enzymes more than 3 times normal and creatinine more than 2",
    "high and uncontrolled blood pressure",
    "Pregnancy or lactation",
    "diabetes mellitus",
    "Hepatitis B, C or HIV",
    "Patients with immunodeficiency",
    "Patients with malignancy",
    "Disabling disease",
    "Systemic or injection site infection",
]


def test_psoriasis_criteria_split_exactly(psoriasis_path: Path) -> None:
    study = parse_irct(psoriasis_path.read_text(encoding="utf-8")).study
    inc = [c.text for c in study.eligibility if c.kind == "inclusion"]
    exc = [c.text for c in study.eligibility if c.kind == "exclusion"]
    assert inc == PSORIASIS_INCLUSION
    assert exc == PSORIASIS_EXCLUSION
    first = study.eligibility[0]
    assert (first.id, first.judgement_item, first.note) == ("INC01", "incl_01_met", IMPORT_NOTE)
    items = study.items()
    assert all(items[c.judgement_item or ""].judgement for c in study.eligibility)


def test_ibd_criteria_one_per_line(ibd_path: Path) -> None:
    study = parse_irct(ibd_path.read_text(encoding="utf-8")).study
    assert [(c.id, c.text) for c in study.eligibility] == [
        (
            "INC01",
            "Ulcerative colitis and/or Crohn's disease for at least 6 months with refractory, or "
            "intolerance, or contraindication to use with monoclonal antibodies",
        ),
        (
            "INC02",
            "Highly active Crohn's disease with a Crohn's disease index greater than 450 and/or a "
            "simple endoscopic score ≥ 8 (or ≥ 6 for isolated intestinal disease)",
        ),
        ("EXC01", "Using common immunomodulators in the past 4 weeks"),
    ]
    assert all(len(c.also_stated) == 1 for c in study.eligibility)


def test_check_reports_the_psoriasis_record_conflicts(psoriasis_path: Path) -> None:
    study = parse_irct(psoriasis_path.read_text(encoding="utf-8")).study
    found = check_study(study)
    warnings = {(d.path, d.message) for d in found if d.code == "REG.W001"}
    assert warnings == {
        ("eligibility.INC03", "criterion INC03: the registry states range 3–12 against 3–10"),
        (
            "eligibility.EXC02",
            "criterion EXC02: the registry states duration 4 weeks against 2 weeks",
        ),
        (
            "eligibility.INC05",
            "criterion INC05: the registry states duration 3 months against 6 months",
        ),
    }
    assert [d for d in found if d.severity == "error"] == []


def test_psoriasis_identity_design_and_arms(psoriasis_path: Path) -> None:
    result = parse_irct(psoriasis_path.read_text(encoding="utf-8"))
    s = result.study
    assert s.id == "irct20080901001159n29"
    reg = s.identity.registrations[0]
    assert (reg.registry, reg.id, reg.timing, reg.update_count) == (
        "IRCT",
        "IRCT20080901001159N29",
        "registered_while_recruiting",
        0,
    )
    assert reg.registered is not None
    assert (reg.registered.gregorian, reg.registered.solar_hijri) == (
        date(2020, 10, 5),
        "1399/07/14",
    )
    assert s.identity.phase == "1"
    assert [(c.name, c.icd10) for c in s.identity.conditions] == [("Psoriasis", "L40")]
    sponsor = s.identity.sponsors[0]
    assert (
        sponsor.funding_share_percent,
        sponsor.sector,
        sponsor.origin,
        sponsor.same_as_sponsor,
    ) == (
        Decimal(100),
        "public",
        "domestic",
        True,
    )
    assert [c.role.value for c in s.identity.contacts] == [
        "registrant",
        "general",
        "scientific",
        "updating",
    ]
    scientific = s.identity.contacts[2]
    assert (scientific.fax, scientific.email) == (None, "nilforoosh@sina.tums.ac.ir")
    assert s.identity.ethics[0].reference == "IR.TUMS.VCR.REC.1399.523"
    assert s.identity.sharing is not None
    assert s.identity.sharing.ipd == "undecided"
    d = s.design
    assert (d.allocation, d.intervention_model, d.masking.level, d.masking.placebo) == (
        "not_applicable",
        "parallel",
        "none",
        False,
    )
    assert (d.sample_size.target, d.sample_size.with_attrition) == (12, None)
    assert (d.age.minimum, d.age.maximum, d.sex) == (18, 65, "all")
    doses = [(a.id, a.interventions[0].dose.amount) for a in s.arms]
    assert doses == [("G1", Decimal(50)), ("G2", Decimal(100)), ("G3", Decimal(200))]
    iv = s.arms[0].interventions[0]
    assert (iv.route, iv.site, iv.product.kind, iv.dose.basis_item) == (
        "intradermal",
        "plaque",
        "exosomes",
        "plaque_area",
    )
    assert "plaque_area" in s.items()
    assert [v.offset.days for v in s.timeline.visits if v.anchor == "first_dose"] == [
        0,
        7,
        14,
        21,
        28,
        60,
        90,
    ]
    assert {a.topic for a in s.assumptions} >= {"visits", "arms"}
    assert [(o.id, o.kind) for o in s.outcomes] == [
        ("P1", "primary"),
        ("P2", "primary"),
        ("S1", "secondary"),
    ]


def test_ibd_design_schedule_and_unmapped(ibd_path: Path) -> None:
    result = parse_irct(ibd_path.read_text(encoding="utf-8"))
    s = result.study
    assert (s.design.sample_size.target, s.design.sample_size.with_attrition) == (12, 15)
    assert (s.design.age.minimum, s.design.age.maximum) == (18, 75)
    assert s.design.intervention_model == "single_group"
    assert s.identity.phase == "1-2"
    assert [c.icd10 for c in s.identity.conditions] == ["K51", "K50"]
    assert [sp.funding_source for sp in s.identity.sponsors] == [
        "Javidan Motaher Charity Foundation of Tehran",
        "Pharmed Behin Azma",
    ]
    iv = s.arms[0].interventions[0]
    assert (iv.route, iv.site, iv.dose.amount, iv.dose.unit) == (
        "intravenous",
        "central vein",
        1,
        "vial",
    )
    assert iv.infusion_duration is not None
    assert iv.infusion_duration.high == 10
    dosing = [(e.id, e.offset.days, e.offset.hours) for e in s.timeline.dosing]
    assert dosing == [
        ("D1_1", 0, 0),
        ("D1_2", 0, 8),
        ("D1_3", 0, 16),
        ("D2", 1, 0),
        ("D3", 2, 0),
        ("D10", 9, 0),
        ("D21", 20, 0),
    ]
    follow = [(v.anchor, v.offset.days) for v in s.timeline.visits if v.anchor == "last_dose"]
    assert follow == [("last_dose", 7), ("last_dose", 30), ("last_dose", 60), ("last_dose", 90)]
    assert any("line 13" in u for u in result.unmapped)
    assert any("1011 particles" in u for u in result.unmapped)
    assert s.identity.sharing is not None
    assert s.identity.sharing.analytic_code == "not_applicable"
    assert [d for d in check_study(s) if d.severity == "error"] == []


@pytest.mark.parametrize("fixture", ["psoriasis_path", "ibd_path"])
def test_draft_round_trips_through_yaml(fixture: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(fixture)
    study = parse_irct(path.read_text(encoding="utf-8")).study
    assert load_study_text(dump_study(study)) == study


def test_truncated_record_names_the_last_line_and_missing_section(psoriasis_path: Path) -> None:
    lines = psoriasis_path.read_text(encoding="utf-8").splitlines()
    half = "\n".join(lines[: len(lines) // 2])
    with pytest.raises(ImportFailed) as info:
        parse_irct(half)
    assert f"line {len(lines) // 2}" in str(info.value)
    assert "truncated" in str(info.value)
    assert "Sponsors / Funding sources" in str(info.value)


def test_bad_date_names_its_line(psoriasis_path: Path) -> None:
    text = psoriasis_path.read_text(encoding="utf-8").replace(
        "2020-06-17, 1399/03/28", "2020-13-17, 1399/03/28"
    )
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "2020-13-17" in t)
    with pytest.raises(ImportFailed, match=rf"line {line}: 'Approval date' '2020-13-17'"):
        parse_irct(text)


def test_bad_sample_size_names_its_line(ibd_path: Path) -> None:
    text = ibd_path.read_text(encoding="utf-8").replace(
        "Target sample size: **12**", "Target sample size: **twelve**"
    )
    with pytest.raises(ImportFailed, match=r"line 148: target sample size 'twelve'"):
        parse_irct(text)


def test_text_without_irct_layout_is_refused() -> None:
    with pytest.raises(ImportFailed, match="no IRCT section heading"):
        parse_irct("Iranian Registry of Clinical Trials\nnothing else here\n")


def test_a_loading_and_a_maintenance_dose_make_two_interventions(ibd_path: Path) -> None:
    text = ibd_path.read_text(encoding="utf-8")
    start = text.rindex("Intervention group: Injection of placental")
    end = text.index("\n", start)
    text = (
        text[:start]
        + (
            "Intervention group: Adalimumab, a loading dose of 160 mg subcutaneous injection on "
            "day 1, followed by 40 mg every other week"
        )
        + text[end:]
    )
    arm = parse_irct(text).study.arms[0]
    assert [
        (iv.id, iv.product.kind, iv.dose.amount if iv.dose else None) for iv in arm.interventions
    ] == [
        ("G1-IV-L", "biological", Decimal(160)),
        ("G1-IV-M", "biological", Decimal(40)),
    ]
