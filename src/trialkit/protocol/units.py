"""The one unit table: every unit a study, a criterion or an export names, with its UCUM code.

Dose rules, items, reference ranges and eligibility expressions name units by these symbols
(ASCII, UCUM-like: ``ug`` for micrograms, ``cm2`` for square centimetres; common spellings such
as ``µg``, ``umol/L`` or ``°C`` are accepted). Each unit carries

* its **dimension** and an exact **factor** to the dimension's base unit, so that ``convert``
  changes a quantity between units of one dimension exactly (``Decimal`` in, ``Decimal`` out) and
  ``factor_between`` gives the exact :class:`~fractions.Fraction`;
* its **UCUM code** (``ug``, ``10*9/L``, ``mm[Hg]``, ``{cells}``), which is what the exports write
  (CDISC ODM, SDTM and FHIR expect UCUM);
* its **display** spelling, the one the criteria language shows (``µmol/L``).

The table is written by hand on purpose: its factors are exact decimals, which a float-based
library (pint) does not give, and the tests check every UCUM code and every factor against pint
through the ``ucumvert`` UCUM parser (tests/protocol/test_units_ucum.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "UNITS",
    "Unit",
    "convert",
    "dimension_label",
    "factor_between",
    "is_known",
    "resolve",
    "ucum",
]


@dataclass(frozen=True)
class Unit:
    """A unit symbol, its dimension, how many base units one of it is, and its UCUM code."""

    symbol: str
    dimension: str
    factor: Decimal
    name: str
    ucum: str
    display: str

    @property
    def fraction(self) -> Fraction:
        """``factor`` as an exact fraction."""
        return Fraction(self.factor)


def _u(
    symbol: str, dimension: str, factor: str, name: str, ucum: str = "", display: str = ""
) -> Unit:
    return Unit(symbol, dimension, Decimal(factor), name, ucum or symbol, display or symbol)


_TABLE = [
    # mass (base: gram)
    _u("pg", "mass", "1e-12", "picogram"),
    _u("ng", "mass", "1e-9", "nanogram"),
    _u("ug", "mass", "1e-6", "microgram", display="µg"),
    _u("mg", "mass", "1e-3", "milligram"),
    _u("g", "mass", "1", "gram"),
    _u("kg", "mass", "1e3", "kilogram"),
    # volume (base: litre)
    _u("uL", "volume", "1e-6", "microlitre", display="µL"),
    _u("mL", "volume", "1e-3", "millilitre"),
    _u("dL", "volume", "1e-1", "decilitre"),
    _u("L", "volume", "1", "litre"),
    # area (base: square centimetre)
    _u("mm2", "area", "0.01", "square millimetre"),
    _u("cm2", "area", "1", "square centimetre"),
    _u("m2", "area", "10000", "square metre"),
    # length (base: centimetre)
    _u("mm", "length", "0.1", "millimetre"),
    _u("cm", "length", "1", "centimetre"),
    _u("m", "length", "100", "metre"),
    # counts of things (each its own dimension: a vial is not a cell)
    _u("cells", "cells", "1", "cells", "{cells}"),
    _u("particles", "particles", "1", "particles", "{particles}"),
    _u("vial", "vials", "1", "vial", "{vial}"),
    _u("injection", "injections", "1", "injection", "{injection}"),
    # time (base: second); months and years are calendar units, each its own dimension
    _u("s", "time", "1", "second"),
    _u("min", "time", "60", "minute"),
    _u("h", "time", "3600", "hour"),
    _u("d", "time", "86400", "day"),
    _u("days", "time", "86400", "days", "d"),
    _u("wk", "time", "604800", "week"),
    _u("weeks", "time", "604800", "weeks", "wk"),
    _u("mo", "time_months", "1", "month"),
    _u("a", "time_years", "1", "year"),
    _u("years", "time_years", "1", "year", "a"),
    # dimensionless scores and fractions
    _u("%", "fraction", "0.01", "percent"),
    _u("1", "fraction", "1", "unitless"),
    _u("score", "score", "1", "score points", "{score}"),
    # dose per body mass and content per sample mass (base: gram per gram)
    _u("mg/kg", "mass_content", "1e-6", "milligrams per kilogram"),
    _u("ug/kg", "mass_content", "1e-9", "micrograms per kilogram", display="µg/kg"),
    _u("ug/g", "mass_content", "1e-6", "micrograms per gram", display="µg/g"),
    _u("mg/g", "mass_content", "1e-3", "milligrams per gram"),
    _u("umol/g", "substance_content", "1", "micromoles per gram", display="µmol/g"),
    # clinical laboratory concentrations (mass: base mg/L; substance: base µmol/L)
    _u("g/L", "mass_concentration", "1000", "grams per litre"),
    _u("g/dL", "mass_concentration", "10000", "grams per decilitre"),
    _u("mg/dL", "mass_concentration", "10", "milligrams per decilitre"),
    _u("mg/L", "mass_concentration", "1", "milligrams per litre"),
    _u("ug/mL", "mass_concentration", "1", "micrograms per millilitre", display="µg/mL"),
    _u("ug/L", "mass_concentration", "1e-3", "micrograms per litre", display="µg/L"),
    _u("ng/mL", "mass_concentration", "1e-3", "nanograms per millilitre"),
    _u("pg/mL", "mass_concentration", "1e-6", "picograms per millilitre"),
    _u("mol/L", "substance_concentration", "1e6", "moles per litre"),
    _u("mmol/L", "substance_concentration", "1000", "millimoles per litre"),
    _u("umol/L", "substance_concentration", "1", "micromoles per litre", display="µmol/L"),
    _u("nmol/L", "substance_concentration", "1e-3", "nanomoles per litre"),
    # catalytic activity: IU/L is accepted as U/L (UCUM keeps [IU] apart; labs do not)
    _u("U/L", "catalytic_concentration", "1", "units per litre"),
    _u("IU/L", "catalytic_concentration", "1", "international units per litre", "[IU]/L"),
    _u("10^9/L", "cell_concentration", "1e9", "10^9 cells per litre", "10*9/L"),
    _u("/mm3", "cell_concentration", "1e6", "cells per cubic millimetre"),
    _u("mmHg", "pressure", "1", "millimetres of mercury", "mm[Hg]"),
    _u("Cel", "temperature", "1", "degrees Celsius", display="°C"),
    _u("/min", "rate", "1", "per minute"),
]

UNITS: dict[str, Unit] = {u.symbol: u for u in _TABLE}

_ALIASES = {
    "µg": "ug",
    "μg": "ug",
    "mcg": "ug",
    "µL": "uL",
    "μL": "uL",
    "cm²": "cm2",
    "mm²": "mm2",
    "m²": "m2",
    "/mm³": "/mm3",
    "°C": "Cel",
    "ml": "mL",
    "l": "L",
    "u/l": "U/L",
    "year": "years",
    "day": "days",
    "week": "weeks",
    "cell": "cells",
    "vials": "vial",
    "particle": "particles",
    "10*9/L": "10^9/L",
    "mm[Hg]": "mmHg",
    "[IU]/L": "IU/L",
}
# every µ (micro sign) or μ (Greek mu) spelling of a u-unit, and every UCUM code, resolves too
for _unit in _TABLE:
    if "u" in _unit.symbol and _unit.display != _unit.symbol:
        _ALIASES.setdefault(_unit.display, _unit.symbol)
        _ALIASES.setdefault(_unit.display.replace("µ", "μ"), _unit.symbol)
    if _unit.ucum not in UNITS:
        _ALIASES.setdefault(_unit.ucum, _unit.symbol)
del _unit


def resolve(symbol: str) -> Unit | None:
    """The unit for ``symbol`` (or a common alias such as ``µg``), or ``None`` if unknown."""
    key = symbol.strip()
    return UNITS.get(key) or UNITS.get(_ALIASES.get(key, _ALIASES.get(key.lower(), "")))


def is_known(symbol: str) -> bool:
    return resolve(symbol) is not None


def ucum(symbol: str) -> str:
    """The UCUM code of ``symbol`` (``10^9/L`` -> ``10*9/L``); unknown symbols raise ValueError."""
    unit = resolve(symbol)
    if unit is None:
        raise ValueError(f"unknown unit {symbol!r}; known units: {', '.join(sorted(UNITS))}")
    return unit.ucum


def dimension_label(dimension: str) -> str:
    """A dimension as people read it: ``mass_concentration`` -> ``mass concentration``."""
    return dimension.replace("_", " ")


def factor_between(from_symbol: str, to_symbol: str) -> Fraction:
    """The exact f with ``1 from_symbol = f to_symbol``; both must share a dimension."""
    a, b = resolve(from_symbol), resolve(to_symbol)
    if a is None or b is None:
        unknown = from_symbol if a is None else to_symbol
        raise ValueError(f"unknown unit {unknown!r}; known units: {', '.join(sorted(UNITS))}")
    if a.dimension != b.dimension:
        raise ValueError(
            f"cannot convert {from_symbol} ({dimension_label(a.dimension)}) to {to_symbol} "
            f"({dimension_label(b.dimension)})"
        )
    return a.fraction / b.fraction


def convert(value: Decimal, from_symbol: str, to_symbol: str) -> Decimal:
    """``value`` in ``from_symbol`` expressed in ``to_symbol``; both must share a dimension."""
    factor_between(from_symbol, to_symbol)  # raises on unknown or different dimensions
    a, b = UNITS[_symbol(from_symbol)], UNITS[_symbol(to_symbol)]
    return value * a.factor / b.factor


def _symbol(known: str) -> str:
    unit = resolve(known)
    return unit.symbol if unit is not None else known
