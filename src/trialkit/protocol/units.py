"""The units a study definition may name, with their dimension and factor to a base unit.

Dose rules, items and reference ranges name units by these symbols (UCUM-like, ASCII: ``ug`` for
micrograms, ``cm2`` for square centimetres). ``resolve`` turns a symbol into a :class:`Unit`;
``convert`` changes a quantity between units of one dimension, exactly (``Decimal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["UNITS", "Unit", "convert", "is_known", "resolve"]


@dataclass(frozen=True)
class Unit:
    """A unit symbol, its dimension and how many base units one of it is."""

    symbol: str
    dimension: str
    factor: Decimal
    name: str


def _u(symbol: str, dimension: str, factor: str, name: str) -> Unit:
    return Unit(symbol, dimension, Decimal(factor), name)


_TABLE = [
    # mass (base: gram)
    _u("ng", "mass", "1e-9", "nanogram"),
    _u("ug", "mass", "1e-6", "microgram"),
    _u("mg", "mass", "1e-3", "milligram"),
    _u("g", "mass", "1", "gram"),
    _u("kg", "mass", "1e3", "kilogram"),
    # volume (base: litre)
    _u("uL", "volume", "1e-6", "microlitre"),
    _u("mL", "volume", "1e-3", "millilitre"),
    _u("dL", "volume", "1e-1", "decilitre"),
    _u("L", "volume", "1", "litre"),
    # area (base: square centimetre)
    _u("mm2", "area", "0.01", "square millimetre"),
    _u("cm2", "area", "1", "square centimetre"),
    _u("m2", "area", "10000", "square metre"),
    # length
    _u("mm", "length", "0.1", "millimetre"),
    _u("cm", "length", "1", "centimetre"),
    _u("m", "length", "100", "metre"),
    # counts of things (each its own dimension: a vial is not a cell)
    _u("cells", "cells", "1", "cells"),
    _u("particles", "particles", "1", "particles"),
    _u("vial", "vials", "1", "vial"),
    _u("injection", "injections", "1", "injection"),
    # time
    _u("s", "time", "1", "second"),
    _u("min", "time", "60", "minute"),
    _u("h", "time", "3600", "hour"),
    _u("d", "time", "86400", "day"),
    _u("wk", "time", "604800", "week"),
    _u("mo", "time_months", "1", "month"),
    _u("a", "time_years", "1", "year"),
    _u("years", "time_years", "1", "year"),
    # dimensionless scores and fractions
    _u("%", "fraction", "0.01", "percent"),
    _u("1", "fraction", "1", "unitless"),
    _u("score", "score", "1", "score points"),
    # clinical laboratory concentrations and activities
    _u("U/L", "catalytic_concentration", "1", "units per litre"),
    _u("mg/dL", "mass_concentration", "10", "milligrams per decilitre"),
    _u("mg/L", "mass_concentration", "1", "milligrams per litre"),
    _u("g/dL", "mass_concentration", "10000", "grams per decilitre"),
    _u("g/L", "mass_concentration", "1000", "grams per litre"),
    _u("ug/g", "mass_content", "1", "micrograms per gram"),
    _u("umol/g", "substance_content", "1", "micromoles per gram"),
    _u("pg/mL", "mass_concentration", "1e-6", "picograms per millilitre"),
    _u("umol/L", "substance_concentration", "1", "micromoles per litre"),
    _u("mmol/L", "substance_concentration", "1000", "millimoles per litre"),
    _u("10^9/L", "cell_concentration", "1e9", "10^9 cells per litre"),
    _u("/mm3", "cell_concentration", "1e6", "cells per cubic millimetre"),
    _u("mmHg", "pressure", "1", "millimetres of mercury"),
    _u("Cel", "temperature", "1", "degrees Celsius"),
    _u("/min", "rate", "1", "per minute"),
]

UNITS: dict[str, Unit] = {u.symbol: u for u in _TABLE}
_ALIASES = {
    "µg": "ug",
    "μg": "ug",
    "µL": "uL",
    "μL": "uL",
    "µmol/L": "umol/L",
    "cm²": "cm2",
    "mm²": "mm2",
    "m²": "m2",
    "°C": "Cel",
    "ml": "mL",
    "l": "L",
    "u/l": "U/L",
    "year": "years",
    "cell": "cells",
    "vials": "vial",
    "particle": "particles",
}


def resolve(symbol: str) -> Unit | None:
    """The unit for ``symbol`` (or a common alias such as ``µg``), or ``None`` if unknown."""
    key = symbol.strip()
    return UNITS.get(key) or UNITS.get(_ALIASES.get(key, _ALIASES.get(key.lower(), "")))


def is_known(symbol: str) -> bool:
    return resolve(symbol) is not None


def convert(value: Decimal, from_symbol: str, to_symbol: str) -> Decimal:
    """``value`` in ``from_symbol`` expressed in ``to_symbol``; both must share a dimension."""
    a, b = resolve(from_symbol), resolve(to_symbol)
    if a is None or b is None:
        unknown = from_symbol if a is None else to_symbol
        raise ValueError(f"unknown unit {unknown!r}; known units: {', '.join(sorted(UNITS))}")
    if a.dimension != b.dimension:
        raise ValueError(
            f"cannot convert {from_symbol} ({a.dimension}) to {to_symbol} ({b.dimension})"
        )
    return value * a.factor / b.factor
