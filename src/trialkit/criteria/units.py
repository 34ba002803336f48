"""Units in expressions: the criteria language's view of the one unit table.

The table itself is :mod:`trialkit.protocol.units` (symbols, UCUM codes, exact factors); this
module adds what only the criteria need. Two kinds of conversion exist:

* dimensional: within one dimension (mass concentration, molar concentration, enzyme activity,
  percentage, durations, dose per body mass), by the table's exact factors, e.g. 1 g/dL = 10 g/L;
* analyte-specific: between a mass and a molar concentration of one analyte, e.g. creatinine
  1 mg/dL = 88.42 µmol/L, keyed by ``(analyte, mass unit, molar unit)``.

Factors are exact :class:`~fractions.Fraction` values; nothing here uses binary floats.
Units are shown in the table's display spelling: ``umol/L`` (and the Greek mu ``μ``) is accepted
as a spelling of ``µmol/L``.
"""

from __future__ import annotations

from fractions import Fraction

from trialkit.protocol import units as _table

__all__ = [
    "ANALYTE_FACTORS",
    "FAMILIES",
    "UnitConversionError",
    "canonical_unit",
    "conversion_factor",
    "is_known_unit",
    "known_units",
]


def _families() -> dict[str, dict[str, Fraction]]:
    out: dict[str, dict[str, Fraction]] = {}
    for unit in _table.UNITS.values():
        family = _FAMILY_NAMES.get(unit.dimension, _table.dimension_label(unit.dimension))
        out.setdefault(family, {})[unit.display] = unit.fraction
    return out


# the criteria's names of the table's dimensions (as their messages have always said them)
_FAMILY_NAMES = {
    "substance_concentration": "molar concentration",
    "catalytic_concentration": "enzyme activity",
    "time": "duration",
    "time_years": "age",
}

# Family -> unit (display spelling) -> size in the family's base unit.
FAMILIES: dict[str, dict[str, Fraction]] = _families()

# (analyte, mass unit, molar unit): 1 mass unit = factor molar units.
ANALYTE_FACTORS: dict[tuple[str, str, str], Fraction] = {
    ("creatinine", "mg/dL", "µmol/L"): Fraction("88.42"),
    ("bilirubin", "mg/dL", "µmol/L"): Fraction("17.1"),
}


class UnitConversionError(ValueError):
    """Two units that cannot be converted into each other (for this analyte)."""


def canonical_unit(unit: str) -> str:
    """The table's display spelling of ``unit`` (``umol/L`` -> ``µmol/L``); unknown: as given."""
    found = _table.resolve(unit)
    return found.display if found is not None else unit


def is_known_unit(unit: str) -> bool:
    return _table.is_known(unit)


def known_units() -> tuple[str, ...]:
    return tuple(u for members in FAMILIES.values() for u in members)


def _family(unit: _table.Unit) -> str:
    return _FAMILY_NAMES.get(unit.dimension, _table.dimension_label(unit.dimension))


def _known(symbol: str) -> _table.Unit:
    unit = _table.resolve(symbol)
    if unit is None:  # the analyte factors name table units only
        raise UnitConversionError(f"unit {symbol!r} is not in the conversion table")
    return unit


def conversion_factor(from_unit: str, to_unit: str, analyte: str | None = None) -> Fraction:
    """The exact factor f with ``1 from_unit = f to_unit`` (for ``analyte`` where needed).

    Raises :class:`UnitConversionError` naming both units when there is no conversion.
    """
    src, dst = canonical_unit(from_unit), canonical_unit(to_unit)
    if src == dst:
        return Fraction(1)
    a, b = _table.resolve(src), _table.resolve(dst)
    if a is None or b is None:
        unknown = src if a is None else dst
        raise UnitConversionError(f"unit {unknown!r} is not in the conversion table")
    if a.dimension == b.dimension:
        return a.fraction / b.fraction
    mass, molar = "mass_concentration", "substance_concentration"
    if analyte is not None:
        for (name, mass_unit, molar_unit), factor in ANALYTE_FACTORS.items():
            if name != analyte:
                continue
            m, n = _known(mass_unit), _known(molar_unit)
            if a.dimension == mass and b.dimension == molar:
                # src -> mass_unit -> molar_unit -> dst
                return a.fraction / m.fraction * factor * n.fraction / b.fraction
            if a.dimension == molar and b.dimension == mass:
                return a.fraction / n.fraction / factor * m.fraction / b.fraction
    what = f" for {analyte}" if analyte else ""
    raise UnitConversionError(
        f"{src} ({_family(a)}) cannot be converted to {dst} ({_family(b)}){what}"
    )
