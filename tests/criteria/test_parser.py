from __future__ import annotations

from fractions import Fraction

import pytest

from trialkit.criteria import ExpressionSyntaxError, parse
from trialkit.criteria import nodes as n


def test_units_numbers_and_calls() -> None:
    expr = parse("creatinine <= 2 mg/dL")
    assert expr == n.Comparison("<=", n.Name("creatinine"), n.Number(Fraction(2), "mg/dL"))
    expr = parse("alt <= 3 * uln(alt)")
    assert expr == n.Comparison(
        "<=",
        n.Name("alt"),
        n.Arithmetic("*", n.Number(Fraction(3)), n.Call("uln", (n.Name("alt"),))),
    )


def test_decimal_literals_are_exact() -> None:
    expr = parse("creatinine > 176.84 µmol/L")
    assert isinstance(expr, n.Comparison)
    assert expr.right == n.Number(Fraction("176.84"), "µmol/L")


def test_between_binds_tighter_than_and() -> None:
    expr = parse("pasi between 3 and 12 and age >= 18")
    assert isinstance(expr, n.BoolOp)
    assert expr.op == "and"
    assert isinstance(expr.operands[0], n.Between)
    assert expr.operands[1] == n.Comparison(">=", n.Name("age"), n.Number(Fraction(18)))


def test_precedence_or_and_not() -> None:
    expr = parse("not a or b and c")
    assert expr == n.BoolOp("or", (n.Not(n.Name("a")), n.BoolOp("and", (n.Name("b"), n.Name("c")))))


def test_arithmetic_is_left_associative_with_usual_precedence() -> None:
    expr = parse("a - b - 2 * c")
    assert expr == n.Arithmetic(
        "-",
        n.Arithmetic("-", n.Name("a"), n.Name("b")),
        n.Arithmetic("*", n.Number(Fraction(2)), n.Name("c")),
    )


def test_in_not_in_missing_and_literals() -> None:
    assert parse("t in (\"a\", 'b')") == n.InList(n.Name("t"), (n.Text("a"), n.Text("b")))
    assert parse("x not in (1, 2)").negated is True  # type: ignore[union-attr]
    assert parse("x is missing") == n.IsMissing(n.Name("x"))
    assert parse("x is not missing") == n.IsMissing(n.Name("x"), negated=True)
    assert parse("x == true") == n.Comparison("==", n.Name("x"), n.BoolLiteral(True))
    assert parse("x not between 1 and 2") == n.Between(
        n.Name("x"), n.Number(Fraction(1)), n.Number(Fraction(2)), negated=True
    )


def test_keywords_inside_names_are_names() -> None:
    assert parse("android or island") == n.BoolOp("or", (n.Name("android"), n.Name("island")))


def test_error_points_at_the_column_with_a_caret() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse("pasi betwen 3 and 12")
    err = info.value
    assert err.code == "EXPR.E001"
    assert err.column == 6
    assert "'between'" in err.expected
    assert "pasi betwen 3 and 12\n     ^" in err.message
    assert "unexpected 'betwen'" in err.message


def test_error_at_end_says_what_was_expected() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse("age >= ")
    assert info.value.column == 7
    assert "a number" in info.value.expected
    assert "age >= \n      ^" in info.value.message


def test_error_on_a_bad_character() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse("age >= 18 & pasi > 3")
    assert info.value.column == 11


def test_empty_expression() -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse("   ")


def test_no_python_eval() -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse("__import__('os').system('true')")
