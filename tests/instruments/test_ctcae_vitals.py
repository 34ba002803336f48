"""CTCAE v5.0 from measured vital signs: hypertension from blood pressure (every band edge,
grade 0 included) and fever in °F (the bands CTCAE states in °F, exactly)."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialkit.errors import ValidationFailed
from trialkit.instruments import celsius_from_fahrenheit, get_instrument, grade_blood_pressure


@pytest.mark.parametrize(
    ("systolic", "grade"),
    [
        ("90", 0),
        ("119", 0),
        ("119.99", 0),
        ("120", 1),
        ("139", 1),
        ("139.99", 1),
        ("140", 2),
        ("159", 2),
        ("159.99", 2),
        ("160", 3),
        ("250", 3),
    ],
)
def test_systolic_bands(systolic: str, grade: int) -> None:
    assert grade_blood_pressure(D(systolic), None) == grade
    assert grade_blood_pressure(D(systolic), D(60)) == grade


@pytest.mark.parametrize(
    ("diastolic", "grade"),
    [
        ("60", 0),
        ("79", 0),
        ("79.9", 0),
        ("80", 1),
        ("89", 1),
        ("89.9", 1),
        ("90", 2),
        ("99", 2),
        ("99.9", 2),
        ("100", 3),
        ("140", 3),
    ],
)
def test_diastolic_bands(diastolic: str, grade: int) -> None:
    assert grade_blood_pressure(None, D(diastolic)) == grade
    assert grade_blood_pressure(D(110), D(diastolic)) == grade


@pytest.mark.parametrize(
    ("systolic", "diastolic", "grade"),
    [("119", "79", 0), ("125", "95", 2), ("165", "70", 3), ("145", "85", 2), ("120", "100", 3)],
)
def test_the_higher_of_the_two_grades(systolic: str, diastolic: str, grade: int) -> None:
    assert grade_blood_pressure(D(systolic), D(diastolic)) == grade


def test_a_pressure_is_needed() -> None:
    with pytest.raises(ValueError, match="systolic or the diastolic"):
        grade_blood_pressure(None, None)


pressures = st.decimals(min_value=40, max_value=300, places=1, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(pressures, pressures, pressures)
def test_the_grade_never_falls_as_the_pressure_rises(s: D, d: D, more: D) -> None:
    assert grade_blood_pressure(s + more, d) >= grade_blood_pressure(s, d)
    assert grade_blood_pressure(s, d + more) >= grade_blood_pressure(s, d)
    assert 0 <= grade_blood_pressure(s, d) <= 3


def test_hypertension_instrument_from_the_pressure() -> None:
    inst = get_instrument("ctcae_hypertension")
    r = inst.score({"systolic": "138", "diastolic": "92"})
    assert (r.value, r.flags["basis"], r.flags["measured_grade"]) == (2, "blood pressure", 2)
    none = inst.score({"systolic": "118", "diastolic": "76"})
    assert none.value == 0
    assert none.flags["definition"] == "No hypertension (below 120/80 mm Hg)."
    # The clinical criteria may give a higher grade, never a lower one.
    crisis = inst.score({"systolic": "182", "diastolic": "112", "grade": 4})
    assert (crisis.value, crisis.flags["basis"], crisis.flags["measured_grade"]) == (
        4,
        "selected",
        3,
    )
    with pytest.raises(ValidationFailed, match="below the grade 3") as low:
        inst.score({"systolic": "160", "grade": 2})
    assert low.value.code == "INSTR.E041"
    missing = inst.score({})
    assert missing.value is None
    assert missing.missing == ["systolic", "diastolic"]
    assert inst.score({"grade": 5}).flags["basis"] == "selected"


@pytest.mark.parametrize(
    ("fahrenheit", "hours", "grade"),
    [
        ("98.6", None, 0),
        ("100.3", None, 0),
        ("100.39", None, 0),
        ("100.4", None, 1),  # 38.0 °C exactly
        ("102.2", None, 1),  # 39.0 °C exactly
        ("102.21", None, 2),
        ("102.3", None, 2),
        ("104.0", None, 2),  # 40.0 °C exactly
        ("104.01", "24", 3),
        ("104.1", "24.01", 4),
        ("104.1", None, None),
    ],
)
def test_fever_in_fahrenheit(fahrenheit: str, hours: str | None, grade: int | None) -> None:
    values = {"temperature_f": fahrenheit} | ({} if hours is None else {"hours_above_40": hours})
    r = get_instrument("ctcae_fever").score(values)
    assert r.value == (None if grade is None else D(grade))
    if grade is not None:
        assert r.flags["unit"] == "[degF]"


def test_fever_in_one_scale_only() -> None:
    with pytest.raises(ValidationFailed) as both:
        get_instrument("ctcae_fever").score({"temperature": "38", "temperature_f": "100.4"})
    assert both.value.code == "INSTR.E042"
    with pytest.raises(ValidationFailed, match=r"100\.4 °F"):
        get_instrument("ctcae_fever").score({"temperature_f": "100.4", "grade": 2})


def test_celsius_from_fahrenheit_is_exact() -> None:
    assert celsius_from_fahrenheit(D("100.4")) == 38
    assert celsius_from_fahrenheit(D("104.0")) == 40
    assert celsius_from_fahrenheit(D("212")) == 100
    assert celsius_from_fahrenheit(D("100")) == Fraction(340, 9)


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=77, max_value=113, places=2, allow_nan=False))
def test_fahrenheit_grades_as_its_celsius(f: D) -> None:
    from trialkit.instruments import grade_fever

    c = celsius_from_fahrenheit(f)
    fever = get_instrument("ctcae_fever")
    by_f = fever.score({"temperature_f": str(f), "hours_above_40": "1"}).value
    expected = grade_fever(D(c.numerator) / D(c.denominator), D(1)) if c <= 45 else None
    if c < 38 or c > 40 or c.denominator == 1:
        assert by_f == (None if expected is None else D(expected))
