"""Each check code, triggered by one deliberate mistake in an otherwise valid study."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from trialkit.protocol import CODES, Study, check_study
from trialkit.protocol.loader import _ExactLoader, shipped_studies

DOCS = Path(__file__).parents[2] / "docs" / "checks.md"


def _data(name: str = "psoriasis-adipose-exosomes.yaml") -> dict[str, Any]:
    data = yaml.load(dict(shipped_studies())[name], Loader=_ExactLoader)
    assert isinstance(data, dict)
    return data


def _visit(data: dict[str, Any], vid: str) -> dict[str, Any]:
    return next(v for v in data["timeline"]["visits"] if v["id"] == vid)


def _screen_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    form = next(f for f in data["forms"] if f["id"] == "SCREEN")
    items: list[dict[str, Any]] = form["groups"][1]["items"]
    return items


def _group(data: dict[str, Any], form_id: str, group_id: str) -> dict[str, Any]:
    form = next(f for f in data["forms"] if f["id"] == form_id)
    group: dict[str, Any] = next(g for g in form["groups"] if g["id"] == group_id)
    return group


def _lesions(data: dict[str, Any]) -> dict[str, Any]:
    return _group(data, "LESION", "LESIONS")


def _rename_anchor(data: dict[str, Any], old: str, new: str) -> None:
    """Rename an anchor everywhere but in the endpoints that count from it."""
    timeline = data["timeline"]
    if timeline["origin"] == old:
        timeline["origin"] = new
    for entry in [*timeline["anchors"], *timeline["dosing"], *timeline["visits"]]:
        for key in ("id", "anchor"):
            if entry.get(key) == old:
                entry[key] = new


def _no_dose(data: dict[str, Any], kind: str | None = None) -> None:
    """Drop the first arm's dose (and make its product of ``kind``)."""
    iv = data["arms"][0]["interventions"][0]
    del iv["dose"]
    if kind is not None:
        iv["product"]["kind"] = kind


def _randomised(data: dict[str, Any], **spec: Any) -> None:
    """Make the study a randomised one (no cohorts) with the randomisation ``spec``."""
    data["design"].pop("cohorts", None)
    data["design"]["allocation"] = "randomised"
    if spec:
        data["design"]["randomisation"] = spec


Mutation = Callable[[dict[str, Any]], None]

