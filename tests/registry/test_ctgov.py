from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trialkit.checks import check_full
from trialkit.errors import ImportFailed
from trialkit.protocol import Severity, Study, check_study, dump_study, load_study_text
from trialkit.registry import parse_ctgov

Get = Callable[[str], Path]


def _load(get: Get, nct: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(get(nct).read_text(encoding="utf-8"))
    return data


def test_randomised_placebo_controlled_record(ctgov_path: Get) -> None:
    result = parse_ctgov(_load(ctgov_path, "NCT02210780"))
    s = result.study
    assert s.id == "nct02210780"
    assert [r.id for r in s.identity.registrations] == ["NCT02210780", "R668-AD-1314"]
    assert s.identity.phase == "2"
    d = s.design
    assert (d.allocation, d.intervention_model, d.masking.level, d.masking.placebo) == (
        "randomised",
        "parallel",
        "triple",
        True,
    )
    assert (d.sample_size.target, d.age.minimum, d.age.maximum, d.sex) == (194, 18, 64, "all")
    # a loading dose on day 1, then a weekly maintenance dose: two doses of one product
    doses = [
        (a.name, iv.id, iv.name, iv.dose.amount, iv.dose.unit)
        for a in s.arms
        for iv in a.interventions
        if iv.dose
    ]
    assert doses == [
        ("Placebo qw", "A1-IV1-L", "Placebo (loading dose)", Decimal(2), "injection"),
        ("Placebo qw", "A1-IV1-M", "Placebo (maintenance dose)", Decimal(1), "injection"),
        ("Dupilumab 300 mg qw", "A2-IV1-L", "Dupilumab (loading dose)", Decimal(600), "mg"),
        ("Dupilumab 300 mg qw", "A2-IV1-M", "Dupilumab (maintenance dose)", Decimal(300), "mg"),
    ]
    assert all(a.interventions[0].route == "subcutaneous" for a in s.arms)
    kinds = [c.kind for c in s.eligibility]
    assert kinds == ["inclusion"] * 5 + ["exclusion"] * 7
    assert s.eligibility[6].text.startswith("Patients needing >10 mg of daily prednisone")
    assert [o.kind for o in s.outcomes] == ["primary"] + ["secondary"] * 10
    assert s.outcomes[0].timepoint == "Week 16"
    assert any("not all inclusion/ exclusion criteria are listed" in u for u in result.unmapped)
    assert any("resultsSection" in u for u in result.unmapped)
    assert [d for d in check_study(s) if d.severity == "error"] == []
    assert load_study_text(dump_study(s)) == s


def _codes(s: Study) -> dict[str, Severity]:
    return {d.code: d.severity for d in check_full(s)}


def test_device_record_becomes_a_draft_with_dose_free_device_arms(ctgov_path: Get) -> None:
    result = parse_ctgov(_load(ctgov_path, "NCT04207047"))
    s = result.study
    assert (s.identity.study_type, s.identity.phase) == ("interventional", "N/A")
    assert (s.design.allocation, s.design.intervention_model) == ("non_randomised", "single_group")
    assert [(a.id, a.name, a.type) for a in s.arms] == [
        ("A1", "Group A", "experimental"),
        ("A2", "Group B", "experimental"),
        ("A3", "Group C", "experimental"),
        ("A4", "Group D", "experimental"),
    ]
    assert [iv.name for iv in s.arms[3].interventions] == [
        "Genius",
        "eC02",
        "PicoPlus",
        "LaseMD",
        "LaseMD Flex",
    ]
    ivs = [iv for a in s.arms for iv in a.interventions]
    assert {(iv.product.kind, iv.dose, iv.category) for iv in ivs} == {("device", None, "device")}
    assert s.arms[1].description is not None
    assert s.arms[1].description.startswith("Group B (up to n=5): Genius exposure 30+7 days")
    assert s.timeline.dosing == []
    # a device needs no dose, so nothing about doses is reported
    assert not any("dose of" in u for u in result.unmapped)
    # the check names the draft's gaps: nothing scheduled to give, outcomes without endpoints
    codes = _codes(s)
    assert codes == {"SCHED.W011": Severity.WARNING, "OUT.W006": Severity.WARNING}
    assert load_study_text(dump_study(s)) == s


def test_device_record_maps_no_maximum_age_to_none(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT04207047")
    arms = data["protocolSection"]["armsInterventionsModule"]["armGroups"]
    arms[0]["description"] = "Genius exposure of one injection of 2 mg"
    s = parse_ctgov(data).study
    assert (s.design.age.minimum, s.design.age.maximum) == (18, None)
    assert s.design.allocation == "non_randomised"
    dose = s.arms[0].interventions[0].dose
    assert dose is not None
    assert (dose.amount, dose.unit) == (Decimal(2), "mg")
    assert [a.interventions[0].dose for a in s.arms[1:]] == [None] * 3
    assert s.identity.sharing is not None
    assert s.identity.sharing.ipd == "no"


def test_observational_record_becomes_a_draft_without_arms(ctgov_path: Get) -> None:
    result = parse_ctgov(_load(ctgov_path, "NCT05594173"))
    s = result.study
    assert s.identity.study_type == "observational"
    assert s.identity.phase == "N/A"
    d = s.design
    assert (d.allocation, d.intervention_model, d.time_perspective) == (
        "not_applicable",
        "cohort",
        "prospective",
    )
    assert (d.masking.level, d.sample_size.target) == ("none", 20)
    assert s.arms == []
    assert [a.id for a in s.timeline.anchors] == ["consent", "enrolment"]
    assert (s.timeline.origin, s.timeline.dosing) == ("enrolment", [])
    assert [c.kind for c in s.eligibility][:2] == ["inclusion", "exclusion"]
    assert s.eligibility[0].text == "Healthy adults under age 60"
    assert any(
        u.startswith("intervention 'Other: Food texture modification' belongs to no arm group")
        for u in result.unmapped
    )
    assert any("resultsSection" in u for u in result.unmapped)
    assert not any("dosing schedule" in u for u in result.unmapped)
    codes = _codes(s)
    assert codes == {"OUT.W006": Severity.WARNING}
    assert load_study_text(dump_study(s)) == s


def test_observational_arm_groups_become_cohort_arms(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT05594173")
    module = data["protocolSection"]["armsInterventionsModule"]
    module["armGroups"] = [
        {"label": "Healthy adults", "interventionNames": ["Other: Food texture modification"]},
        {"label": "Controls", "description": "no texture change"},
    ]
    result = parse_ctgov(data)
    s = result.study
    assert [(a.name, a.type) for a in s.arms] == [
        ("Healthy adults", "other"),
        ("Controls", "other"),
    ]
    iv = s.arms[0].interventions[0]
    assert (iv.name, iv.product.kind, iv.dose) == ("Food texture modification", "other", None)
    assert s.arms[1].interventions == []
    assert not any("belongs to no arm group" in u for u in result.unmapped)
    codes = _codes(s)
    assert "STUDY.E002" not in codes
    assert "ARM.E003" not in codes
    assert codes["DOSE.W007"] is Severity.WARNING


def test_drug_arm_without_a_readable_dose_is_an_error_of_the_draft(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT02210780")
    module = data["protocolSection"]["armsInterventionsModule"]
    for entry in [*module["armGroups"], *module["interventions"]]:
        entry["description"] = "given every week"
    result = parse_ctgov(data)
    s = result.study
    assert [iv.dose for a in s.arms for iv in a.interventions] == [None, None]
    assert any("no dose of 'Dupilumab' could be read" in u for u in result.unmapped)
    errors = [d for d in check_full(s) if d.severity is Severity.ERROR]
    assert [(d.code, d.path) for d in errors] == [
        ("DOSE.E006", "arms.A1.interventions.A1-IV1.dose"),
        ("DOSE.E006", "arms.A2.interventions.A2-IV1.dose"),
    ]


def test_no_intervention_arm_is_kept_without_interventions(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT02210780")
    groups = data["protocolSection"]["armsInterventionsModule"]["armGroups"]
    groups[0].update(type="NO_INTERVENTION", interventionNames=[])
    s = parse_ctgov(data).study
    assert (s.arms[0].type, s.arms[0].interventions) == ("no_intervention", [])
    assert "ARM.E003" not in _codes(s)


def test_record_without_arm_groups_reports_study_e002(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT02210780")
    del data["protocolSection"]["armsInterventionsModule"]["armGroups"]
    result = parse_ctgov(data)
    assert result.study.arms == []
    assert _codes(result.study)["STUDY.E002"] is Severity.ERROR
    assert sum("belongs to no arm group" in u for u in result.unmapped) == 2


def test_expanded_access_record_is_refused_clearly(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT05594173")
    data["protocolSection"]["designModule"]["studyType"] = "EXPANDED_ACCESS"
    with pytest.raises(ImportFailed, match="NCT05594173 is a study of type EXPANDED_ACCESS") as e:
        parse_ctgov(data)
    assert e.value.code == "IMPORT.E032"


def test_unknown_observational_model_is_reported(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT05594173")
    data["protocolSection"]["designModule"]["designInfo"]["observationalModel"] = "PANEL"
    result = parse_ctgov(data)
    assert result.study.design.intervention_model == "other"
    assert "design: observational model 'PANEL' is not known; set as 'other'" in result.unmapped


def test_missing_protocol_section_names_the_field() -> None:
    with pytest.raises(ImportFailed, match=r"field protocolSection: is missing"):
        parse_ctgov({"resultsSection": {}})


def test_not_an_object_is_refused() -> None:
    with pytest.raises(ImportFailed, match=r"expected an object, found list"):
        parse_ctgov([1, 2])


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("designModule", "enrollmentInfo", "count"),
            "194",
            r"enrollmentInfo.count: expected a whole number",
        ),
        (
            ("designModule", "enrollmentInfo", "count"),
            True,
            r"enrollmentInfo.count: expected a whole number",
        ),
        (("identificationModule", "nctId"), 2210780, r"identificationModule.nctId: expected text"),
        (("eligibilityModule", "minimumAge"), "eighteen", r"minimumAge: 'eighteen' is not an age"),
        (
            ("statusModule", "studyFirstSubmitDate"),
            "2014-02-30",
            r"studyFirstSubmitDate: '2014-02-30'",
        ),
        (("armsInterventionsModule", "armGroups"), {"a": 1}, r"armGroups: expected a list"),
    ],
)
def test_wrong_types_name_the_json_path(
    ctgov_path: Get, path: tuple[str, ...], value: object, message: str
) -> None:
    data = _load(ctgov_path, "NCT02210780")
    node = data["protocolSection"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ImportFailed, match=message):
        parse_ctgov(data)
