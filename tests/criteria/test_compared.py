"""The explanation reports the multiple of the normal limit and the converted value each
comparison used (issue #18 item 14).

Provenance: the multiples are exact ratios computed by hand (125 / 40 = 3.125); the
creatinine conversion uses the unit table's factor, 1 mg/dL = 88.42 µmol/L (the factor the
criteria units declare, trialkit/criteria/units.py), so 1.7 mg/dL = 150.314 µmol/L and
176.84 µmol/L = 2 mg/dL exactly; 100 / 88.42 = 1.1309658...: shown rounded (≈) to 6 decimals.
"""

from __future__ import annotations

from fractions import Fraction

from trialkit.criteria import Criterion, ItemSpec, ReferenceRanges, compile_criteria
from trialkit.criteria.compared import shown_number

ITEMS = {
    "alt": ItemSpec("alt", "decimal", "U/L", label="ALT"),
    "alt_uln": ItemSpec("alt_uln", "decimal", "U/L"),
    "creatinine": ItemSpec("creatinine", "decimal", "mg/dL", label="Creatinine"),
}
RANGES = ReferenceRanges.of({"alt": (None, "40")})


def _screen(expression: str, values: dict[str, object]) -> tuple[str, ...]:
    compiled = compile_criteria([Criterion("E1", "exclusion", "", expression)], ITEMS, RANGES)
    (result,) = compiled.screen(values).results
    return tuple(x.render() for x in result.compared)


def test_the_multiple_of_the_normal_limit_is_reported() -> None:
    assert _screen("alt > 3 * uln(alt)", {"alt": "125"}) == ("ALT 3.125 × ULN",)
    # the candidate's own limit (alt_uln) is the one divided by
    assert _screen("alt > 3 * uln(alt)", {"alt": "125", "alt_uln": "50"}) == ("ALT 2.5 × ULN",)
    # written the other way round, the same fact
    assert _screen("3 * uln(alt) < alt", {"alt": "30"}) == ("ALT 0.75 × ULN",)


def test_a_value_converted_for_the_comparison_is_reported_in_both_units() -> None:
    # the item (mg/dL) is scaled to the literal's unit: 1.7 x 88.42 = 150.314 µmol/L
    assert _screen("creatinine > 100 µmol/L", {"creatinine": "1.7"}) == (
        "Creatinine 1.7 mg/dL = 150.314 µmol/L",
    )
    # the literal is converted to the item's unit: 176.84 / 88.42 = 2 mg/dL
    assert _screen("creatinine > 176.84 umol/L", {"creatinine": "1.7"}) == (
        "the limit 176.84 µmol/L = 2 mg/dL",
    )


def test_nothing_is_reported_for_an_unknown_side_or_a_comparison_in_one_unit() -> None:
    assert _screen("alt > 3 * uln(alt)", {}) == ()
    assert _screen("creatinine > 2 mg/dL", {"creatinine": "2.5"}) == ()


def test_the_explanation_and_exact_values() -> None:
    compiled = compile_criteria(
        [Criterion("E1", "exclusion", "liver enzymes above 3 x ULN", "alt > 3 * uln(alt)")],
        ITEMS,
        RANGES,
    )
    screening = compiled.screen({"alt": "125"})
    assert "    compared: ALT 3.125 × ULN" in screening.explain()
    (fact,) = screening.results[0].compared
    assert (fact.multiple, fact.value, fact.from_unit, fact.limit) == (
        Fraction(25, 8),
        Fraction(125),
        "U/L",
        "ULN",
    )


def test_shown_numbers_are_exact_or_marked_rounded() -> None:
    assert shown_number(Fraction(25, 8)) == "3.125"
    assert shown_number(Fraction(100) / Fraction("88.42")) == "≈1.130966"
    assert shown_number(Fraction(2)) == "2"
