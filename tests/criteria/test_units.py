from __future__ import annotations

from fractions import Fraction

import pytest

from trialkit.criteria.units import UnitConversionError, conversion_factor


def test_dimensional() -> None:
    assert conversion_factor("g/dL", "g/L") == 10
    assert conversion_factor("g/L", "g/dL") == Fraction(1, 10)
    assert conversion_factor("mmol/L", "µmol/L") == 1000


def test_creatinine_is_analyte_specific_and_exact() -> None:
    assert conversion_factor("mg/dL", "µmol/L", "creatinine") == Fraction("88.42")
    assert conversion_factor("umol/L", "mg/dL", "creatinine") * Fraction("176.84") == 2
    assert conversion_factor("mmol/L", "mg/L", "creatinine") == Fraction(1000 * 10, 8842) * 100
    with pytest.raises(UnitConversionError):
        conversion_factor("mg/dL", "µmol/L")
    with pytest.raises(UnitConversionError):
        conversion_factor("mg/dL", "µmol/L", "alt")


def test_incompatible_families() -> None:
    with pytest.raises(UnitConversionError, match="cannot be converted"):
        conversion_factor("U/L", "mg/dL", "creatinine")
