"""CTCAE v5.0 grades from measured vital signs: hypertension from blood pressure, fever in °F.

**Hypertension (adult).** CTCAE v5.0 grades the adult blood pressure in whole mm Hg:
grade 1 "systolic BP 120-139 mm Hg or diastolic BP 80-89 mm Hg"; grade 2 "systolic BP 140-159
mm Hg or diastolic BP 90-99 mm Hg if previously WNL" (and clinical criteria: a change of
treatment, recurrent or persistent hypertension, a symptomatic rise, one drug started); grade 3
"systolic BP >=160 mm Hg or diastolic BP >=100 mm Hg" (and medical intervention); grade 4 and 5
are clinical only. Each band is read as a half-open interval (120 up to but not including 140),
so that a measurement with decimals falls in exactly one band; a value below 120/80 is grade 0.
The grade is the higher of the systolic and the diastolic grade. A measured value gives at most
grade 3; an investigator may select a higher grade (the clinical criteria) but never a lower one
than the measurement gives.

**Fever in °F.** CTCAE v5.0 states the fever bands in both scales: 38.0-39.0 °C
(100.4-102.2 °F), >39.0-40.0 °C (102.3-104.0 °F), >40.0 °C (>104.0 °F). A temperature in °F is
converted exactly, C = (F - 32) x 5/9 with fractions, and graded by the °C bands
(:func:`trialkit.instruments.ctcae_selectable.grade_fever`): 100.4 °F is exactly 38.0 °C.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from trialkit.errors import ValidationFailed
from trialkit.instruments.base import Value, flag_options
from trialkit.instruments.ctcae_labs import CTCAE_VERSION
from trialkit.instruments.ctcae_selectable import GRADE_DEFINITIONS, SelectableGrade
from trialkit.instruments.items import ItemDef
from trialkit.instruments.result import ScoreResult

__all__ = [
    "CTCAE_VITAL_INSTRUMENTS",
    "DIASTOLIC_BANDS",
    "SYSTOLIC_BANDS",
    "Hypertension",
    "celsius_from_fahrenheit",
    "grade_blood_pressure",
]

#: Lower bounds (mm Hg, inclusive) of grades 1, 2 and 3 (CTCAE v5.0 Hypertension, adult).
SYSTOLIC_BANDS: tuple[Fraction, Fraction, Fraction] = (Fraction(120), Fraction(140), Fraction(160))
DIASTOLIC_BANDS: tuple[Fraction, Fraction, Fraction] = (Fraction(80), Fraction(90), Fraction(100))


def _band(value: Decimal, bounds: tuple[Fraction, Fraction, Fraction]) -> int:
    v = Fraction(value)
    return sum(1 for low in bounds if v >= low)


def grade_blood_pressure(systolic: Decimal | None, diastolic: Decimal | None) -> int:
    """The CTCAE v5.0 adult hypertension grade (0-3) of a measured blood pressure: the higher of
    the systolic and the diastolic grade; a pressure not given counts 0."""
    if systolic is None and diastolic is None:
        raise ValueError("grading a blood pressure needs the systolic or the diastolic value")
    s = 0 if systolic is None else _band(systolic, SYSTOLIC_BANDS)
    d = 0 if diastolic is None else _band(diastolic, DIASTOLIC_BANDS)
    return max(s, d)


def celsius_from_fahrenheit(value: Decimal) -> Fraction:
    """``value`` °F in °C, exactly: (F - 32) x 5/9."""
    return (Fraction(value) - 32) * Fraction(5, 9)


class Hypertension(SelectableGrade):
    """Hypertension: graded from the measured blood pressure, or selected (grades 4-5, or a
    higher grade for the clinical criteria)."""

    def __init__(self) -> None:
        super().__init__("hypertension")
        self.score_range = (Decimal(0), Decimal(5))
        grade = self.items[0].model_copy(update={"required": False})
        self.items = (
            grade,
            ItemDef(
                name="systolic",
                label="Systolic blood pressure",
                data_type="decimal",
                minimum=Decimal(40),
                maximum=Decimal(300),
                unit="mm[Hg]",
                required=False,
            ),
            ItemDef(
                name="diastolic",
                label="Diastolic blood pressure",
                data_type="decimal",
                minimum=Decimal(20),
                maximum=Decimal(200),
                unit="mm[Hg]",
                required=False,
            ),
        )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        systolic, diastolic = values.get("systolic"), values.get("diastolic")
        selected = values.get("grade")
        if systolic is None and diastolic is None:
            if selected is None:
                return self._missing(
                    ["systolic", "diastolic"],
                    options,
                    why="CTCAE Hypertension: no grade, enter the blood pressure or select a grade",
                )
            return super()._score(values, options)
        assert systolic is None or isinstance(systolic, Decimal)
        assert diastolic is None or isinstance(diastolic, Decimal)
        measured = grade_blood_pressure(systolic, diastolic)
        shown = f"{systolic if systolic is not None else '-'}/{diastolic or '-'} mm Hg"
        if selected is not None:
            chosen = int(str(selected))
            if chosen < measured:
                raise ValidationFailed(
                    f"CTCAE Hypertension: selected grade {chosen} is below the grade {measured} "
                    f"that {shown} gives; correct the grade or the pressure",
                    code="INSTR.E041",
                    errors={"grade": [f"the blood pressure gives grade {measured}"]},
                )
            grade, basis = chosen, "selected"
        else:
            grade, basis = measured, "blood pressure"
        definitions = GRADE_DEFINITIONS["hypertension"][1]
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=Decimal(grade),
            flags={
                "term": self.term,
                "ctcae_version": CTCAE_VERSION,
                "basis": basis,
                "measured_grade": measured,
                "definition": definitions.get(grade, "No hypertension (below 120/80 mm Hg)."),
            },
            options=flag_options(options),
        )


CTCAE_VITAL_INSTRUMENTS = (Hypertension(),)
