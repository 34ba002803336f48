"""The syntax tree of an expression, as :func:`trialkit.criteria.parse` returns it.

Every node carries ``column``: the 1-based column of its first character in the source text,
used to point at it in diagnostics. Nodes compare by structure only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

__all__ = [
    "ArithOp",
    "Arithmetic",
    "Between",
    "BoolLiteral",
    "BoolOp",
    "Call",
    "CompareOp",
    "Comparison",
    "Expr",
    "InList",
    "IsMissing",
    "Name",
    "Negate",
    "Not",
    "Number",
    "Text",
]

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
ArithOp = Literal["+", "-", "*"]


@dataclass(frozen=True)
class Number:
    """A decimal numeral, optionally with a unit (``2 mg/dL``); ``value`` is exact."""

    value: Fraction
    unit: str | None = None
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Text:
    value: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BoolLiteral:
    value: bool
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Name:
    """A reference to a data item."""

    name: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Negate:
    operand: Expr
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Arithmetic:
    op: ArithOp
    left: Expr
    right: Expr
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Comparison:
    op: CompareOp
    left: Expr
    right: Expr
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Between:
    """``operand between low and high``: inclusive at both ends."""

    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class InList:
    operand: Expr
    options: tuple[Expr, ...]
    negated: bool = False
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class IsMissing:
    operand: Expr
    negated: bool = False
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    operand: Expr
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BoolOp:
    """``and`` / ``or`` over two or more operands."""

    op: Literal["and", "or"]
    operands: tuple[Expr, ...]
    column: int = field(default=0, compare=False)


Expr = (
    Number
    | Text
    | BoolLiteral
    | Name
    | Call
    | Negate
    | Arithmetic
    | Comparison
    | Between
    | InList
    | IsMissing
    | Not
    | BoolOp
)