CASES: dict[str, Mutation] = {
    "STUDY.E001": lambda d: d.update(screening_form="NOPE"),
    "STUDY.E002": lambda d: d.update(arms=[]),
    "ARM.E001": lambda d: d["arms"][1].update(id="G50"),
    "ARM.E002": lambda d: d["arms"][1]["interventions"][0].update(id="ADEXO50"),
    "ARM.E003": lambda d: d["arms"][0].update(interventions=[]),
    "DES.E001": lambda d: d["design"]["cohorts"].update(order=["G50", "G100", "G999"]),
    "DES.W002": lambda d: d["design"]["cohorts"].update(cohort_size=3),
    "DES.W003": lambda d: d["arms"][0].update(planned_size=5),
    "DES.W004": lambda d: d["design"].update(intervention_model="cohort"),
    "SCHED.E001": lambda d: _visit(d, "W2").update(id="W1"),
    "SCHED.E002": lambda d: _visit(d, "M3").update(window={"lower": 3, "upper": -5}),
    "SCHED.E003": lambda d: _visit(d, "W2").update(anchor="randomisation"),
    "SCHED.E004": lambda d: _visit(d, "W2")["forms"].append("NOFORM"),
    "SCHED.E005": lambda d: _visit(d, "W2").update(dosing=["NODOSE"]),
    "SCHED.W006": lambda d: _visit(d, "W2").update(window={"lower": -7, "upper": 2}),
    "SCHED.W007": lambda d: _visit(d, "D1").update(dosing=[]),
    "SCHED.E008": lambda d: d["timeline"]["dosing"].append(dict(d["timeline"]["dosing"][0])),
    "SCHED.E009": lambda d: d["timeline"]["anchors"].append(dict(d["timeline"]["anchors"][0])),
    "SCHED.W011": lambda d: [
        d["timeline"].update(dosing=[]),
        [v.update(dosing=[]) for v in d["timeline"]["visits"]],
    ],
    "SCHED.E010": lambda d: d["timeline"]["dosing"][0].update(
        window_hours={"lower": 2, "upper": 1}
    ),
    "FORM.E001": lambda d: d["forms"][1].update(id="CONSENT"),
    "FORM.W002": lambda d: [_visit(d, v)["forms"].remove("INJECTION") for v in ["D1"]],
    "FORM.E003": lambda d: _screen_items(d)[0].update(data_type="code", codelist="NOLIST"),
    "FORM.E004": lambda d: _screen_items(d).append(dict(_screen_items(d)[0])),
    "FORM.E005": lambda d: d["forms"][1]["groups"].append(dict(d["forms"][1]["groups"][0])),
    "FORM.E006": lambda d: _screen_items(d).append(
        {"name": "alt", "label": "ALT as text", "data_type": "text"}
    ),
    "FORM.E008": lambda d: d["forms"][4]["groups"][0]["items"].append(
        {"name": "sex", "label": "Sex again", "data_type": "code", "codelist": "LESION_ROLE"}
    ),
    "FORM.E007": lambda d: _screen_items(d).append(
        {"name": "x_unit", "label": "x", "data_type": "decimal", "unit": "furlongs"}
    ),
    "GROUP.E001": lambda d: _group(d, "VITALS", "VS").update(min_repeats=1),
    "GROUP.E002": lambda d: _lesions(d).update(min_repeats=3),
    "GROUP.E003": lambda d: _lesions(d).update(unique=["lesion_side"]),
    "GROUP.E004": lambda d: _lesions(d)["exactly_once"].append(
        {"item": "lesion_role", "value": "untreated"}
    ),
    "GROUP.E005": lambda d: _lesions(d).update(max_repeats=1, min_repeats=1),
    "CONSENT.E001": lambda d: d["forms"][1].update(consent=d["forms"][0]["consent"]),
    "CONSENT.E002": lambda d: d["forms"][0]["consent"].update(date="consent_form_version"),
    "CONSENT.E003": lambda d: [
        v["forms"].remove("CONSENT") for v in d["timeline"]["visits"] if "CONSENT" in v["forms"]
    ],
    "DOSE.E001": lambda d: d["arms"][0]["interventions"][0]["dose"].update(unit="spoonfuls"),
    "DOSE.E002": lambda d: d["arms"][0]["interventions"][0]["dose"].update(per="acre"),
    "DOSE.E003": lambda d: d["arms"][0]["interventions"][0]["dose"].update(
        basis_item="lesion_area"
    ),
    "DOSE.E004": lambda d: d["arms"][0]["interventions"][0]["dose"].update(per="kg"),
    "DOSE.E005": lambda d: d["arms"][0]["interventions"][0]["dose"].update(
        volume={"amount": 1, "unit": "mg"}
    ),
    "DOSE.E006": _no_dose,
    "DOSE.W007": lambda d: _no_dose(d, "other"),
    "DOSE.E008": lambda d: d["timeline"]["administration"].update(amount="exosomes_given"),
    "DOSE.E009": lambda d: _visit(d, "D1")["forms"].remove("INJECTION"),
    "DOSE.E010": lambda d: d["arms"][0]["interventions"][0]["dose"].update(
        basis_where={"lesion_role": "healed"}
    ),
    "ELIG.E001": lambda d: d["eligibility"][1].update(id="I1"),
    "ELIG.E002": lambda d: d["eligibility"][3].update(judgement_item="no_such_item"),
    "ELIG.E003": lambda d: d["eligibility"][3].update(judgement_item="age"),
    "OUT.E001": lambda d: d["outcomes"][0]["endpoints"][0].update(item="itch"),
    "OUT.E002": lambda d: d["outcomes"][0]["endpoints"][0].update(visits=["W1", "W52"]),
    "OUT.E003": lambda d: _rename_anchor(d, "first_dose", "injection_day"),
    "OUT.E004": lambda d: d["outcomes"][1].update(id="P1"),
    "OUT.E005": lambda d: d["outcomes"][5]["endpoints"][0].update(doses=["G50", "G400"]),
    "OUT.W006": lambda d: d["outcomes"][0].update(endpoints=[]),
    "OUT.E007": lambda d: d["outcomes"][5]["endpoints"][0].update(
        score="boin12_desirability", utilities=[90, 40, 60, 0]
    ),
    "REF.E001": lambda d: d["reference_ranges"].append({"item": "ggt", "unit": "U/L", "upper": 60}),
    "REF.E002": lambda d: d["reference_ranges"][2].update(unit="umol/L"),
    "SAFE.E001": lambda d: d["safety"]["stopping_rules"][1].update(id="S1"),
    "REG.W001": lambda d: None,  # the shipped record itself conflicts
    "ALLOC.E001": lambda d: _randomised(d, method="simple", ratio={"G50": 1, "G400": 1}),
    "ALLOC.E002": lambda d: _randomised(d, method="permuted_blocks", block_sizes=[4]),
    "ALLOC.E003": lambda d: _randomised(d, method="minimisation"),
    "ALLOC.E004": lambda d: _randomised(
        d,
        method="stratified_blocks",
        block_sizes=[6],
        factors=[{"name": "erythema", "source": "erythema", "levels": ["0", "1"]}],
    ),
    "ALLOC.W005": lambda d: _randomised(d),
    "ALLOC.E006": lambda d: [
        d["design"].pop("cohorts"),
        d["design"].update(randomisation={"method": "simple"}),
    ],
    "ALLOC.E007": lambda d: d["design"].update(
        allocation="randomised", randomisation={"method": "simple"}
    ),
    "ALLOC.E008": lambda d: _randomised(
        d,
        method="minimisation",
        factors=[{"name": "age_band", "source": "age", "levels": ["young", "old"]}],
    ),
    "ALLOC.E009": lambda d: _randomised(d, method="simple", ratio={"G50": 1}),
}


