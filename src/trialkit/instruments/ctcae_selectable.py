"""CTCAE v5.0 adverse events graded by selecting a grade, and fever from a temperature (°C or
°F; hypertension from the blood pressure is in :mod:`trialkit.instruments.ctcae_vitals`).

Each grade's definition is a short paraphrase (not the CTCAE text); the investigator selects
the grade whose definition fits. Fever may instead be graded from the temperature.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from trialkit.errors import ValidationFailed
from trialkit.instruments.base import Instrument, Value, flag_options
from trialkit.instruments.ctcae_labs import CTCAE_REFERENCE, CTCAE_VERSION
from trialkit.instruments.items import ItemDef
from trialkit.instruments.result import ScoreResult

__all__ = [
    "CTCAE_SELECTABLE_INSTRUMENTS",
    "GRADE_DEFINITIONS",
    "Fever",
    "SelectableGrade",
    "grade_fever",
]

#: term key -> (CTCAE term, {grade: paraphrased definition}).
GRADE_DEFINITIONS: dict[str, tuple[str, dict[int, str]]] = {
    "infusion_related_reaction": (
        "Infusion related reaction",
        {
            1: "Mild and transient; the infusion need not be interrupted, no treatment needed.",
            2: "Infusion interrupted or treatment needed, with prompt response to symptomatic "
            "treatment; prophylactic drugs needed for up to 24 h.",
            3: "Prolonged, or symptoms return after first improving; hospital admission needed "
            "for the consequences.",
            4: "Life-threatening; urgent intervention needed.",
            5: "Death.",
        },
    ),
    "injection_site_reaction": (
        "Injection site reaction",
        {
            1: "Tenderness, with or without warmth, redness or itching.",
            2: "Pain; lipodystrophy; oedema; phlebitis.",
            3: "Ulceration or necrosis; severe tissue damage; surgery needed.",
            4: "Life-threatening; urgent intervention needed.",
            5: "Death.",
        },
    ),
    "hypertension": (
        "Hypertension",
        {
            1: "Adult: systolic 120-139 or diastolic 80-89 mm Hg.",
            2: "Adult: systolic 140-159 or diastolic 90-99 mm Hg if previously normal; change of "
            "baseline treatment; recurrent or persistent (24 h or more); symptomatic rise by "
            "more than 20 mm Hg diastolic or to above 140/90; single-drug treatment started.",
            3: "Adult: systolic 160 or more or diastolic 100 or more mm Hg; medical intervention; "
            "more than one drug or more intensive treatment than before.",
            4: "Life-threatening consequences (such as malignant hypertension, neurological "
            "deficit, hypertensive crisis); urgent intervention needed.",
            5: "Death.",
        },
    ),
    "fever": (
        "Fever",
        {
            1: "38.0 to 39.0 °C.",
            2: "Above 39.0 to 40.0 °C.",
            3: "Above 40.0 °C for 24 h or less.",
            4: "Above 40.0 °C for more than 24 h.",
            5: "Death.",
        },
    ),
}


def _grade_item(definitions: dict[int, str]) -> ItemDef:
    return ItemDef(
        name="grade",
        label="Selected CTCAE grade",
        data_type="integer",
        minimum=Decimal(1),
        maximum=Decimal(5),
        codes={str(g): text for g, text in definitions.items()},
    )


class SelectableGrade(Instrument):
    """An adverse event whose grade the investigator selects from its definitions."""

    version = CTCAE_VERSION
    reference = CTCAE_REFERENCE
    score_range = (Decimal(1), Decimal(5))

    def __init__(self, key: str) -> None:
        self.key = key
        self.term, self.definitions = GRADE_DEFINITIONS[key]
        self.name = f"ctcae_{key}"
        self.title = f"CTCAE {self.term}"
        self.items = (_grade_item(self.definitions),)

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        grade = values.get("grade")
        if grade is None:
            return self._missing(["grade"], options)
        assert isinstance(grade, Decimal)
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=grade,
            flags={
                "term": self.term,
                "ctcae_version": CTCAE_VERSION,
                "basis": "selected",
                "definition": self.definitions[int(grade)],
            },
            options=flag_options(options),
        )


def grade_fever(temperature_c: Decimal, hours_above_40: Decimal | None) -> int | None:
    """Fever grade from the temperature: <38.0 -> 0; 38.0-39.0 -> 1; >39.0-40.0 -> 2;
    >40.0 -> 3 if it lasted 24 h or less, 4 if longer. ``None`` when above 40.0 and the
    duration is unknown (grade 3 or 4 cannot be told apart)."""
    return _grade_fever_exact(Fraction(temperature_c), hours_above_40)


def _grade_fever_exact(t: Fraction, hours_above_40: Decimal | None) -> int | None:
    if t < 38:
        return 0
    if t <= 39:
        return 1
    if t <= 40:
        return 2
    if hours_above_40 is None:
        return None
    return 4 if Fraction(hours_above_40) > 24 else 3


class Fever(SelectableGrade):
    """Fever: graded from the temperature, or selected (grade 5 can only be selected)."""

    def __init__(self) -> None:
        super().__init__("fever")
        self.score_range = (Decimal(0), Decimal(5))
        self.items = (
            ItemDef(
                name="temperature",
                label="Highest body temperature",
                data_type="decimal",
                minimum=Decimal(25),
                maximum=Decimal(45),
                unit="Cel",
                required=False,
            ),
            ItemDef(
                name="temperature_f",
                label="Highest body temperature in degrees Fahrenheit (instead of °C)",
                data_type="decimal",
                minimum=Decimal(77),
                maximum=Decimal(113),
                unit="[degF]",
                required=False,
                description="Converted exactly to °C, (F - 32) x 5/9; 100.4 °F is 38.0 °C.",
            ),
            ItemDef(
                name="hours_above_40",
                label="Hours the temperature stayed above 40.0 °C",
                data_type="decimal",
                minimum=Decimal(0),
                unit="h",
                required=False,
                description="Needed only when the temperature is above 40.0 °C.",
            ),
            _grade_item(self.definitions).model_copy(update={"required": False}),
        )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        temp = values.get("temperature")
        fahrenheit = values.get("temperature_f")
        selected = values.get("grade")
        if temp is not None and fahrenheit is not None:
            raise ValidationFailed(
                "CTCAE Fever: enter the temperature in °C or in °F, not both",
                code="INSTR.E042",
                errors={"temperature_f": ["leave one of temperature and temperature_f empty"]},
            )
        shown = f"{temp} °C"
        if isinstance(fahrenheit, Decimal):
            celsius = (Fraction(fahrenheit) - 32) * Fraction(5, 9)
            temp = Decimal(celsius.numerator) / Decimal(celsius.denominator)
            shown = f"{fahrenheit} °F"
            exact: Fraction | None = celsius
        else:
            exact = None
        if temp is None:
            if selected is None:
                return self._missing(
                    ["temperature"],
                    options,
                    why="CTCAE Fever: no grade, enter the temperature or select a grade",
                )
            return super()._score(values, options)
        assert isinstance(temp, Decimal)
        hours = values.get("hours_above_40")
        grade = _grade_fever_exact(
            exact if exact is not None else Fraction(temp),
            hours if isinstance(hours, Decimal) else None,
        )
        if grade is None:
            return self._missing(
                ["hours_above_40"],
                options,
                why=(
                    f"CTCAE Fever: no grade, {shown} is above 40.0 °C; enter hours_above_40 "
                    "(grade 3 up to 24 h, grade 4 beyond)"
                ),
            )
        if selected is not None and int(str(selected)) != grade:
            raise ValidationFailed(
                f"CTCAE Fever: selected grade {selected} disagrees with {shown} "
                f"(grade {grade}); correct the grade or the temperature",
                code="INSTR.E040",
                errors={"grade": [f"temperature gives grade {grade}"]},
            )
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=Decimal(grade),
            flags={
                "term": self.term,
                "ctcae_version": CTCAE_VERSION,
                "basis": "temperature",
                "unit": "[degF]" if exact is not None else "Cel",
                "definition": self.definitions.get(grade, "No fever (below 38.0 °C)."),
            },
            options=flag_options(options),
        )


CTCAE_SELECTABLE_INSTRUMENTS: tuple[Instrument, ...] = (
    SelectableGrade("infusion_related_reaction"),
    SelectableGrade("injection_site_reaction"),
    Fever(),
)
