from __future__ import annotations

from decimal import Decimal

import pytest

from trialkit.errors import ValidationFailed
from trialkit.instruments import (
    CTCAE_VERSION,
    GRADE_DEFINITIONS,
    get_instrument,
    grade_count_decreased,
    grade_creatinine,
    grade_fever,
    grade_hemoglobin,
    grade_liver_test,
)

D = Decimal


def test_bilirubin_1_8_with_uln_1_2_is_grade_1() -> None:
    # 1.8 / 1.2 = 1.5 exactly: ">ULN - 1.5 x ULN" includes 1.5, so grade 1 (not 2)
    result = get_instrument("ctcae_bilirubin_increased").score(
        {"value": "1.8", "uln": "1.2", "baseline": "0.8"}
    )
    assert result.value == 1
    assert result.version == CTCAE_VERSION == "CTCAE v5.0"
    assert result.flags["basis"] == "ULN"
    assert result.flags["multiple"] == D("1.5")


@pytest.mark.parametrize(
    ("test", "value", "grade"),
    [
        ("alt", "40", 0),  # = ULN
        ("alt", "40.01", 1),
        ("alt", "120", 1),  # 3.0 x ULN
        ("alt", "120.01", 2),
        ("alt", "200", 2),  # 5.0 x
        ("alt", "200.01", 3),
        ("alt", "800", 3),  # 20.0 x
        ("alt", "800.01", 4),
        ("ast", "120", 1),
        ("alp", "100", 1),  # 2.5 x
        ("alp", "100.01", 2),
        ("ggt", "200", 2),
        ("ggt", "200.01", 3),
        ("bilirubin", "60", 1),  # 1.5 x
        ("bilirubin", "60.01", 2),
        ("bilirubin", "120", 2),  # 3.0 x
        ("bilirubin", "120.01", 3),
        ("bilirubin", "400", 3),  # 10.0 x
        ("bilirubin", "400.01", 4),
    ],
)
def test_normal_baseline_multiples_of_uln(test: str, value: str, grade: int) -> None:
    assert grade_liver_test(test, D(value), D(40), D(30))[0] == grade


@pytest.mark.parametrize(
    ("test", "value", "grade"),
    [
        ("alt", "149.99", 0),  # baseline 100 (> ULN 40): below 1.5 x baseline
        ("alt", "150", 1),  # 1.5 x baseline, inclusive as written
        ("alt", "300", 1),
        ("alt", "300.01", 2),
        ("alt", "500.01", 3),
        ("alt", "2000.01", 4),
        ("alp", "199.99", 0),
        ("alp", "200", 1),  # 2.0 x baseline
        ("alp", "250.01", 2),
        ("bilirubin", "100", 0),  # 1.0 x baseline: ">1.0" excludes it
        ("bilirubin", "100.01", 1),
        ("bilirubin", "150.01", 2),
        ("bilirubin", "1000.01", 4),
    ],
)
def test_abnormal_baseline_multiples_of_baseline(test: str, value: str, grade: int) -> None:
    g, basis, _ = grade_liver_test(test, D(value), D(40), D(100))
    assert (g, basis) == (grade, "baseline")


def test_baseline_equal_to_uln_is_normal() -> None:
    assert grade_liver_test("alt", D("41"), D(40), D(40))[1] == "ULN"


def test_liver_instrument_requires_baseline() -> None:
    result = get_instrument("ctcae_alt_increased").score({"value": "50", "uln": "40"})
    assert result.value is None
    assert result.missing == ["baseline"]


@pytest.mark.parametrize(
    ("value", "baseline", "grade", "basis"),
    [
        ("1.0", None, 0, "ULN"),
        ("1.01", None, 1, "ULN"),
        ("1.5", None, 1, "ULN"),
        ("1.51", None, 2, "ULN"),
        ("3.0", None, 2, "ULN"),
        ("3.01", None, 3, "ULN"),
        ("6.0", None, 3, "ULN"),
        ("6.01", None, 4, "ULN"),
        ("0.9", "0.6", 0, "ULN"),  # 1.5 x baseline: not above 1.5
        ("0.91", "0.6", 2, "baseline"),  # > 1.5 x baseline
        ("1.81", "0.6", 3, "baseline"),  # > 3.0 x baseline
        ("6.5", "0.6", 4, "ULN"),
    ],
)
def test_creatinine(value: str, baseline: str | None, grade: int, basis: str) -> None:
    g, b, _ = grade_creatinine(D(value), D("1.0"), None if baseline is None else D(baseline))
    assert (g, b) == (grade, basis)


@pytest.mark.parametrize(
    ("hb", "unit", "grade"),
    [
        ("12.0", "g/dL", 0),  # = LLN
        ("11.99", "g/dL", 1),
        ("10.0", "g/dL", 1),
        ("9.99", "g/dL", 2),
        ("8.0", "g/dL", 2),
        ("7.99", "g/dL", 3),
        ("3", "g/dL", 3),  # a value alone never gives grade 4
        ("100", "g/L", 1),
        ("99", "g/L", 2),
        ("79", "g/L", 3),
        ("6.2", "mmol/L", 1),
        ("4.8", "mmol/L", 3),
    ],
)
def test_anemia(hb: str, unit: str, grade: int) -> None:
    lln = {"g/dL": D(12), "g/L": D(120), "mmol/L": D("7.4")}[unit]
    assert grade_hemoglobin(D(hb), lln, unit) == grade


