"""Units in expressions: a small, explicit conversion table with exact factors.

Two kinds of conversion exist:

* dimensional: within one family (mass concentration, molar concentration, enzyme activity,
  percentage, time) by exact powers of ten, e.g. 1 g/dL = 10 g/L;
* analyte-specific: between a mass and a molar concentration of one analyte, e.g. creatinine
  1 mg/dL = 88.42 µmol/L, keyed by ``(analyte, mass unit, molar unit)``.

Factors are exact :class:`~fractions.Fraction` values; nothing here uses binary floats.
``umol/L`` is accepted as a spelling of ``µmol/L`` (and the Greek mu ``μ`` too).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "ANALYTE_FACTORS",
    "FAMILIES",
    "UnitConversionError",
    "canonical_unit",
    "conversion_factor",
    "is_known_unit",
    "known_units",
]

# Family -> unit -> size in the family's base unit.
FAMILIES: dict[str, dict[str, Fraction]] = {
    "mass concentration": {
        "g/L": Fraction(1000),
        "g/dL": Fraction(10000),
        "mg/dL": Fraction(10),
        "mg/L": Fraction(1),
        "µg/mL": Fraction(1),
        "µg/L": Fraction(1, 1000),
        "ng/mL": Fraction(1, 1000),
    },
    "molar concentration": {
        "mol/L": Fraction(1_000_000),
        "mmol/L": Fraction(1000),
        "µmol/L": Fraction(1),
        "nmol/L": Fraction(1, 1000),
    },
    "enzyme activity": {"U/L": Fraction(1), "IU/L": Fraction(1)},
    "fraction": {"%": Fraction(1)},
    "duration": {"days": Fraction(1), "weeks": Fraction(7)},
    "age": {"years": Fraction(1)},
}

# (analyte, mass unit, molar unit): 1 mass unit = factor molar units.
ANALYTE_FACTORS: dict[tuple[str, str, str], Fraction] = {
    ("creatinine", "mg/dL", "µmol/L"): Fraction("88.42"),
    ("bilirubin", "mg/dL", "µmol/L"): Fraction("17.1"),
}

_SPELLINGS = {"umol/L": "µmol/L", "μmol/L": "µmol/L", "ug/mL": "µg/mL", "μg/mL": "µg/mL"}


class UnitConversionError(ValueError):
    """Two units that cannot be converted into each other (for this analyte)."""


@dataclass(frozen=True)
class _Where:
    family: str
    size: Fraction


def canonical_unit(unit: str) -> str:
    """The table's spelling of ``unit`` (``umol/L`` -> ``µmol/L``)."""
    return _SPELLINGS.get(unit, unit)


def _where(unit: str) -> _Where | None:
    unit = canonical_unit(unit)
    for family, members in FAMILIES.items():
        if unit in members:
            return _Where(family, members[unit])
    return None


def is_known_unit(unit: str) -> bool:
    return _where(unit) is not None


def known_units() -> tuple[str, ...]:
    return tuple(u for members in FAMILIES.values() for u in members)


def conversion_factor(from_unit: str, to_unit: str, analyte: str | None = None) -> Fraction:
    """The exact factor f with ``1 from_unit = f to_unit`` (for ``analyte`` where needed).

    Raises :class:`UnitConversionError` naming both units when there is no conversion.
    """
    src, dst = canonical_unit(from_unit), canonical_unit(to_unit)
    if src == dst:
        return Fraction(1)
    a, b = _where(src), _where(dst)
    if a is None or b is None:
        unknown = src if a is None else dst
        raise UnitConversionError(f"unit {unknown!r} is not in the conversion table")
    if a.family == b.family:
        return a.size / b.size
    if analyte is not None:
        for (name, mass_unit, molar_unit), factor in ANALYTE_FACTORS.items():
            if name != analyte:
                continue
            mass, molar = FAMILIES["mass concentration"], FAMILIES["molar concentration"]
            if a.family == "mass concentration" and b.family == "molar concentration":
                # src -> mass_unit -> molar_unit -> dst
                return a.size / mass[mass_unit] * factor * molar[molar_unit] / b.size
            if a.family == "molar concentration" and b.family == "mass concentration":
                return a.size / molar[molar_unit] / factor * mass[mass_unit] / b.size
    what = f" for {analyte}" if analyte else ""
    raise UnitConversionError(f"{src} ({a.family}) cannot be converted to {dst} ({b.family}){what}")
