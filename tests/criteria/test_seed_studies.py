"""The three seed studies' criteria, with candidates exactly on and beside every boundary."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from trialkit.criteria import (
    Outcome,
    StudyCriteria,
    Verdict,
    check_criteria,
    evaluate_criteria,
)
from trialkit.errors import ValidationFailed

MET, NOT_MET, UNKNOWN = Verdict.MET, Verdict.NOT_MET, Verdict.UNKNOWN
AS_OF = date(2025, 3, 1)

PSORIASIS_OK: dict[str, Any] = {
    "age": 40,
    "psoriasis_type": "plaque",
    "psoriasis_onset_date": "2020-05-01",
    "screening_date": "2025-03-01",
    "sex": "female",
    "lesion_grade": 2,
    "pasi": "8.4",
    "standard_treatment_failure": True,
    "new_or_enlarging_lesions_3m": False,
    "immunosuppressant_use": False,
    "topical_treatment_use": False,
    "severe_underlying_disease": False,
    "alt": "25",
    "ast": "30",
    "creatinine": "0.9",
    "uncontrolled_hypertension": False,
    "pregnant": False,
    "lactating": False,
    "diabetes": False,
    "hbv_positive": False,
    "hcv_positive": False,
    "hiv_positive": False,
    "immunodeficiency": False,
    "malignancy": False,
    "disabling_disease": False,
    "systemic_infection": False,
    "injection_site_infection": False,
}

IBD_OK: dict[str, Any] = {
    "age": 40,
    "screening_date": "2025-03-01",
    "ibd_type": "crohns_disease",
    "ibd_diagnosis_date": "2019-01-10",
    "mab_refractory": True,
    "mab_intolerant": False,
    "mab_contraindicated": False,
    "cdai": "480",
    "ses_cd": 10,
    "isolated_ileal_disease": False,
    "immunomodulator_use": False,
}


def screen(study: StudyCriteria, base: dict[str, Any], **changes: Any) -> Any:
    return evaluate_criteria(
        study.criteria, {**base, **changes}, study.items, study.ranges, as_of=AS_OF
    )


def verdict_of(study: StudyCriteria, base: dict[str, Any], cid: str, **changes: Any) -> Verdict:
    result = screen(study, base, **changes)
    return next(r.verdict for r in result.results if r.id == cid)


def test_seed_criteria_check_clean(
    psoriasis: StudyCriteria, ibd: StudyCriteria, ucmsc: StudyCriteria
) -> None:
    for study in (psoriasis, ibd, ucmsc):
        assert check_criteria(study.criteria, study.items, study.ranges) == []


def test_base_candidates_are_eligible(psoriasis: StudyCriteria, ibd: StudyCriteria) -> None:
    assert screen(psoriasis, PSORIASIS_OK).outcome is Outcome.ELIGIBLE
    assert screen(ibd, IBD_OK).outcome is Outcome.ELIGIBLE


@pytest.mark.parametrize(
    ("pasi", "expected"),
    [("2.9", NOT_MET), ("3", MET), ("3.0", MET), ("12", MET), ("12.00", MET), ("12.01", NOT_MET)],
)
def test_pasi_3_to_12_inclusive(psoriasis: StudyCriteria, pasi: str, expected: Verdict) -> None:
    assert verdict_of(psoriasis, PSORIASIS_OK, "I3", pasi=pasi) is expected


@pytest.mark.parametrize(("age", "expected"), [(17, NOT_MET), (18, MET), (65, MET), (66, NOT_MET)])
def test_psoriasis_age_18_to_65(psoriasis: StudyCriteria, age: int, expected: Verdict) -> None:
    assert verdict_of(psoriasis, PSORIASIS_OK, "I6", age=age) is expected


@pytest.mark.parametrize(("age", "expected"), [(17, NOT_MET), (18, MET), (75, MET), (76, NOT_MET)])
def test_ibd_age_18_to_75(ibd: StudyCriteria, age: int, expected: Verdict) -> None:
    assert verdict_of(ibd, IBD_OK, "I3", age=age) is expected


@pytest.mark.parametrize(("grade", "expected"), [(0, NOT_MET), (1, MET), (3, MET), (4, NOT_MET)])
def test_lesion_grade(psoriasis: StudyCriteria, grade: int, expected: Verdict) -> None:
    """The form records 0 (clear) to 4 (severe), so a grade above the range admitted (1-3) is
    recorded and excludes, rather than being impossible to enter."""
    assert verdict_of(psoriasis, PSORIASIS_OK, "I2", lesion_grade=grade) is expected


def test_a_lesion_grade_beyond_the_scale_is_refused(psoriasis: StudyCriteria) -> None:
    with pytest.raises(
        ValidationFailed, match=r"lesion_grade: '5' is outside the item's range 0..4"
    ):
        screen(psoriasis, PSORIASIS_OK, lesion_grade=5)


@pytest.mark.parametrize(
    ("sex", "pregnant", "lactating", "expected"),
    [
        ("female", False, False, NOT_MET),
        ("female", True, False, MET),
        ("female", False, True, MET),
        ("female", None, None, UNKNOWN),  # a woman's missing answers are still needed
        ("female", False, None, UNKNOWN),
        ("male", None, None, NOT_MET),  # not asked of men
        ("male", True, True, NOT_MET),
        (None, False, False, NOT_MET),
        (None, True, None, UNKNOWN),
    ],
)
def test_pregnancy_and_lactation_are_asked_of_women(
    psoriasis: StudyCriteria,
    sex: str | None,
    pregnant: bool | None,
    lactating: bool | None,
    expected: Verdict,
) -> None:
    values = {"sex": sex, "pregnant": pregnant, "lactating": lactating}
    assert verdict_of(psoriasis, PSORIASIS_OK, "E8", **values) is expected


def test_a_man_without_pregnancy_answers_is_eligible(psoriasis: StudyCriteria) -> None:
    result = screen(psoriasis, PSORIASIS_OK, sex="male", pregnant=None, lactating=None)
    assert result.outcome is Outcome.ELIGIBLE
    assert "pregnant" not in result.missing


@pytest.mark.parametrize(
    ("alt", "excluded"), [("120", False), ("120.00", False), ("120.01", True), ("121", True)]
)
def test_alt_exactly_three_times_uln_is_not_excluded(
    psoriasis: StudyCriteria, alt: str, excluded: bool
) -> None:
    result = screen(psoriasis, PSORIASIS_OK, alt=alt)
    assert (result.outcome is Outcome.INELIGIBLE) is excluded
    assert ("E5" in result.failed) is excluded


def test_site_uln_overrides_the_study_default(psoriasis: StudyCriteria) -> None:
    # ULN 35 at this site: 105 is exactly 3 x ULN, 106 is above.
    assert verdict_of(psoriasis, PSORIASIS_OK, "E5", alt="105", alt_uln="35") is NOT_MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "E5", alt="106", alt_uln="35") is MET
    result = screen(psoriasis, PSORIASIS_OK, alt="106", alt_uln="35")
    e5 = next(r for r in result.results if r.id == "E5")
    assert "uln(alt) = 35 U/L (candidate's alt_uln)" in [u.render() for u in e5.used]


def test_ast_above_three_times_uln(psoriasis: StudyCriteria) -> None:
    assert verdict_of(psoriasis, PSORIASIS_OK, "E5", ast="120") is NOT_MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "E5", ast="120.5") is MET


@pytest.mark.parametrize(
    ("creatinine", "excluded"), [("2", False), ("2.00", False), ("2.01", True), ("1.99", False)]
)
def test_creatinine_exactly_2_mg_dl_is_not_excluded(
    psoriasis: StudyCriteria, creatinine: str, excluded: bool
) -> None:
    assert (verdict_of(psoriasis, PSORIASIS_OK, "E6", creatinine=creatinine) is MET) is excluded


def test_creatinine_in_micromoles_176_84_equals_2_mg_dl() -> None:
    from trialkit.criteria import Criterion, ItemSpec

    items = {"creatinine": ItemSpec("creatinine", "decimal", "µmol/L")}
    crit = [Criterion("E6", "exclusion", "", "creatinine > 2 mg/dL")]
    for value, excluded in (("176.84", False), ("176.85", True), ("176.83", False)):
        result = evaluate_criteria(crit, {"creatinine": value}, items)
        assert (result.outcome is Outcome.INELIGIBLE) is excluded, value


@pytest.mark.parametrize(
    ("cdai", "expected"), [("450", UNKNOWN), ("450.5", MET), ("451", MET), ("449", UNKNOWN)]
)
def test_cdai_450_not_met_451_met(ibd: StudyCriteria, cdai: str, expected: Verdict) -> None:
    # SES-CD missing: CDAI 450 alone does not qualify, so I2 stays unknown.
    assert verdict_of(ibd, IBD_OK, "I2", cdai=cdai, ses_cd=None) is expected
    assert verdict_of(ibd, IBD_OK, "I2", cdai=cdai, ses_cd=3) is (
        NOT_MET if expected is UNKNOWN else MET
    )


@pytest.mark.parametrize(
    ("ses_cd", "isolated", "expected"),
    [
        (8, False, MET),
        (7, False, NOT_MET),
        (6, True, MET),
        (5, True, NOT_MET),
        (7, True, MET),
        (6, None, UNKNOWN),
        (8, None, MET),
    ],
)
def test_ses_cd_8_or_6_if_isolated_ileal(
    ibd: StudyCriteria, ses_cd: int, isolated: bool | None, expected: Verdict
) -> None:
    got = verdict_of(ibd, IBD_OK, "I2", cdai="300", ses_cd=ses_cd, isolated_ileal_disease=isolated)
    assert got is expected


def test_ulcerative_colitis_needs_no_activity_score(ibd: StudyCriteria) -> None:
    result = screen(ibd, IBD_OK, ibd_type="ulcerative_colitis", cdai=None, ses_cd=None)
    assert result.outcome is Outcome.ELIGIBLE


@pytest.mark.parametrize(
    ("diagnosis", "expected"),
    [("2024-09-01", MET), ("2024-09-02", NOT_MET), ("2024-08-31", MET)],
)
def test_ibd_six_months_since_diagnosis(
    ibd: StudyCriteria, diagnosis: str, expected: Verdict
) -> None:
    assert verdict_of(ibd, IBD_OK, "I1", ibd_diagnosis_date=diagnosis) is expected


@pytest.mark.parametrize(("last_dose", "excluded"), [("2025-02-01", False), ("2025-02-02", True)])
def test_immunomodulator_washout_28_days(
    ibd: StudyCriteria, last_dose: str, excluded: bool
) -> None:
    got = verdict_of(
        ibd, IBD_OK, "E1", immunomodulator_use=True, last_immunomodulator_dose=last_dose
    )
    assert (got is MET) is excluded


def test_washout_not_needed_when_not_used(ibd: StudyCriteria) -> None:
    assert verdict_of(ibd, IBD_OK, "E1", immunomodulator_use=False) is NOT_MET
    result = screen(ibd, IBD_OK, immunomodulator_use=True)
    e1 = next(r for r in result.results if r.id == "E1")
    assert e1.verdict is UNKNOWN
    assert e1.missing == ("last_immunomodulator_dose",)
    assert result.outcome is Outcome.INCOMPLETE


@pytest.mark.parametrize(("last", "excluded"), [("2025-02-15", False), ("2025-02-16", True)])
def test_topical_washout_14_days(psoriasis: StudyCriteria, last: str, excluded: bool) -> None:
    got = verdict_of(
        psoriasis, PSORIASIS_OK, "E3", topical_treatment_use=True, last_topical_treatment=last
    )
    assert (got is MET) is excluded


def test_plaque_six_months(psoriasis: StudyCriteria) -> None:
    assert verdict_of(psoriasis, PSORIASIS_OK, "I1", psoriasis_onset_date="2024-09-01") is MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "I1", psoriasis_onset_date="2024-09-02") is NOT_MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "I1", psoriasis_type="guttate") is NOT_MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "E1", psoriasis_type="guttate") is MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "E1", psoriasis_type="other") is NOT_MET


def test_judgement_criteria(psoriasis: StudyCriteria) -> None:
    assert verdict_of(psoriasis, PSORIASIS_OK, "I4", standard_treatment_failure=False) is NOT_MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "I4", standard_treatment_failure=None) is UNKNOWN
    assert verdict_of(psoriasis, PSORIASIS_OK, "E4", severe_underlying_disease="yes") is MET
    assert verdict_of(psoriasis, PSORIASIS_OK, "I5", new_or_enlarging_lesions_3m=True) is NOT_MET
    result = screen(psoriasis, PSORIASIS_OK, disabling_disease=None)
    assert result.outcome is Outcome.INCOMPLETE
    assert result.missing == ("disabling_disease",)
    assert "investigator's judgement" in result.explain()


@pytest.mark.parametrize(
    ("pasi", "bsa", "expected"),
    [
        ("7", "10", NOT_MET),
        ("7.1", "10", MET),
        ("7", "10.1", MET),
        (None, "11", MET),
        (None, "10", UNKNOWN),
    ],
)
def test_ucmsc_pasi_or_bsa(
    ucmsc: StudyCriteria, pasi: str | None, bsa: str, expected: Verdict
) -> None:
    assert verdict_of(ucmsc, {"age": 30}, "I1", pasi=pasi, bsa_percent=bsa) is expected


def test_ineligible_beats_incomplete_and_explanation(psoriasis: StudyCriteria) -> None:
    result = screen(psoriasis, PSORIASIS_OK, pregnant=True, diabetes=None, lactating=None)
    assert result.outcome is Outcome.INELIGIBLE
    assert result.failed == ("E8",)
    assert result.unknown == ("E9",)
    text = result.explain()
    assert text.startswith("Overall: INELIGIBLE (as of 2025-03-01)")
    assert "E8 exclusion: met  <- excludes" in text
    assert "pregnant = yes" in text
