from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trialkit.errors import ImportFailed
from trialkit.protocol import check_study, dump_study, load_study_text
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
    doses = [(a.name, a.interventions[0].dose.amount, a.interventions[0].dose.unit) for a in s.arms]
    assert doses == [
        ("Placebo qw", Decimal(1), "injection"),
        ("Dupilumab 300 mg qw", Decimal(300), "mg"),
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


def test_device_record_without_doses_is_refused_clearly(ctgov_path: Get) -> None:
    with pytest.raises(ImportFailed) as info:
        parse_ctgov(_load(ctgov_path, "NCT04207047"))
    assert info.value.code == "IMPORT.E030"
    assert "no arm of this record states an intervention with a dose" in str(info.value)


def test_device_record_maps_no_maximum_age_to_none(ctgov_path: Get) -> None:
    data = _load(ctgov_path, "NCT04207047")
    arms = data["protocolSection"]["armsInterventionsModule"]["armGroups"]
    arms[0]["description"] = "Genius exposure of one injection of 2 mg"
    s = parse_ctgov(data).study
    assert (s.design.age.minimum, s.design.age.maximum) == (18, None)
    assert s.design.allocation == "non_randomised"
    assert [a.name for a in s.arms] == ["Group A"]
    assert s.identity.sharing is not None
    assert s.identity.sharing.ipd == "no"


def test_observational_record_is_refused_clearly(ctgov_path: Get) -> None:
    with pytest.raises(ImportFailed, match="NCT05594173 is an observational study"):
        parse_ctgov(_load(ctgov_path, "NCT05594173"))


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
