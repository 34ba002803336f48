"""CDAI, the Crohn's Disease Activity Index (Best, Becktel, Singleton, Kern 1976)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from trialkit.instruments._numbers import fraction_to_decimal
from trialkit.instruments.base import Instrument, Value, flag_options
from trialkit.instruments.change import Number, as_fraction
from trialkit.instruments.items import ItemDef, OptionDef
from trialkit.instruments.result import ScoreResult

__all__ = [
    "CDAI",
    "CDAI_COMPLICATIONS",
    "REPORTED_ROUNDING",
    "Cdai",
    "cdai_category",
    "cdai_remission",
    "cdai_reported",
    "cdai_response",
]

DIARY_DAYS = 7
#: The six complication categories, 20 points each.
CDAI_COMPLICATIONS: dict[str, str] = {
    "arthritis_arthralgia": "Arthritis or arthralgia",
    "iritis_uveitis": "Iritis or uveitis",
    "skin_mouth_lesions": "Erythema nodosum, pyoderma gangrenosum or aphthous stomatitis",
    "anal_fissure_fistula_abscess": "Anal fissure, fistula or abscess",
    "other_fistula": "Other fistula",
    "fever": "Fever over 37.8 °C during the past week",
}
#: Standard hematocrit (%) by sex.
HEMATOCRIT_STANDARD = {"male": Fraction(47), "female": Fraction(42)}
WEIGHTS = {
    "liquid_stools": 2,
    "abdominal_pain": 5,
    "general_wellbeing": 7,
    "complications": 20,
    "antidiarrheal": 30,
    "abdominal_mass": 10,
    "hematocrit": 6,
    "weight": 1,
}
REMISSION_BELOW = Fraction(150)
#: How the reported (integer) CDAI is rounded from the exact value.
REPORTED_ROUNDING = "nearest integer, halves away from zero (ROUND_HALF_UP)"
SEVERE_ABOVE = Fraction(450)
MODERATE_FROM = Fraction(220)


def _diary(prefix: str, label: str, high: int | None) -> list[ItemDef]:
    return [
        ItemDef(
            name=f"{prefix}_day_{day}",
            label=f"{label}, diary day {day}",
            data_type="integer",
            minimum=Decimal(0),
            maximum=None if high is None else Decimal(high),
        )
        for day in range(1, DIARY_DAYS + 1)
    ]


def _items() -> tuple[ItemDef, ...]:
    items = _diary("liquid_stools", "Number of liquid or very soft stools", None)
    items += _diary("abdominal_pain", "Abdominal pain rating (0 none to 3 severe)", 3)
    items += _diary("general_wellbeing", "General well-being rating (0 well to 4 terrible)", 4)
    items += [
        ItemDef(name=key, label=label, data_type="boolean")
        for key, label in CDAI_COMPLICATIONS.items()
    ]
    items += [
        ItemDef(
            name="antidiarrheal",
            label="Opiate/antidiarrhoeal drug taken for diarrhoea",
            data_type="boolean",
        ),
        ItemDef(
            name="abdominal_mass",
            label="Abdominal mass",
            data_type="code",
            codes={"0": "none", "2": "questionable", "5": "definite"},
        ),
        ItemDef(
            name="sex", label="Sex", data_type="code", codes={"female": "Female", "male": "Male"}
        ),
        ItemDef(
            name="hematocrit",
            label="Hematocrit",
            data_type="decimal",
            minimum=Decimal(0),
            maximum=Decimal(100),
            unit="%",
        ),
        ItemDef(
            name="weight",
            label="Body weight",
            data_type="decimal",
            minimum=Decimal("0.1"),
            maximum=Decimal(500),
            unit="kg",
        ),
        ItemDef(
            name="standard_weight",
            label="Standard (ideal) body weight for height and sex",
            data_type="decimal",
            minimum=Decimal("0.1"),
            maximum=Decimal(500),
            unit="kg",
        ),
    ]
    return tuple(items)


class Cdai(Instrument):
    """CDAI: eight weighted variables from a 7-day diary, examination and laboratory."""

    name = "cdai"
    title = "CDAI"
    version = "CDAI Best 1976"
    reference = (
        "Best WR, Becktel JM, Singleton JW, Kern F Jr. Development of a Crohn's disease "
        "activity index. National Cooperative Crohn's Disease Study. Gastroenterology "
        "1976;70(3):439-444."
    )
    items = _items()
    options = (
        OptionDef(
            name="min_diary_days",
            data_type="integer",
            default=7,
            description=(
                "Diary days (of 7) each diary variable needs. Default 7: any missing day gives "
                "no score. With N < 7 (at least 4), a variable with N or more recorded days is "
                "pro-rated to 7 days (sum x 7 / days recorded)."
            ),
        ),
        OptionDef(
            name="weight_term_floor",
            data_type="decimal",
            default=None,
            description=(
                "Lowest value of the weight term (percent below standard weight). Default none: "
                "the published formula, negative when above standard weight. Many trials use -10."
            ),
        ),
        OptionDef(
            name="hematocrit_term_floor",
            data_type="decimal",
            default=None,
            description=(
                "Lowest value of the hematocrit deficit (standard - Hct) before weighting. "
                "Default none: the published formula (negative when Hct is above standard)."
            ),
        ),
    )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        min_days = options["min_diary_days"]
        assert isinstance(min_days, int)
        if not 4 <= min_days <= DIARY_DAYS:
            from trialkit.errors import ValidationFailed

            raise ValidationFailed(
                f"CDAI: option min_diary_days {min_days} is out of range 4..7; "
                "enter 7 (no pro-rating) or the fewest days the protocol accepts",
                code="INSTR.E002",
                errors={"min_diary_days": ["must be 4..7"]},
            )
        missing: list[str] = []
        sums: dict[str, Fraction] = {}
        prorated: list[str] = []
        for prefix in ("liquid_stools", "abdominal_pain", "general_wellbeing"):
            names = [f"{prefix}_day_{d}" for d in range(1, DIARY_DAYS + 1)]
            present = [values[n] for n in names if n in values]
            if len(present) < min_days:
                missing += [n for n in names if n not in values]
                continue
            total = sum((Fraction(v) for v in present if isinstance(v, Decimal)), Fraction(0))
            if len(present) < DIARY_DAYS:
                total = total * DIARY_DAYS / len(present)
                prorated.append(prefix)
            sums[prefix] = total
        single = [*CDAI_COMPLICATIONS, "antidiarrheal", "abdominal_mass", "sex", "hematocrit"]
        single += ["weight", "standard_weight"]
        missing += [n for n in single if n not in values]
        if missing:
            return self._missing(missing, options)

        complications = sum(1 for key in CDAI_COMPLICATIONS if values[key] is True)
        sex = values["sex"]
        assert isinstance(sex, str)
        hct = Fraction(_dec(values["hematocrit"]))
        hct_term = HEMATOCRIT_STANDARD[sex] - hct
        hct_floor = options["hematocrit_term_floor"]
        if isinstance(hct_floor, Decimal):
            hct_term = max(hct_term, Fraction(hct_floor))
        weight = Fraction(_dec(values["weight"]))
        standard = Fraction(_dec(values["standard_weight"]))
        weight_term = 100 * (1 - weight / standard)
        w_floor = options["weight_term_floor"]
        if isinstance(w_floor, Decimal):
            weight_term = max(weight_term, Fraction(w_floor))
        mass = Fraction(int(str(values["abdominal_mass"])))
        raw = {
            "liquid_stools": sums["liquid_stools"],
            "abdominal_pain": sums["abdominal_pain"],
            "general_wellbeing": sums["general_wellbeing"],
            "complications": Fraction(complications),
            "antidiarrheal": Fraction(1 if values["antidiarrheal"] is True else 0),
            "abdominal_mass": mass,
            "hematocrit": hct_term,
            "weight": weight_term,
        }
        terms = {key: raw[key] * WEIGHTS[key] for key in WEIGHTS}
        total = sum(terms.values(), Fraction(0))
        parts = {key: fraction_to_decimal(v) for key, v in terms.items()}
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=fraction_to_decimal(total),
            exact=total,
            parts=parts,
            flags={
                "reported": cdai_reported(total),
                "reported_rounding": REPORTED_ROUNDING,
                "category": cdai_category(total),
                "remission": cdai_remission(total),
                "severe": total > SEVERE_ABOVE,
                "prorated": ",".join(prorated) or None,
            },
            options=flag_options(options),
        )


def _dec(value: Value) -> Decimal:
    assert isinstance(value, Decimal)
    return value


CDAI = Cdai()


def cdai_reported(value: Number) -> int:
    """The CDAI as trials report it: an integer, rounded to the nearest, halves away from zero
    (:data:`REPORTED_ROUNDING`). Categories, remission and response use the exact value, so a
    reported 150 may be an exact 149.6, which is remission (< 150)."""
    exact = as_fraction(value)
    magnitude = math.floor(abs(exact) + Fraction(1, 2))
    return magnitude if exact >= 0 else -magnitude


def cdai_category(value: Number) -> str:
    """remission (< 150), mild (150-220), moderate (> 220-450), severe (> 450)."""
    v = as_fraction(value)
    if v < REMISSION_BELOW:
        return "remission"
    if v <= MODERATE_FROM:
        return "mild"
    if v <= SEVERE_ABOVE:
        return "moderate"
    return "severe"


def cdai_remission(value: Number, below: Number = REMISSION_BELOW) -> bool:
    """CDAI below ``below`` (strict; default 150, the classic remission cut-off)."""
    return as_fraction(value) < as_fraction(below, "below")


def cdai_response(baseline: Number, current: Number, drop: Number = 100) -> bool:
    """A fall of at least ``drop`` points from baseline (default 100; 70 is also used)."""
    return as_fraction(baseline) - as_fraction(current) >= as_fraction(drop, "drop")
