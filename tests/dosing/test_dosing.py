"""Dose arithmetic: the protocols' worked examples, unit conversion, deviations at the edges."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import trialkit.dosing as dosing
from trialkit.dosing import compute_dose, deviations
from trialkit.errors import DoseError
from trialkit.protocol import DoseRule, Quantity, resolve_study


@functools.cache
def _rule(study: str, arm: int = 0) -> DoseRule:
    return resolve_study(study).arms[arm].interventions[0].dose


def test_exosomes_50_ug_per_cm2_of_a_3_2_cm2_plaque() -> None:
    dose = compute_dose(_rule("psoriasis-adipose-exosomes"), basis_value=Decimal("3.2"))
    assert (dose.amount, dose.unit) == (Decimal("160"), "ug")
    assert dose.volume == Quantity(amount=Decimal("0.5"), unit="mL")
    assert str(dose) == "160 ug in 0.5 mL"


def test_plaque_area_in_mm2_is_converted() -> None:
    dose = compute_dose(
        _rule("psoriasis-adipose-exosomes"), basis_value=Decimal("320"), basis_unit="mm2"
    )
    assert dose.amount == Decimal("160")
    assert dose.basis == Decimal("3.2")


def test_cells_2e6_per_kg_of_70_kg() -> None:
    dose = compute_dose(_rule("psoriasis-ucmsc"), basis_value=Decimal("70"))
    assert dose.amount == Decimal("1.4E8")
    assert dose.unit == "cells"


def test_vials_with_a_factor() -> None:
    dose = compute_dose(_rule("ibd-placental-exosomes"), factor=3)
    assert (dose.amount, dose.unit) == (Decimal(3), "vial")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, "DOSE.E004"),
        ({"basis_value": Decimal(0)}, "DOSE.E005"),
        ({"basis_value": Decimal(1), "basis_unit": "kg"}, "DOSE.E002"),
        ({"basis_value": Decimal(1), "basis_unit": "furlong"}, "DOSE.E001"),
    ],
)
def test_dose_errors(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(DoseError) as err:
        compute_dose(_rule("psoriasis-adipose-exosomes"), **kwargs)  # type: ignore[arg-type]
    assert err.value.code == code


T = datetime(2025, 3, 3, 8, 0)


@pytest.mark.parametrize(
    ("minutes", "late"), [(-60, False), (-61, True), (60, False), (61, True), (0, False)]
)
def test_time_window_edges(minutes: int, late: bool) -> None:
    dose = compute_dose(_rule("ibd-placental-exosomes"))
    found = deviations(
        event_id="D1B",
        given_at=T + timedelta(minutes=minutes),
        earliest=T - timedelta(hours=1),
        latest=T + timedelta(hours=1),
        computed=dose,
        given_amount=Decimal(1),
        given_unit="vial",
    )
    assert [d.kind for d in found] == (["time"] if late else [])


def test_dose_difference_and_tolerance() -> None:
    dose = compute_dose(_rule("psoriasis-adipose-exosomes"), basis_value=Decimal("3.2"))

    def kinds(amount: str, unit: str = "ug", tol: str = "0") -> list[str]:
        found = deviations(
            event_id="INJ",
            given_at=T,
            earliest=None,
            latest=None,
            computed=dose,
            given_amount=Decimal(amount),
            given_unit=unit,
            tolerance=Decimal(tol),
        )
        return [d.kind for d in found]

    assert kinds("160") == []
    assert kinds("0.160", "mg") == []
    assert kinds("160.01") == ["dose"]
    assert kinds("168", tol="0.05") == []
    assert kinds("168.01", tol="0.05") == ["dose"]
    assert kinds("152", tol="0.05") == []


@given(st.decimals(min_value=Decimal("0.1"), max_value=Decimal(400), places=2))
def test_dose_is_linear_in_the_basis(area: Decimal) -> None:
    rule = _rule("psoriasis-adipose-exosomes")
    assert compute_dose(rule, basis_value=area).amount == rule.amount * area
    assert compute_dose(rule, basis_value=area * 100, basis_unit="mm2").amount == rule.amount * area


def test_all_is_exported() -> None:
    assert sorted(dosing.__all__) == sorted(set(dosing.__all__))
    for name in dosing.__all__:
        assert getattr(dosing, name) is not None
