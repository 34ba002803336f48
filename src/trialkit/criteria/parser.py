"""Parsing expressions with lark (an LALR grammar; nothing is ever passed to ``eval``)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from trialkit.criteria import nodes as n
from trialkit.errors import ExpressionError

__all__ = ["GRAMMAR", "ExpressionSyntaxError", "caret", "parse"]

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (OR and_expr)*
?and_expr: not_expr (AND not_expr)*
?not_expr: NOT not_expr                      -> not_
         | predicate

?predicate: sum
          | sum COMP_OP sum                   -> compare
          | sum BETWEEN sum AND sum           -> between
          | sum NOT BETWEEN sum AND sum       -> not_between
          | sum IN LPAR options RPAR          -> in_
          | sum NOT IN LPAR options RPAR      -> not_in
          | sum IS MISSING                    -> is_missing
          | sum IS NOT MISSING                -> is_not_missing

options: sum (COMMA sum)* COMMA?

?sum: product
    | sum ADD_OP product                      -> arith
?product: unary
        | product MUL_OP unary                -> arith
?unary: MINUS unary                           -> neg
      | atom

?atom: NUMBER                                 -> number
     | NUMBER UNIT                            -> quantity
     | STRING                                 -> string
     | TRUE                                   -> true
     | FALSE                                  -> false
     | NAME LPAR [args] RPAR                  -> call
     | NAME                                   -> name
     | LPAR or_expr RPAR                      -> group

args: or_expr (COMMA or_expr)*

OR: "or"
AND: "and"
NOT: "not"
BETWEEN: "between"
IN: "in"
IS: "is"
MISSING: "missing"
TRUE: "true"
FALSE: "false"
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD_OP: "+" | MINUS
MINUS: "-"
MUL_OP: "*"
LPAR: "("
RPAR: ")"
COMMA: ","
NUMBER: /\d+(\.\d+)?/
STRING: /"[^"\n]*"/ | /'[^'\n]*'/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
UNIT: /[A-Za-zµμ%][A-Za-z0-9µμ%]*(\/[A-Za-zµμ][A-Za-z0-9µμ]*)?/

%import common.WS
%ignore WS
"""

# How each terminal is described to a person in "expected ..." messages.
_DESCRIBE = {
    "OR": "'or'",
    "AND": "'and'",
    "NOT": "'not'",
    "BETWEEN": "'between'",
    "IN": "'in'",
    "IS": "'is'",
    "MISSING": "'missing'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "'+' or '-'",
    "MINUS": "'-'",
    "MUL_OP": "'*'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "NUMBER": "a number",
    "STRING": 'a quoted text ("plaque")',
    "NAME": "an item or function name",
    "UNIT": "a unit (mg/dL)",
    "$END": "the end of the expression",
}


class ExpressionSyntaxError(ExpressionError):
    """An expression that does not parse; ``column`` is 1-based, ``expected`` is readable."""

    def __init__(
        self, message: str, *, column: int, expected: tuple[str, ...], source: str
    ) -> None:
        super().__init__(message, code="EXPR.E001")
        self.column = column
        self.expected = expected
        self.source = source


def caret(text: str, column: int) -> str:
    """The source line with a caret under ``column`` (1-based)."""
    return f"{text}\n{' ' * (max(column, 1) - 1)}^"


