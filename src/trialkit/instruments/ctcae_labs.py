"""CTCAE v5.0 grading of laboratory adverse events from value, limits of normal and baseline.

Boundaries are read exactly as CTCAE v5.0 writes them: ">3.0 - 5.0 x ULN" means above 3.0
times ULN up to and including 5.0 times ULN; "1.5 - 3.0 x baseline" (no ">") includes 1.5;
"<LLN - 10.0 g/dL" means below LLN down to and including 10.0. A laboratory value alone never
gives grade 5 (death) nor the clinical parts of a grade; anemia reaches at most grade 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from trialkit.instruments._numbers import fraction_to_decimal
from trialkit.instruments.base import Instrument, Value, flag_options, required_missing
from trialkit.instruments.items import ItemDef
from trialkit.instruments.result import ScoreResult

__all__ = [
    "CTCAE_LAB_INSTRUMENTS",
    "CTCAE_VERSION",
    "CountDecreased",
    "CreatinineIncreased",
    "HemoglobinDecreased",
    "LiverTestIncreased",
    "grade_count_decreased",
    "grade_creatinine",
    "grade_hemoglobin",
    "grade_liver_test",
]

CTCAE_VERSION = "CTCAE v5.0"
CTCAE_REFERENCE = (
    "National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE) "
    "Version 5.0, published November 27, 2017. U.S. Department of Health and Human Services."
)


@dataclass(frozen=True)
class LiverRule:
    """Multiples of ULN (normal baseline) or of baseline (abnormal baseline) per grade."""

    g1_upper: Fraction  # grade 1 up to this multiple (inclusive); >ULN from below
    abnormal_g1_lower: Fraction  # grade 1 from this multiple of an abnormal baseline
    abnormal_g1_lower_strict: bool  # True when v5.0 writes ">" before it (bilirubin)
    g2_upper: Fraction
    g3_upper: Fraction


_F = Fraction
LIVER_RULES: dict[str, LiverRule] = {
    "alt": LiverRule(_F(3), _F(3, 2), False, _F(5), _F(20)),
    "ast": LiverRule(_F(3), _F(3, 2), False, _F(5), _F(20)),
    "alp": LiverRule(_F(5, 2), _F(2), False, _F(5), _F(20)),
    "ggt": LiverRule(_F(5, 2), _F(2), False, _F(5), _F(20)),
    "bilirubin": LiverRule(_F(3, 2), _F(1), True, _F(3), _F(10)),
}


def grade_liver_test(
    test: str, value: Decimal, uln: Decimal, baseline: Decimal
) -> tuple[int, str, Fraction]:
    """Grade, basis ("ULN" or "baseline") and the multiple used, for ALT/AST/ALP/GGT/bilirubin.

    A baseline at or below ULN is normal: multiples of ULN apply. A baseline above ULN is
    abnormal: multiples of the baseline apply.
    """
    rule = LIVER_RULES[test]
    if baseline <= uln:
        basis, ratio = "ULN", Fraction(value) / Fraction(uln)
        if ratio <= 1:
            return 0, basis, ratio
    else:
        basis, ratio = "baseline", Fraction(value) / Fraction(baseline)
        low = rule.abnormal_g1_lower
        below = ratio <= low if rule.abnormal_g1_lower_strict else ratio < low
        if below:
            return 0, basis, ratio
    if ratio <= rule.g1_upper:
        return 1, basis, ratio
    if ratio <= rule.g2_upper:
        return 2, basis, ratio
    if ratio <= rule.g3_upper:
        return 3, basis, ratio
    return 4, basis, ratio


def grade_creatinine(
    value: Decimal, uln: Decimal, baseline: Decimal | None
) -> tuple[int, str, Fraction]:
    """Creatinine increased: the higher of the ULN-based and (if given) baseline-based grades.

    ULN: >1-1.5 g1, >1.5-3.0 g2, >3.0-6.0 g3, >6.0 g4. Baseline: >1.5-3.0 g2, >3.0 g3.
    """
    r_uln = Fraction(value) / Fraction(uln)
    by_uln = (
        4 if r_uln > 6 else 3 if r_uln > 3 else 2 if r_uln > _F(3, 2) else 1 if r_uln > 1 else 0
    )
    if baseline is None:
        return by_uln, "ULN", r_uln
    r_base = Fraction(value) / Fraction(baseline)
    by_base = 3 if r_base > 3 else 2 if r_base > _F(3, 2) else 0
    if by_base > by_uln:
        return by_base, "baseline", r_base
    return by_uln, "ULN", r_uln


#: Hemoglobin thresholds (grade 2 below, grade 3 below) by unit, as CTCAE v5.0 states them.
HEMOGLOBIN_UNITS: dict[str, tuple[Fraction, Fraction]] = {
    "g/dL": (_F(10), _F(8)),
    "g/L": (_F(100), _F(80)),
    "mmol/L": (_F(62, 10), _F(49, 10)),
}


def grade_hemoglobin(value: Decimal, lln: Decimal, unit: str) -> int:
    """Anemia: <LLN-10.0 g/dL g1, <10.0-8.0 g2, <8.0 g3 (grade 4 is clinical, not from a value)."""
    g2_below, g3_below = HEMOGLOBIN_UNITS[unit]
    v = Fraction(value)
    if v >= Fraction(lln):
        return 0
    if v < g3_below:
        return 3
    if v < g2_below:
        return 2
    return 1


#: Thresholds in 10^9/L below which grades 2, 3 and 4 start.
COUNT_RULES: dict[str, tuple[Fraction, Fraction, Fraction]] = {
    "neutrophil": (_F(3, 2), _F(1), _F(1, 2)),
    "lymphocyte": (_F(4, 5), _F(1, 2), _F(1, 5)),
    "platelet": (_F(75), _F(50), _F(25)),
    "white_blood_cell": (_F(3), _F(2), _F(1)),
}
#: Units accepted for counts and their factor to 10^9/L.
COUNT_UNITS: dict[str, Fraction] = {"10*9/L": _F(1), "/mm3": _F(1, 1000)}


def grade_count_decreased(cell: str, value: Decimal, lln: Decimal, unit: str) -> int:
    """Neutrophil, lymphocyte, platelet or white cell count decreased (value and LLN in unit)."""
    factor = COUNT_UNITS[unit]
    v, low = Fraction(value) * factor, Fraction(lln) * factor
    g2, g3, g4 = COUNT_RULES[cell]
    if v >= low:
        return 0
    if v < g4:
        return 4
    if v < g3:
        return 3
    if v < g2:
        return 2
    return 1


def _num(name: str, label: str, unit: str | None, required: bool = True) -> ItemDef:
    return ItemDef(
        name=name,
        label=label,
        data_type="decimal",
        minimum=Decimal(0),
        unit=unit,
        required=required,
    )


def _dec(v: Value | None) -> Decimal | None:
    return v if isinstance(v, Decimal) else None


class _Lab(Instrument):
    score_range = (Decimal(0), Decimal(4))
    version = CTCAE_VERSION
    reference = CTCAE_REFERENCE
    term: str

    def _graded(
        self, grade: int, options: dict[str, object], **flags: bool | str | Decimal | int | None
    ) -> ScoreResult:
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=Decimal(grade),
            flags={"term": self.term, "ctcae_version": CTCAE_VERSION, **flags},
            options=flag_options(options),
        )

    def _zero_limit(self, name: str, options: dict[str, object]) -> ScoreResult:
        return self._missing(
            [name],
            options,
            why=f"{self.title}: no grade, {name} is 0; enter the laboratory's limit",
        )


class LiverTestIncreased(_Lab):
    """ALT, AST, alkaline phosphatase, GGT or total bilirubin increased."""

    def __init__(self, test: str, term: str) -> None:
        self.test = test
        self.term = term
        self.name = f"ctcae_{test}_increased"
        self.title = f"CTCAE {term}"
        self.items = (
            _num("value", f"{term}: measured value", "{same unit as uln}"),
            _num("uln", "Upper limit of normal", "{same unit as value}"),
            _num(
                "baseline",
                "Baseline value (at the baseline visit, the value itself)",
                "{same unit as value}",
            ),
        )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = required_missing(self, values)
        if missing:
            return self._missing(missing, options)
        value, uln, baseline = (_dec(values[k]) for k in ("value", "uln", "baseline"))
        assert value is not None
        assert uln is not None
        assert baseline is not None
        if uln == 0:
            return self._zero_limit("uln", options)
        grade, basis, ratio = grade_liver_test(self.test, value, uln, baseline)
        return self._graded(
            grade,
            options,
            basis=basis,
            multiple=fraction_to_decimal(ratio),
            baseline_normal=baseline <= uln,
        )


class CreatinineIncreased(_Lab):
    """Creatinine increased (baseline optional)."""

    name = "ctcae_creatinine_increased"
    term = "Creatinine increased"
    title = "CTCAE Creatinine increased"
    items = (
        _num("value", "Creatinine: measured value", "{same unit as uln}"),
        _num("uln", "Upper limit of normal", "{same unit as value}"),
        _num("baseline", "Baseline creatinine", "{same unit as value}", required=False),
    )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = required_missing(self, values)
        if missing:
            return self._missing(missing, options)
        value, uln, baseline = (_dec(values.get(k)) for k in ("value", "uln", "baseline"))
        assert value is not None
        assert uln is not None
        if uln == 0:
            return self._zero_limit("uln", options)
        if baseline is not None and baseline == 0:
            return self._zero_limit("baseline", options)
        grade, basis, ratio = grade_creatinine(value, uln, baseline)
        return self._graded(grade, options, basis=basis, multiple=fraction_to_decimal(ratio))


class HemoglobinDecreased(_Lab):
    """Anemia, graded from hemoglobin."""

    name = "ctcae_anemia"
    score_range = (Decimal(0), Decimal(3))
    term = "Anemia"
    title = "CTCAE Anemia"
    items = (
        _num("hemoglobin", "Hemoglobin", "{unit item}"),
        _num("lln", "Lower limit of normal", "{unit item}"),
        ItemDef(
            name="unit",
            label="Unit of hemoglobin and LLN",
            data_type="code",
            codes={u: u for u in HEMOGLOBIN_UNITS},
        ),
    )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = required_missing(self, values)
        if missing:
            return self._missing(missing, options)
        hb, lln = _dec(values["hemoglobin"]), _dec(values["lln"])
        assert hb is not None
        assert lln is not None
        unit = str(values["unit"])
        return self._graded(grade_hemoglobin(hb, lln, unit), options, unit=unit)


class CountDecreased(_Lab):
    """A blood cell count decreased."""

    def __init__(self, cell: str, term: str) -> None:
        self.cell = cell
        self.term = term
        self.name = f"ctcae_{cell}_count_decreased"
        self.title = f"CTCAE {term}"
        self.items = (
            _num("value", f"{term}: measured count", "{unit item}"),
            _num("lln", "Lower limit of normal", "{unit item}"),
            ItemDef(
                name="unit",
                label="Unit of the count and LLN",
                data_type="code",
                codes={"10*9/L": "x 10^9 cells per litre", "/mm3": "cells per cubic millimetre"},
            ),
        )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = required_missing(self, values)
        if missing:
            return self._missing(missing, options)
        value, lln = _dec(values["value"]), _dec(values["lln"])
        assert value is not None
        assert lln is not None
        unit = str(values["unit"])
        return self._graded(grade_count_decreased(self.cell, value, lln, unit), options, unit=unit)


CTCAE_LAB_INSTRUMENTS: tuple[Instrument, ...] = (
    LiverTestIncreased("alt", "Alanine aminotransferase increased"),
    LiverTestIncreased("ast", "Aspartate aminotransferase increased"),
    LiverTestIncreased("alp", "Alkaline phosphatase increased"),
    LiverTestIncreased("ggt", "GGT increased"),
    LiverTestIncreased("bilirubin", "Blood bilirubin increased"),
    CreatinineIncreased(),
    HemoglobinDecreased(),
    CountDecreased("neutrophil", "Neutrophil count decreased"),
    CountDecreased("lymphocyte", "Lymphocyte count decreased"),
    CountDecreased("platelet", "Platelet count decreased"),
    CountDecreased("white_blood_cell", "White blood cell decreased"),
)