def test_every_code_has_a_case() -> None:
    assert set(CASES) == set(CODES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_is_reported(code: str) -> None:
    data = _data()
    CASES[code](data)
    found = check_study(Study.model_validate(data))
    assert code in {d.code for d in found}, [str(d) for d in found]
    diag = next(d for d in found if d.code == code)
    assert diag.message
    assert diag.severity.value == {"E": "error", "W": "warning"}[code.split(".")[1][0]]


def test_shipped_psoriasis_study_has_only_the_registry_warnings() -> None:
    found = check_study(Study.model_validate(_data()))
    assert {d.code for d in found} == {"REG.W001"}


def test_empty_window_message_says_how_to_fix() -> None:
    data = _data()
    _visit(data, "M3").update(window={"lower": -3, "upper": -5})
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "SCHED.E002"]
    assert str(found[0]) == (
        "error SCHED.E002 at timeline.visits.M3.window: visit M3: window -3 d to -5 d is empty "
        "(the lower bound must come first)"
    )


def test_extra_checkers_are_run() -> None:
    from trialkit.protocol import Diagnostic, Severity

    def extra(study: Study) -> list[Diagnostic]:
        return [Diagnostic("EXTRA.E001", Severity.ERROR, "x", f"{study.id} extra")]

    found = check_study(Study.model_validate(_data()), extra=[extra])
    assert found[0].code == "EXTRA.E001"


def test_the_shipped_group_rules_are_clean_and_each_mistake_names_the_fix() -> None:
    for name, _ in shipped_studies():
        found = check_study(Study.model_validate(_data(name)))
        assert not [d for d in found if d.code in {f"GROUP.E00{n}" for n in range(1, 6)}], name
    data = _data()
    _lesions(data)["exactly_once"].append({"item": "lesion_role", "value": "treated"})
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "GROUP.E005"]
    assert [(d.path, d.message) for d in found] == [
        (
            "forms.LESION.groups.LESIONS.exactly_once",
            "item group LESIONS: lesion_role = treated is listed twice",
        )
    ]
    data = _data()
    _lesions(data)["exactly_once"][1]["value"] = "untreated"
    (diag,) = [d for d in check_study(Study.model_validate(data)) if d.code == "GROUP.E004"]
    assert diag.message == "item group LESIONS: lesion_role has no code 'untreated'"
    assert diag.hint == "use one of: control, treated"