@v_args(inline=True)
class _ToNodes(Transformer[Token, n.Expr]):
    @staticmethod
    def _col(token: Token) -> int:
        return token.column or 0

    def not_(self, tok: Token, operand: n.Expr) -> n.Expr:
        return n.Not(operand, column=self._col(tok))

    def or_expr(self, *parts: Any) -> n.Expr:
        return self._boolop("or", parts)

    def and_expr(self, *parts: Any) -> n.Expr:
        return self._boolop("and", parts)

    @staticmethod
    def _boolop(op: Any, parts: tuple[Any, ...]) -> n.Expr:
        operands = tuple(p for p in parts if not isinstance(p, Token))
        return n.BoolOp(op, operands, column=_column_of(operands[0]))

    def compare(self, left: n.Expr, op: Token, right: n.Expr) -> n.Expr:
        return n.Comparison(str(op), left, right, column=_column_of(left))  # type: ignore[arg-type]

    def between(self, x: n.Expr, _b: Token, lo: n.Expr, _a: Token, hi: n.Expr) -> n.Expr:
        return n.Between(x, lo, hi, column=_column_of(x))

    def not_between(
        self, x: n.Expr, _n: Token, _b: Token, lo: n.Expr, _a: Token, hi: n.Expr
    ) -> n.Expr:
        return n.Between(x, lo, hi, negated=True, column=_column_of(x))

    def in_(self, x: n.Expr, _i: Token, _l: Token, opts: tuple[n.Expr, ...], _r: Token) -> n.Expr:
        return n.InList(x, opts, column=_column_of(x))

    def not_in(
        self, x: n.Expr, _n: Token, _i: Token, _l: Token, opts: tuple[n.Expr, ...], _r: Token
    ) -> n.Expr:
        return n.InList(x, opts, negated=True, column=_column_of(x))

    def is_missing(self, x: n.Expr, _i: Token, _m: Token) -> n.Expr:
        return n.IsMissing(x, column=_column_of(x))

    def is_not_missing(self, x: n.Expr, _i: Token, _n: Token, _m: Token) -> n.Expr:
        return n.IsMissing(x, negated=True, column=_column_of(x))

    def options(self, *parts: Any) -> tuple[n.Expr, ...]:
        return tuple(p for p in parts if not isinstance(p, Token))

    def args(self, *parts: Any) -> tuple[n.Expr, ...]:
        return tuple(p for p in parts if not isinstance(p, Token))

    def arith(self, left: n.Expr, op: Token, right: n.Expr) -> n.Expr:
        return n.Arithmetic(str(op), left, right, column=_column_of(left))  # type: ignore[arg-type]

    def neg(self, tok: Token, operand: n.Expr) -> n.Expr:
        return n.Negate(operand, column=self._col(tok))

    def number(self, tok: Token) -> n.Expr:
        return n.Number(Fraction(Decimal(str(tok))), column=self._col(tok))

    def quantity(self, tok: Token, unit: Token) -> n.Expr:
        return n.Number(Fraction(Decimal(str(tok))), str(unit), column=self._col(tok))

    def string(self, tok: Token) -> n.Expr:
        return n.Text(str(tok)[1:-1], column=self._col(tok))

    def true(self, tok: Token) -> n.Expr:
        return n.BoolLiteral(True, column=self._col(tok))

    def false(self, tok: Token) -> n.Expr:
        return n.BoolLiteral(False, column=self._col(tok))

    def call(self, name: Token, _l: Token, args: tuple[n.Expr, ...] | None, _r: Token) -> n.Expr:
        return n.Call(str(name), args or (), column=self._col(name))

    def name(self, tok: Token) -> n.Expr:
        return n.Name(str(tok), column=self._col(tok))

    def group(self, _l: Token, inner: n.Expr, _r: Token) -> n.Expr:
        return inner


def _column_of(node: n.Expr) -> int:
    return node.column


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", start="start", maybe_placeholders=True)


def parse(text: str) -> n.Expr:
    """Parse ``text`` into a syntax tree, or raise :class:`ExpressionSyntaxError`.

    The error's message shows the expression with a caret under the offending column and
    says what was expected there.
    """
    if not text.strip():
        raise ExpressionSyntaxError(
            "the expression is empty; write a condition such as `age >= 18`",
            column=1,
            expected=(),
            source=text,
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from exc
    result: n.Expr = _ToNodes().transform(tree)
    return result


def _syntax_error(text: str, exc: UnexpectedInput) -> ExpressionSyntaxError:
    expected: set[str]
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            column = len(text.rstrip()) + 1
            found = "the end of the expression"
        else:
            column = tok.column or 1
            found = f"{str(tok)!r}"
        expected = set(exc.accepts or exc.expected)
    elif isinstance(exc, UnexpectedCharacters):
        column = exc.column
        pos = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
        found = f"{text[pos]!r}" if pos < len(text) else "nothing"
        expected = set(exc.allowed or ())
    elif isinstance(exc, UnexpectedEOF):
        column = len(text.rstrip()) + 1
        found = "the end of the expression"
        expected = set(exc.expected)
    else:  # pragma: no cover - lark raises only the three above
        column, found, expected = 1, "?", set()
    described = tuple(sorted({_DESCRIBE.get(t, t) for t in expected}))
    want = "; expected " + ", ".join(described) if described else ""
    message = f"expression does not parse at column {column}: unexpected {found}{want}\n" + caret(
        text, column
    )
    return ExpressionSyntaxError(message, column=column, expected=described, source=text)
