"""The one unit table checked against an independent UCUM implementation.

Every UCUM code must parse with ``ucumvert`` (a UCUM grammar onto pint), and within a dimension
the table's exact factors must agree with pint's (floats, so to 1e-12 relative). Annotations
(``{cells}``) are counts that UCUM leaves to the user; ``[IU]/L`` is kept apart by UCUM but
accepted as ``U/L`` by the table (see its docstring), so both are skipped here.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from itertools import combinations

import pytest

from trialkit.criteria.units import conversion_factor
from trialkit.protocol import units

ucumvert = pytest.importorskip("ucumvert")

_REG = ucumvert.PintUcumRegistry()
_CHECKED = [u for u in units.UNITS.values() if "{" not in u.ucum and "[IU]" not in u.ucum]


@pytest.mark.parametrize("unit", _CHECKED, ids=lambda u: u.symbol)
def test_every_ucum_code_parses(unit: units.Unit) -> None:
    _REG.from_ucum(unit.ucum)


def _pairs() -> list[tuple[units.Unit, units.Unit]]:
    return [
        (a, b)
        for a, b in combinations(_CHECKED, 2)
        if a.dimension == b.dimension and a.dimension != "temperature"
    ]


@pytest.mark.parametrize("pair", _pairs(), ids=lambda p: f"{p[0].symbol}-{p[1].symbol}")
def test_factors_agree_with_pint(pair: tuple[units.Unit, units.Unit]) -> None:
    a, b = pair
    ratio = (_REG.from_ucum(a.ucum) / _REG.from_ucum(b.ucum)).to("dimensionless").magnitude
    assert math.isclose(ratio, float(a.fraction / b.fraction), rel_tol=1e-12)


def test_new_units_for_the_criteria() -> None:
    # fecal calprotectin is reported in µg/g, a dose per body mass in mg/kg: the same dimension
    assert units.ucum("µg/g") == "ug/g"
    assert units.ucum("mg/kg") == "mg/kg"
    assert conversion_factor("mg/kg", "µg/g") == 1
    assert conversion_factor("mg/g", "µg/g") == 1000
    assert units.convert(Decimal("250"), "ug/g", "mg/g") == Decimal("0.25")


def test_one_table_serves_protocol_and_criteria() -> None:
    for unit in units.UNITS.values():
        assert units.resolve(unit.ucum) is not None
        assert units.resolve(unit.display) == unit
    assert conversion_factor("umol/L", "mmol/L") == Fraction(1, 1000)
    assert units.ucum("10^9/L") == "10*9/L"
    assert units.ucum("mmHg") == "mm[Hg]"
    with pytest.raises(ValueError, match="unknown unit 'furlong'"):
        units.ucum("furlong")
