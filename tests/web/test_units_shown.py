"""The unit a page shows: the table's display spelling, with square and cubic powers raised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.protocol.units import UNITS, resolve
from trialkit.web.units import shown_unit


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
