"""The checked, typed form of an expression, which both the evaluator and the SQL compiler run.

The checker lowers the syntax tree into these nodes: names are resolved to items, units are
converted (``Scale`` with an exact factor), ``between`` becomes two comparisons, function calls
become date differences and reference limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Literal

from trialkit.criteria.spec import DataType

__all__ = [
    "Abs",
    "And",
    "Arith",
    "AsOf",
    "Cmp",
    "Const",
    "DateDiff",
    "InSet",
    "Item",
    "Kind",
    "Limit",
    "Missing",
    "Neg",
    "Not",
    "Or",
    "Plan",
    "Scale",
    "Value",
    "children",
    "references",
]

Kind = Literal["number", "text", "date", "datetime", "boolean"]
Value = Fraction | str | date | datetime | bool


@dataclass(frozen=True)
class Const:
    value: Value
    kind: Kind
    #: A number converted from another unit: the value and unit as written (for the
    #: explanation only; not part of the plan's identity).
    given: tuple[Fraction, str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Item:
    name: str
    kind: Kind
    data_type: DataType


@dataclass(frozen=True)
class Limit:
    """``uln(item)``/``lln(item)``: the candidate's ``<item>_<which>``, else ``default``."""

    item: str
    which: Literal["uln", "lln"]
    default: Fraction | None

    @property
    def column(self) -> str:
        return f"{self.item}_{self.which}"


@dataclass(frozen=True)
class AsOf:
    """The evaluation date passed in (``days_since``)."""


@dataclass(frozen=True)
class Scale:
    """``operand * factor``: a unit conversion with an exact positive factor."""

    operand: Plan
    factor: Fraction


@dataclass(frozen=True)
class Arith:
    op: Literal["+", "-", "*"]
    left: Plan
    right: Plan


@dataclass(frozen=True)
class Neg:
    operand: Plan


@dataclass(frozen=True)
class Abs:
    operand: Plan


@dataclass(frozen=True)
class Cmp:
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Plan
    right: Plan
    #: The unit both sides are compared in, for numbers with a unit (for the explanation
    #: only; not part of the plan's identity).
    unit: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class InSet:
    operand: Plan
    options: tuple[Const, ...]
    negated: bool


@dataclass(frozen=True)
class Missing:
    operand: Plan
    negated: bool


@dataclass(frozen=True)
class And:
    operands: tuple[Plan, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Plan, ...]


@dataclass(frozen=True)
class Not:
    operand: Plan


@dataclass(frozen=True)
class DateDiff:
    """Whole ``days``, ``months`` or ``years`` from ``start`` to ``end``."""

    unit: Literal["days", "months", "years"]
    start: Plan
    end: Plan


Plan = (
    Const
    | Item
    | Limit
    | AsOf
    | Scale
    | Arith
    | Neg
    | Abs
    | Cmp
    | InSet
    | Missing
    | And
    | Or
    | Not
    | DateDiff
)


def children(plan: Plan) -> tuple[Plan, ...]:
    match plan:
        case Scale(operand=x) | Neg(operand=x) | Abs(operand=x) | Not(operand=x):
            return (x,)
        case InSet(operand=x) | Missing(operand=x):
            return (x,)
        case Arith(left=a, right=b) | Cmp(left=a, right=b):
            return (a, b)
        case DateDiff(start=a, end=b):
            return (a, b)
        case And(operands=xs) | Or(operands=xs):
            return xs
        case _:
            return ()


def references(plan: Plan) -> Iterator[Item | Limit | AsOf]:
    """Every item, reference limit and evaluation date the plan reads (depth first)."""
    if isinstance(plan, Item | Limit | AsOf):
        yield plan
    for child in children(plan):
        yield from references(child)
