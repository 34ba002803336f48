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


def test_a_loading_and_a_maintenance_dose_are_two_doses() -> None:
    from trialkit.registry.doses import find_doses

    doses = find_doses(
        "Two subcutaneous injections of Dupilumab 300 mg (for a total of 600 mg) as a loading "
        "dose on Day 1, followed by a single 300 mg injection qw from Week 1 to Week 15."
    )
    assert [(label, d.amount, d.unit) for label, d in doses] == [
        ("loading dose", Decimal(600), "mg"),
        ("maintenance dose", Decimal(300), "mg"),
    ]
    conditioning = find_doses(
        "Each subject will receive an initial conditioning dose of 0.7 mg/kg/week and then will "
        "continue treatment at a dose of 1.0 mg/kg/week."
    )
    assert [(d.amount, d.per) for _, d in conditioning] == [
        (Decimal("0.7"), "kg"),
        (Decimal("1.0"), "kg"),
    ]
    placebo = find_doses(
        "Two subcutaneous injections of Placebo as a loading dose on Day 1 followed by a single "
        "injection qw from Week 1 to Week 15."
    )
    assert [(d.amount, d.unit) for _, d in placebo] == [
        (Decimal(2), "injection"),
        (Decimal(1), "injection"),
    ]
    # one dose, whatever the schedule says
    assert [label for label, _ in find_doses("300 mg at weeks 0, 2 and 6, then every 8 weeks")] == [
        None
    ]
    assert find_doses("given as a loading dose") == []


def test_cells_per_kg_are_an_exact_count() -> None:
    from trialkit.registry.doses import find_dose

    dose = find_dose("Each infusion will consist of 1 million MSC/kg suspended in 50 mL of saline")
    assert dose is not None
    assert (dose.amount, dose.unit, dose.per, dose.basis_item) == (
        Decimal(1_000_000),
        "cells",
        "kg",
        "weight",
    )
    dose = find_dose("2 x 10^6 cells per kg of body weight")
    assert dose is not None
    assert dose.amount == Decimal(2_000_000)
    assert str(find_dose("Cisplatin 75 mg/m2 by continuous infusion")) == (
        "75 mg per m2 of body_surface_area"
    )


def test_a_biological_product_is_a_biological() -> None:
    from trialkit.protocol import check_study
    from trialkit.registry import parse_ctgov

    assert find_product("UCMSC", "Biological: UCMSC", "BIOLOGICAL").kind == "biological"
    # registered without a type, a monoclonal antibody is read as a biological
    assert find_product("h-R3", "TheraCIM h-R3 MAb 200 mg").kind == "biological"
    assert find_product("Vedolizumab", "vedolizumab 300 mg").kind == "biological"
    assert (
        find_product("Dupilumab", "Administered via subcutaneous injection", "DRUG").kind == "drug"
    )
    # ... so the dose checks that apply to it can fire
    doc = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT01234567", "briefTitle": "A trial"},
            "designModule": {"studyType": "INTERVENTIONAL", "enrollmentInfo": {"count": 10}},
            "armsInterventionsModule": {
                "armGroups": [
                    {
                        "label": "Vaccine",
                        "type": "EXPERIMENTAL",
                        "interventionNames": ["Biological: V"],
                    }
                ],
                "interventions": [{"type": "BIOLOGICAL", "name": "V", "description": "a vaccine"}],
            },
        }
    }
    study = parse_ctgov(doc).study
    assert study.arms[0].interventions[0].product.kind == "biological"
    assert "DOSE.E006" in {d.code for d in check_study(study)}