@pytest.mark.parametrize(
    ("cell", "value", "grade"),
    [
        ("neutrophil", "2.0", 0),
        ("neutrophil", "1.99", 1),
        ("neutrophil", "1.5", 1),
        ("neutrophil", "1.49", 2),
        ("neutrophil", "1.0", 2),
        ("neutrophil", "0.99", 3),
        ("neutrophil", "0.5", 3),
        ("neutrophil", "0.49", 4),
        ("lymphocyte", "0.8", 1),
        ("lymphocyte", "0.79", 2),
        ("lymphocyte", "0.49", 3),
        ("lymphocyte", "0.19", 4),
        ("platelet", "75", 1),
        ("platelet", "74.9", 2),
        ("platelet", "49", 3),
        ("platelet", "24", 4),
        ("white_blood_cell", "3.0", 1),
        ("white_blood_cell", "2.9", 2),
        ("white_blood_cell", "1.9", 3),
        ("white_blood_cell", "0.9", 4),
    ],
)
def test_counts(cell: str, value: str, grade: int) -> None:
    lln = {"neutrophil": D(2), "lymphocyte": D(1), "platelet": D(150), "white_blood_cell": D(4)}
    assert grade_count_decreased(cell, D(value), lln[cell], "10*9/L") == grade


def test_counts_per_cubic_millimetre() -> None:
    assert grade_count_decreased("neutrophil", D(1500), D(2000), "/mm3") == 1
    assert grade_count_decreased("neutrophil", D(1499), D(2000), "/mm3") == 2
    result = get_instrument("ctcae_platelet_count_decreased").score(
        {"value": "49000", "lln": "150000", "unit": "/mm3"}
    )
    assert result.value == 3
    assert result.flags["term"] == "Platelet count decreased"


def test_lln_below_grade_1_threshold() -> None:
    # LLN 1.4 < 1.5: values from 1.4 up are normal; just below LLN is already grade 2
    assert grade_count_decreased("neutrophil", D("1.45"), D("1.4"), "10*9/L") == 0
    assert grade_count_decreased("neutrophil", D("1.39"), D("1.4"), "10*9/L") == 2


@pytest.mark.parametrize(
    ("temp", "hours", "grade"),
    [
        ("37.9", None, 0),
        ("38.0", None, 1),
        ("39.0", None, 1),
        ("39.01", None, 2),
        ("40.0", None, 2),
        ("40.1", "24", 3),
        ("40.1", "24.5", 4),
        ("40.1", None, None),
    ],
)
def test_fever_from_temperature(temp: str, hours: str | None, grade: int | None) -> None:
    assert grade_fever(D(temp), None if hours is None else D(hours)) == grade


def test_fever_instrument() -> None:
    fever = get_instrument("ctcae_fever")
    assert fever.score({"temperature": "38.5"}).value == 1
    no = fever.score({"temperature": "40.5"})
    assert no.value is None
    assert no.missing == ["hours_above_40"]
    assert fever.score({"grade": 5}).flags["basis"] == "selected"
    with pytest.raises(ValidationFailed, match="disagrees"):
        fever.score({"temperature": "38.5", "grade": 2})


#: Grade 2 as trialkit words it. CTCAE v5.0 (NCI, 27 Nov 2017), verbatim: infusion related
#: reaction (General disorders and administration site conditions) "Therapy or infusion
#: interruption indicated but responds promptly to symptomatic treatment (e.g.,
#: antihistamines, NSAIDS, narcotics, IV fluids); prophylactic medications indicated for
#: <=24 hrs"; injection site reaction (same SOC) "Pain; lipodystrophy; edema; phlebitis";
#: hypertension (Vascular disorders), adult "Systolic BP 140-159 mm Hg or diastolic BP 90-99
#: mm Hg if previously WNL; change in baseline medical intervention indicated; recurrent or
#: persistent (>=24 hrs); symptomatic increase by >20 mm Hg (diastolic) or to >140/90 mm Hg;
#: monotherapy indicated initiated".
GRADE_2 = {
    "infusion_related_reaction": (
        "Infusion interrupted or treatment needed, with prompt response to symptomatic "
        "treatment; prophylactic drugs needed for up to 24 h."
    ),
    "injection_site_reaction": "Pain; lipodystrophy; oedema; phlebitis.",
    "hypertension": (
        "Adult: systolic 140-159 or diastolic 90-99 mm Hg if previously normal; change of "
        "baseline treatment; recurrent or persistent (24 h or more); symptomatic rise by more "
        "than 20 mm Hg diastolic or to above 140/90; single-drug treatment started."
    ),
}


