from __future__ import annotations

from fractions import Fraction

import pytest

from trialkit.criteria import ItemSpec, ReferenceRanges, check, compile_expression
from trialkit.criteria import plan as p
from trialkit.errors import ExpressionError

ITEMS = {
    "age": ItemSpec("age", "integer", "years"),
    "pasi": ItemSpec("pasi", "decimal"),
    "creatinine": ItemSpec("creatinine", "decimal", "mg/dL"),
    "alt": ItemSpec("alt", "decimal", "U/L"),
    "screening_date": ItemSpec("screening_date", "date"),
    "onset": ItemSpec("onset", "date"),
    "kind": ItemSpec("kind", "code", codes=("plaque", "guttate")),
    "pregnant": ItemSpec("pregnant", "boolean"),
}
RANGES = ReferenceRanges.of({"alt": (None, "40")})


def codes(text: str, ranges: ReferenceRanges | None = RANGES) -> list[str]:
    return [d.code for d in check(text, ITEMS, ranges)]


def test_clean_expressions_have_no_diagnostics() -> None:
    for text in (
        "creatinine <= 2 mg/dL",
        "creatinine <= 176.84 umol/L",
        "alt <= 3 * uln(alt)",
        "months_between(onset, screening_date) >= 6",
        "days_since(onset) >= 28",
        'kind in ("plaque", "guttate") and not pregnant',
        "age >= 18 years and age_at(onset, screening_date) < 80",
        "pasi is missing or pasi > 3",
        'onset < date("2024-01-31")',
    ):
        assert check(text, ITEMS, RANGES) == [], text


def test_unknown_item_with_suggestion() -> None:
    [d] = check("pasii > 3", ITEMS)
    assert d.code == "EXPR.E002"
    assert d.column == 1
    assert "pasii" in d.message
    assert "did you mean pasi" in d.message


def test_date_compared_with_number() -> None:
    [d] = check("screening_date > 3", ITEMS)
    assert d.code == "EXPR.E003"
    assert "a date" in d.message
    assert "a number" in d.message


def test_unit_mismatch() -> None:
    assert codes("creatinine > 2 U/L") == ["EXPR.E004"]
    assert codes("pasi > 2 mg/dL") == ["EXPR.E004"]
    assert codes("alt * creatinine > 2") == ["EXPR.E004"]


def test_unknown_unit() -> None:
    [d] = check("creatinine > 2 mg/dl", ITEMS)
    assert d.code == "EXPR.E005"
    assert "'mg/dl'" in d.message


def test_function_errors() -> None:
    assert codes("foo(pasi) > 1") == ["EXPR.E006"]
    assert codes("days_since(onset, onset) > 1") == ["EXPR.E007"]
    assert codes("days_between(pasi, onset) > 1") == ["EXPR.E007"]
    assert codes("uln(kind) > 1") == ["EXPR.E007"]
    assert codes('onset > date("2024-02-30")') == ["EXPR.E010"]


def test_code_not_in_list() -> None:
    [d] = check('kind == "plaq"', ITEMS)
    assert d.code == "EXPR.E008"
    assert d.column == 9


def test_not_a_condition() -> None:
    assert codes("pasi + 1") == ["EXPR.E009"]
    assert codes("pasi and pregnant") == ["EXPR.E003"]


def test_syntax_error_is_a_diagnostic() -> None:
    [d] = check("pasi >", ITEMS)
    assert d.code == "EXPR.E001"
    assert d.column == 7


def test_uln_without_default_is_a_warning() -> None:
    [d] = check("alt > 3 * uln(alt)", ITEMS, None)
    assert d.code == "EXPR.W001"
    assert d.severity == "warning"


def test_several_errors_are_all_reported() -> None:
    assert codes("foo > 1 and screening_date > 1") == ["EXPR.E002", "EXPR.E003"]


def test_unit_literal_converted_exactly() -> None:
    plan = compile_expression("creatinine > 176.84 µmol/L", ITEMS)
    assert plan == p.Cmp(
        ">", p.Item("creatinine", "number", "decimal"), p.Const(Fraction(2), "number")
    )


def test_inexact_conversion_scales_the_item_instead() -> None:
    plan = compile_expression("creatinine > 100 µmol/L", ITEMS)
    assert plan == p.Cmp(
        ">",
        p.Scale(p.Item("creatinine", "number", "decimal"), Fraction("88.42")),
        p.Const(Fraction(100), "number"),
    )


def test_compile_expression_raises_with_caret() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("age > onset", ITEMS)
    assert info.value.code == "EXPR.E003"
    assert "^" in info.value.message
