from __future__ import annotations

from decimal import Decimal

from trialkit.protocol import Quantity
from trialkit.registry.doses import find_dose, find_infusion_duration, find_product, find_route


def test_dose_per_area_with_volume_and_diluent() -> None:
    dose = find_dose(
        "Single intra-dermal injection of 50 µg of exosomes per cm² of plaque into 0.5 ml of "
        "normal saline and follow up."
    )
    assert dose is not None
    assert (dose.amount, dose.unit, dose.per, dose.basis_item) == (
        Decimal(50),
        "ug",
        "cm2",
        "plaque_area",
    )
    assert dose.volume == Quantity(amount=Decimal("0.5"), unit="mL")
    assert dose.diluent == "normal saline"


def test_ranges_and_parenthesised_equivalents_are_not_doses() -> None:
    dose = find_dose(
        "3 vials (equivalent to 1011 particles or 250-300 micrograms) then one vial daily"
    )
    assert dose is not None
    assert (dose.amount, dose.unit) == (Decimal(1), "vial")
    assert find_dose("250-300 micrograms of exosome") is None
    assert find_dose("An inactive substance") is None


def test_dose_per_kg_uses_weight() -> None:
    dose = find_dose("2.5 mg per kg by infusion")
    assert dose is not None
    assert (dose.amount, dose.per, dose.basis_item) == (Decimal("2.5"), "kg", "weight")


def test_route_site_duration_and_product() -> None:
    text = "placental stem cells-derived exosomes slowly (5 to 10 minutes) into the central vein"
    assert find_route(text) == ("intravenous", "central vein")
    duration = find_infusion_duration(text)
    assert duration is not None
    assert (duration.low, duration.high, duration.unit) == (Decimal(5), Decimal(10), "min")
    product = find_product("p", text)
    assert (product.kind, product.source) == ("exosomes", "placental")
    assert find_route("taken with water") is None
    assert find_product("Genius", "a radiofrequency system", "DEVICE").kind == "device"