@pytest.mark.parametrize(
    "key", ["infusion_related_reaction", "injection_site_reaction", "hypertension"]
)
def test_selectable_grades(key: str) -> None:
    inst = get_instrument(f"ctcae_{key}")
    assert [int(c) for c in inst.items[0].codes] == [1, 2, 3, 4, 5]
    result = inst.score({"grade": 2})
    assert result.value == 2
    assert result.flags["definition"] == GRADE_2[key]
    assert GRADE_DEFINITIONS[key][1][2] == GRADE_2[key]
    assert result.flags["ctcae_version"] == "CTCAE v5.0"
    with pytest.raises(ValidationFailed):
        inst.score({"grade": 0})


def test_zero_limits_give_no_grade() -> None:
    alt = get_instrument("ctcae_alt_increased").score({"value": "50", "uln": "0", "baseline": "1"})
    assert alt.value is None
    creat = get_instrument("ctcae_creatinine_increased")
    assert creat.score({"value": "1", "uln": "1", "baseline": "0"}).value is None
    assert creat.score({"value": "1.6", "uln": "1"}).value == 2


# CTCAE v5.0 (NCI, 27 Nov 2017), "Investigations" and "Blood and lymphatic system disorders":
# the cut-offs below are the lower bounds of the printed bands, each band written
# "<upper - lower" (the lower value belongs to the band, anything below it to the next grade).
#   Platelet count decreased: 1 <LLN-75.0; 2 <75.0-50.0; 3 <50.0-25.0; 4 <25.0 (x 10e9/L)
#   Lymphocyte count decreased: 1 <LLN-0.8; 2 <0.8-0.5; 3 <0.5-0.2; 4 <0.2 (x 10e9/L)
#   White blood cell decreased: 1 <LLN-3.0; 2 <3.0-2.0; 3 <2.0-1.0; 4 <1.0 (x 10e9/L)
#   Anemia: 1 Hgb <LLN-10.0 g/dL, <LLN-6.2 mmol/L, <LLN-100 g/L; 2 <10.0-8.0 g/dL,
#           <6.2-4.9 mmol/L, <100-80 g/L; 3 <8.0 g/dL, <4.9 mmol/L, <80 g/L
#   GGT increased: 1 >ULN-2.5 x ULN if baseline was normal, 2.0-2.5 x baseline if baseline was
#           abnormal; 2 >2.5-5.0 x; 3 >5.0-20.0 x; 4 >20.0 x (ULN or baseline alike)
@pytest.mark.parametrize(
    ("cell", "value", "grade"),
    [
        ("platelet", "50", 2),  # 50.0 is in "<75.0-50.0"
        ("platelet", "49.99", 3),
        ("platelet", "25", 3),  # 25.0 is in "<50.0-25.0"
        ("platelet", "24.99", 4),
        ("lymphocyte", "0.5", 2),
        ("lymphocyte", "0.49", 3),
        ("lymphocyte", "0.2", 3),
        ("lymphocyte", "0.19", 4),
        ("white_blood_cell", "2.0", 2),
        ("white_blood_cell", "1.99", 3),
        ("white_blood_cell", "1.0", 3),
        ("white_blood_cell", "0.99", 4),
    ],
)
def test_count_cut_offs_exactly(cell: str, value: str, grade: int) -> None:
    lln = {"lymphocyte": D(1), "platelet": D(150), "white_blood_cell": D(4)}
    assert grade_count_decreased(cell, D(value), lln[cell], "10*9/L") == grade


@pytest.mark.parametrize(
    ("hb", "unit", "lln", "grade"),
    [
        ("7.4", "mmol/L", "7.4", 0),  # = LLN
        ("7.39", "mmol/L", "7.4", 1),
        ("6.2", "mmol/L", "7.4", 1),  # in "<LLN-6.2"
        ("6.19", "mmol/L", "7.4", 2),
        ("4.9", "mmol/L", "7.4", 2),  # in "<6.2-4.9"
        ("4.89", "mmol/L", "7.4", 3),
        ("120", "g/L", "120", 0),
        ("119.9", "g/L", "120", 1),
        ("100", "g/L", "120", 1),
        ("99.9", "g/L", "120", 2),
        ("80", "g/L", "120", 2),
        ("79.9", "g/L", "120", 3),
    ],
)
def test_anemia_in_mmol_per_litre_and_grams_per_litre(
    hb: str, unit: str, lln: str, grade: int
) -> None:
    assert grade_hemoglobin(D(hb), D(lln), unit) == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        ("199.99", 0),  # baseline 100 above ULN 40: below 2.0 x baseline is not graded
        ("200", 1),  # 2.0 x baseline, inclusive as written
        ("250", 1),  # 2.5 x baseline
        ("250.01", 2),
        ("500", 2),  # 5.0 x baseline
        ("500.01", 3),
        ("2000", 3),  # 20.0 x baseline
        ("2000.01", 4),
    ],
)
def test_ggt_with_abnormal_baseline(value: str, grade: int) -> None:
    g, basis, _ = grade_liver_test("ggt", D(value), D(40), D(100))
    assert (g, basis) == (grade, "baseline")
    result = get_instrument("ctcae_ggt_increased").score(
        {"value": value, "uln": "40", "baseline": "100"}
    )
    assert result.value == grade
