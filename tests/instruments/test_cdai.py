from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.errors import ValidationFailed
from trialkit.instruments import CDAI, cdai_category, cdai_remission, cdai_response
from trialkit.instruments.cdai import CDAI_COMPLICATIONS


def diary(stools: list[int], pain: list[int], wellbeing: list[int]) -> dict[str, object]:
    out: dict[str, object] = {}
    for day in range(7):
        out[f"liquid_stools_day_{day + 1}"] = stools[day]
        out[f"abdominal_pain_day_{day + 1}"] = pain[day]
        out[f"general_wellbeing_day_{day + 1}"] = wellbeing[day]
    return out


def example(**overrides: object) -> dict[str, object]:
    values = diary([3] * 7, [1] * 7, [2] * 7)
    values |= dict.fromkeys(CDAI_COMPLICATIONS, False)
    values |= {
        "arthritis_arthralgia": True,
        "antidiarrheal": False,
        "abdominal_mass": "0",
        "sex": "male",
        "hematocrit": "40",
        "weight": "62",
        "standard_weight": "70",
    }
    values |= overrides
    return values


def test_hand_computed_example() -> None:
    # stools 21 x 2 = 42; pain 7 x 5 = 35; well-being 14 x 7 = 98; 1 complication x 20 = 20;
    # no antidiarrhoeal 0; no mass 0; hematocrit (47 - 40) x 6 = 42;
    # weight 100 x (1 - 62/70) = 80/7 = 11.428571...; total = 237 + 80/7 = 1739/7
    result = CDAI.score(example())
    assert result.exact == Fraction(1739, 7)
    assert result.value == Decimal("248.428571")
    assert result.parts["liquid_stools"] == 42
    assert result.parts["abdominal_pain"] == 35
    assert result.parts["general_wellbeing"] == 98
    assert result.parts["complications"] == 20
    assert result.parts["hematocrit"] == 42
    assert result.parts["weight"] == Decimal("11.428571")
    assert result.flags["category"] == "moderate"
    assert result.flags["remission"] is False
    assert result.version == "CDAI Best 1976"


def test_female_standard_and_mass_and_antidiarrheal() -> None:
    result = CDAI.score(example(sex="female", abdominal_mass="5", antidiarrheal=True))
    # hematocrit (42 - 40) x 6 = 12 instead of 42; mass 5 x 10 = 50; antidiarrhoeal 30
    assert result.exact == Fraction(1739, 7) - 30 + 50 + 30
    assert result.parts["abdominal_mass"] == 50
    assert result.parts["antidiarrheal"] == 30


def test_zero_diary_and_standard_values() -> None:
    values = diary([0] * 7, [0] * 7, [0] * 7)
    values |= dict.fromkeys(CDAI_COMPLICATIONS, False)
    values |= {
        "antidiarrheal": False,
        "abdominal_mass": "0",
        "sex": "female",
        "hematocrit": "42",
        "weight": "60",
        "standard_weight": "60",
    }
    result = CDAI.score(values)
    assert result.value == 0
    assert result.flags["category"] == "remission"


def test_negative_terms_kept_by_default_and_floors_optional() -> None:
    over = example(hematocrit="50", weight="84")  # Hct term (47-50) x 6 = -18; weight -20
    result = CDAI.score(over)
    assert result.parts["hematocrit"] == -18
    assert result.parts["weight"] == -20
    floored = CDAI.score(over, {"weight_term_floor": "-10", "hematocrit_term_floor": "0"})
    assert floored.parts["weight"] == -10
    assert floored.parts["hematocrit"] == 0
    assert floored.options["weight_term_floor"] == Decimal(-10)


def test_missing_diary_day_refused_by_default() -> None:
    values = example()
    del values["abdominal_pain_day_4"]
    result = CDAI.score(values)
    assert result.value is None
    assert result.missing == ["abdominal_pain_day_4"]


def test_prorating_when_allowed() -> None:
    values = example()
    del values["abdominal_pain_day_4"]
    result = CDAI.score(values, {"min_diary_days": 6})
    # pain sum over 6 days = 6, pro-rated to 7 days = 7: same as complete
    assert result.exact == Fraction(1739, 7)
    assert result.flags["prorated"] == "abdominal_pain"
    del values["abdominal_pain_day_5"]
    assert CDAI.score(values, {"min_diary_days": 6}).value is None


def test_min_diary_days_bounds() -> None:
    with pytest.raises(ValidationFailed, match="min_diary_days"):
        CDAI.score(example(), {"min_diary_days": 3})


@pytest.mark.parametrize(
    ("value", "category", "remission"),
    [
        ("0", "remission", True),
        ("149.99", "remission", True),
        ("150", "mild", False),
        ("220", "mild", False),
        ("220.01", "moderate", False),
        ("450", "moderate", False),
        ("450.01", "severe", False),
    ],
)
def test_cut_offs(value: str, category: str, remission: bool) -> None:
    assert cdai_category(value) == category
    assert cdai_remission(value) is remission


def test_response_drop_inclusive_and_configurable() -> None:
    assert cdai_response("300", "200")
    assert not cdai_response("300", "200.01")
    assert cdai_response("300", "230", drop=70)
    assert not cdai_response("300", "230.5", drop=70)
    assert cdai_response(Fraction(1739, 7), Fraction(1039, 7))


def test_bad_code_message() -> None:
    with pytest.raises(ValidationFailed, match="enter one of 0, 2, 5"):
        CDAI.score(example(abdominal_mass="3"))


@given(
    st.lists(st.integers(0, 20), min_size=7, max_size=7),
    st.lists(st.integers(0, 3), min_size=7, max_size=7),
    st.lists(st.integers(0, 4), min_size=7, max_size=7),
    st.integers(0, 6),
)
def test_more_symptoms_never_lower_cdai(
    stools: list[int], pain: list[int], wellbeing: list[int], extra: int
) -> None:
    base = example() | diary(stools, pain, wellbeing)
    worse = dict(base)
    worse["liquid_stools_day_1"] = stools[0] + extra
    a, b = CDAI.score(base).exact, CDAI.score(worse).exact
    assert a is not None
    assert b is not None
    assert b - a == 2 * extra