def test_every_code_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Z]+\.[EWI]\d{3})`", text))
    missing = set(CODES) - documented
    assert not missing, f"docs/checks.md lacks {sorted(missing)}"


def test_instrument_codes_are_documented() -> None:
    from trialkit.instruments.from_study import CODES as INSTRUMENT_CODES

    text = DOCS.read_text(encoding="utf-8")
    assert all(f"`{code}`" in text for code in INSTRUMENT_CODES)


# -- drafts: what may be missing, and what must not be ------------------------------------------


def _codes(data: dict[str, Any]) -> set[str]:
    return {d.code for d in check_study(Study.model_validate(data))}


def test_device_without_dose_is_not_a_finding() -> None:
    data = _data()
    _no_dose(data, "device")
    assert _codes(data) == {"REG.W001"}


@pytest.mark.parametrize("kind", ["drug", "cells", "exosomes"])
def test_dosed_kinds_without_dose_are_errors(kind: str) -> None:
    data = _data()
    _no_dose(data, kind)
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "DOSE.E006"]
    assert [d.path for d in found] == ["arms.G50.interventions.ADEXO50.dose"]
    assert str(found[0]).startswith(
        "error DOSE.E006 at arms.G50.interventions.ADEXO50.dose: intervention ADEXO50 "
    )
    assert f", {kind}) of arm G50 has no dose rule" in found[0].message


def test_a_dose_free_intervention_skips_the_dose_unit_checks() -> None:
    data = _data()
    _no_dose(data, "drug")
    assert not {"DOSE.E001", "DOSE.E002", "DOSE.E003"} & _codes(data)


@pytest.mark.parametrize(
    ("arm_type", "expected"),
    [
        ("experimental", True),
        ("active_comparator", True),
        ("placebo_comparator", True),
        ("no_intervention", False),
        ("other", False),
    ],
)
def test_arm_without_intervention_by_type(arm_type: str, expected: bool) -> None:
    data = _data()
    data["arms"][0].update(interventions=[], type=arm_type)
    assert ("ARM.E003" in _codes(data)) is expected


def _observational(data: dict[str, Any], model: str = "cohort") -> None:
    data["identity"]["study_type"] = "observational"
    data["design"].update(intervention_model=model, allocation="not_applicable", cohorts=None)


def test_observational_study_may_have_no_arm() -> None:
    data = _data()
    _observational(data)
    data["arms"] = []
    codes = _codes(data)
    assert not {"STUDY.E002", "DES.W003", "DES.W004"} & codes


def test_observational_study_with_an_interventional_model_is_warned() -> None:
    data = _data()
    _observational(data, "parallel")
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "DES.W004"]
    assert "use one of: cohort, case_control" in (found[0].hint or "")


def test_no_arm_in_an_interventional_study_says_how_to_fix() -> None:
    data = _data()
    data["arms"] = []
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "STUDY.E002"]
    assert str(found[0]) == (
        "error STUDY.E002 at arms: the study is interventional but defines no arm (add an arm "
        "with its interventions and doses, or set identity.study_type to observational)"
    )
    assert "DES.W003" not in _codes(data)


def test_intervention_models_are_the_interventional_and_observational_ones() -> None:
    from typing import get_args

    from trialkit.protocol import INTERVENTIONAL_MODELS, OBSERVATIONAL_MODELS, InterventionModel

    assert set(get_args(InterventionModel)) == {*INTERVENTIONAL_MODELS, *OBSERVATIONAL_MODELS}
    assert not set(INTERVENTIONAL_MODELS) & set(OBSERVATIONAL_MODELS)


# -- randomisation -------------------------------------------------------------------------------

_MINIMISATION: dict[str, Any] = {
    "method": "minimisation",
    "ratio": {"G50": 1, "G100": 1},
    "factors": [
        {"name": "site", "source": "site"},
        {"name": "sex", "source": "sex", "levels": ["female", "male"]},
        {"name": "pasi_band", "source": "pasi", "cut_points": [10, 20], "weight": 2},
        {"name": "diabetic", "source": "diabetes", "levels": ["yes", "no"]},
    ],
    "probability": "0.8",
    "text": "Minimisation on site, sex, baseline PASI and diabetes, p = 0.8.",
}


def test_a_well_formed_randomisation_has_no_allocation_finding() -> None:
    data = _data()
    _randomised(data, **_MINIMISATION)
    assert not {c for c in _codes(data) if c.startswith("ALLOC.")}


def test_a_pasi_factor_reads_the_pasi_form_of_the_screening_visit() -> None:
    data = _data()
    _randomised(data, **_MINIMISATION)
    _visit(data, "SCR")["forms"].remove("PASI")
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "ALLOC.E004"]
    assert [d.path for d in found] == ["design.randomisation.factors.pasi_band"]
    assert "factor pasi_band reads item 'pasi', which no form of the screening visit" in str(
        found[0]
    )


@pytest.mark.parametrize(
    ("factor", "expected"),
    [
        ({"source": "sex", "levels": ["F", "M"]}, "levels ['F', 'M'] are not values of item sex"),
        ({"source": "diabetes", "levels": ["true"]}, "it takes no, yes"),
        ({"source": "sex", "cut_points": [1]}, "item sex is code, not a number"),
        ({"source": "screening_date", "levels": ["x"]}, "factors are codes, yes/no or bins"),
        ({"source": "age", "levels": ["18"]}, "give `cut_points`"),
    ],
)
def test_factor_levels_that_do_not_fit_their_item(factor: dict[str, Any], expected: str) -> None:
    data = _data()
    _randomised(data, method="minimisation", factors=[{"name": "f", **factor}])
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "ALLOC.E008"]
    assert expected in found[0].message


def test_block_size_message_names_the_ratio_total() -> None:
    data = _data()
    _randomised(data, method="permuted_blocks", ratio={"G50": 2, "G100": 1}, block_sizes=[3, 4])
    found = [d for d in check_study(Study.model_validate(data)) if d.code == "ALLOC.E002"]
    assert str(found[0]) == (
        "error ALLOC.E002 at design.randomisation.block_sizes: block size 4 is not a multiple "
        "of the ratio total 3 (2:1), so no block can keep the ratio (use multiples of 3, e.g. 6 "
        "or 9)"
    )
