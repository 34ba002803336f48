"""Three-valued (Kleene) evaluation of a plan over one candidate's values.

``None`` is unknown. ``and`` is false if any operand is false, else unknown if any is unknown;
``or`` is true if any operand is true, else unknown if any is unknown; every other operation
is unknown when an input is unknown, except ``is missing``, which is always known. These are
SQL's rules, so the compiled query gives the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from fractions import Fraction

from trialkit.criteria import plan as p
from trialkit.criteria.calendar import days_between, months_between, years_between
from trialkit.errors import ExpressionError

__all__ = ["evaluate", "lookup_limit"]

Record = Mapping[str, p.Value | None]


def lookup_limit(limit: p.Limit, record: Record) -> Fraction | None:
    """The candidate's own ``<item>_uln``/``_lln`` if present, else the study default."""
    own = record.get(limit.column)
    if own is not None:
        assert isinstance(own, Fraction)
        return own
    return limit.default


def _as_date(value: p.Value) -> date:
    if isinstance(value, datetime):
        return value.date()
    assert isinstance(value, date)
    return value


def evaluate(plan: p.Plan, record: Record, as_of: date | None = None) -> p.Value | None:
    """The value of ``plan`` for ``record`` (coerced values; absent keys are missing)."""
    match plan:
        case p.Const():
            return plan.value
        case p.Item(name=name):
            return record.get(name)
        case p.Limit():
            return lookup_limit(plan, record)
        case p.AsOf():
            if as_of is None:
                raise ExpressionError(
                    "days_since/months_since need the evaluation date; pass as_of "
                    "(e.g. the screening date)",
                    code="EXPR.E013",
                )
            return as_of
        case p.And(operands=operands):
            result: bool | None = True
            for operand in operands:
                value = evaluate(operand, record, as_of)
                if value is False:
                    return False
                if value is None:
                    result = None
            return result
        case p.Or(operands=operands):
            result = False
            for operand in operands:
                value = evaluate(operand, record, as_of)
                if value is True:
                    return True
                if value is None:
                    result = None
            return result
        case p.Not(operand=operand):
            value = evaluate(operand, record, as_of)
            return None if value is None else not value
        case p.Missing(operand=operand, negated=negated):
            return (evaluate(operand, record, as_of) is None) != negated
        case _:
            return _strict(plan, record, as_of)


def _strict(plan: p.Plan, record: Record, as_of: date | None) -> p.Value | None:
    """Operations that are unknown as soon as one input is unknown."""
    match plan:
        case p.Scale(operand=operand, factor=factor):
            x = evaluate(operand, record, as_of)
            return None if x is None else _num(x) * factor
        case p.Neg(operand=operand):
            x = evaluate(operand, record, as_of)
            return None if x is None else -_num(x)
        case p.Abs(operand=operand):
            x = evaluate(operand, record, as_of)
            return None if x is None else abs(_num(x))
        case p.Arith(op=op, left=left, right=right):
            a, b = evaluate(left, record, as_of), evaluate(right, record, as_of)
            if a is None or b is None:
                return None
            if op == "+":
                return _num(a) + _num(b)
            if op == "-":
                return _num(a) - _num(b)
            return _num(a) * _num(b)
        case p.Cmp(op=op, left=left, right=right):
            a, b = evaluate(left, record, as_of), evaluate(right, record, as_of)
            if a is None or b is None:
                return None
            return _compare(op, a, b)
        case p.InSet(operand=operand, options=options, negated=negated):
            x = evaluate(operand, record, as_of)
            if x is None:
                return None
            return any(x == o.value for o in options) != negated
        case p.DateDiff(unit=unit, start=start, end=end):
            a, b = evaluate(start, record, as_of), evaluate(end, record, as_of)
            if a is None or b is None:
                return None
            fn = {"days": days_between, "months": months_between, "years": years_between}[unit]
            return Fraction(fn(_as_date(a), _as_date(b)))
    raise AssertionError(f"unhandled plan node {plan!r}")  # pragma: no cover


def _num(value: p.Value) -> Fraction:
    assert isinstance(value, Fraction)
    return value


def _compare(op: str, a: p.Value, b: p.Value) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    x, y = a, b
    assert not isinstance(x, str | bool)
    assert not isinstance(y, str | bool)
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]
