"""The unit and amount a page shows: the table's display spelling, square and cubic powers
raised, long amounts grouped with their power of ten."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trialkit.protocol.units import UNITS, resolve
from trialkit.web.units import shown_amount, shown_quantity, shown_text, shown_unit


@pytest.mark.parametrize(
    ("symbol", "shown"),
    [
        ("Cel", "°C"),
        ("°C", "°C"),
        ("ug", "µg"),
        ("mcg", "µg"),
        ("ug/kg", "µg/kg"),
        ("cm2", "cm²"),
        ("mm2", "mm²"),
        ("m2", "m²"),
        ("/mm3", "/mm³"),
        ("10^9/L", "10^9/L"),
        ("mmHg", "mmHg"),
        ("mm[Hg]", "mmHg"),
        ("/min", "/min"),
        ("mL", "mL"),
        (" kg ", "kg"),
        ("furlongs", "furlongs"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_unit_is_shown_as_people_write_it(symbol: str | None, shown: str) -> None:
    assert shown_unit(symbol) == shown


@given(st.sampled_from(sorted(UNITS)))
def test_every_unit_of_the_table_is_shown_as_one_that_resolves_to_it(symbol: str) -> None:
    """What the page shows, typed back into a field, is the same unit."""
    back = resolve(shown_unit(symbol))
    assert back is not None
    assert back.dimension == UNITS[symbol].dimension
    assert back.factor == UNITS[symbol].factor


@pytest.mark.parametrize(
    ("amount", "en", "fa"),
    [
        ("137000000", "137,000,000 (1.37 × 10⁸)", "۱۳۷٬۰۰۰٬۰۰۰ (۱.۳۷ × ۱۰⁸)"),
        ("1.37e8", "137,000,000 (1.37 × 10⁸)", "۱۳۷٬۰۰۰٬۰۰۰ (۱.۳۷ × ۱۰⁸)"),
        (Decimal("2E+6"), "2,000,000 (2 × 10⁶)", "۲٬۰۰۰٬۰۰۰ (۲ × ۱۰⁶)"),
        ("100000", "100,000 (1 × 10⁵)", "۱۰۰٬۰۰۰ (۱ × ۱۰⁵)"),
        ("99999", "99,999", "۹۹٬۹۹۹"),
        ("0.50", "0.5", "۰.۵"),
        (100, "100", "۱۰۰"),
        ("-250000", "-250,000 (-2.5 × 10⁵)", "-۲۵۰٬۰۰۰ (-۲.۵ × ۱۰⁵)"),
        ("lots", "lots", "lots"),
        ("NaN", "NaN", "NaN"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_an_amount_is_grouped_with_its_power_of_ten(
    amount: Decimal | str | int | None, en: str, fa: str
) -> None:
    assert shown_amount(amount) == en
    assert shown_amount(amount, "fa") == fa


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15))
@example(Decimal("9.6084127864658049646426139139E-28"))  # 29 figures: more than a context holds
@example(Decimal("123456789012345678901234567890.5"))
def test_the_amount_shown_is_the_amount_exactly(value: Decimal) -> None:
    """Both spellings on the page name the same number: nothing is rounded away, however many
    figures it has (Decimal's own context keeps 28)."""
    shown = shown_amount(value)
    grouped, _, power = shown.partition(" (")
    assert Decimal(grouped.replace(",", "")) == value
    if power:
        mantissa, exponent = power.rstrip(")").split(" × 10")
        back = exponent.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))
        with localcontext() as context:
            context.prec = 100
            assert Decimal(mantissa).scaleb(int(back)) == value
            assert 1 <= abs(Decimal(mantissa)) < 10


def test_a_quantity_and_a_rule_as_the_dosing_timeline_shows_them() -> None:
    assert shown_quantity("144000000", "cells") == "144,000,000 (1.44 × 10⁸) cells"
    assert shown_quantity("100", "ug", "fa") == "۱۰۰ µg"
    assert shown_quantity(None, None) == ""
    assert shown_text("2000000 cells per kg of weight") == "2,000,000 cells per kg of weight"
    # short numbers, decimals and numbers already grouped stay as they are
    assert shown_text("100 ug in 0.5 mL") == "100 ug in 0.5 mL"
    assert shown_text("12345.25 mg, 1,000,000 cells") == "12,345.25 mg, 1,000,000 cells"
    assert shown_text(None) == ""
