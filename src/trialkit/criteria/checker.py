"""Type checking: resolve names against the study's items, check kinds and units, lower to a plan.

:func:`check` returns every finding as a :class:`Diagnostic`; :func:`compile_expression`
returns the :mod:`~trialkit.criteria.plan` or raises :class:`ExpressionError` with all errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Literal

from trialkit.criteria import nodes as n
from trialkit.criteria import plan as p
from trialkit.criteria.diagnostics import Diagnostic
from trialkit.criteria.functions import FUNCTIONS
from trialkit.criteria.parser import ExpressionSyntaxError, parse
from trialkit.criteria.spec import DataType, ItemSpec, ReferenceRanges
from trialkit.criteria.units import (
    UnitConversionError,
    canonical_unit,
    conversion_factor,
    is_known_unit,
)
from trialkit.errors import ExpressionError

__all__ = ["check", "compile_expression", "is_terminating"]

_KIND_OF: dict[DataType, p.Kind] = {
    "integer": "number",
    "decimal": "number",
    "text": "text",
    "code": "text",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}
_KIND_WORD: dict[p.Kind, str] = {
    "number": "a number",
    "text": "a text",
    "date": "a date",
    "datetime": "a date-time",
    "boolean": "a yes/no value",
}


def is_terminating(f: Fraction) -> bool:
    """Whether ``f`` has a finite decimal expansion (its denominator is 2^a 5^b)."""
    d = f.denominator
    for prime in (2, 5):
        while d % prime == 0:
            d //= prime
    return d == 1


@dataclass(frozen=True)
class _Ty:
    kind: p.Kind
    unit: str | None = None
    analyte: str | None = None
    codes: tuple[str, ...] | None = None
    item: str | None = None
    flexible: bool = False  # a bare numeral: it takes the unit of what it meets


class _Failed(Exception):
    """Internal: stop lowering this subtree (its diagnostic is already recorded)."""


class _Checker:
    def __init__(
        self, source: str, items: Mapping[str, ItemSpec], ranges: ReferenceRanges | None
    ) -> None:
        self.source = source
        self.items = items
        self.ranges = ranges or ReferenceRanges()
        self.diagnostics: list[Diagnostic] = []

    def report(
        self, code: str, message: str, column: int, severity: Literal["error", "warning"] = "error"
    ) -> None:
        self.diagnostics.append(Diagnostic(code, severity, message, column, source=self.source))

    def fail(self, code: str, message: str, column: int) -> _Failed:
        self.report(code, message, column)
        return _Failed()

    # -- entry -----------------------------------------------------------------------------
    def condition(self, expr: n.Expr) -> p.Plan | None:
        try:
            plan, ty = self.lower(expr)
        except _Failed:
            return None
        if ty.kind != "boolean":
            self.report(
                "EXPR.E009",
                f"the expression is {_KIND_WORD[ty.kind]}, not a yes/no condition; "
                "compare it with something, e.g. `pasi >= 3`",
                expr.column,
            )
            return None
        return plan

    def boolean(self, expr: n.Expr, role: str) -> p.Plan:
        plan, ty = self.lower(expr)
        if ty.kind != "boolean":
            raise self.fail(
                "EXPR.E003",
                f"{_describe(expr)} is {_KIND_WORD[ty.kind]}, but {role} needs a yes/no "
                "condition; compare it with something first",
                expr.column,
            )
        return plan

    # -- lowering ---------------------------------------------------------------------------
    def lower(self, expr: n.Expr) -> tuple[p.Plan, _Ty]:
        match expr:
            case n.Number(value=value, unit=unit):
                if unit is not None:
                    unit = canonical_unit(unit)
                return p.Const(value, "number"), _Ty("number", unit, flexible=unit is None)
            case n.Text(value=value):
                return p.Const(value, "text"), _Ty("text")
            case n.BoolLiteral(value=value):
                return p.Const(value, "boolean"), _Ty("boolean")
            case n.Name(name=name):
                return self.name(name, expr.column)
            case n.Call():
                return self.call(expr)
            case n.Negate(operand=operand):
                plan, ty = self.number(operand, "'-'")
                if isinstance(plan, p.Const) and isinstance(plan.value, Fraction):
                    return p.Const(-plan.value, "number"), ty
                return p.Neg(plan), ty
            case n.Arithmetic():
                return self.arithmetic(expr)
            case n.Comparison(op=op, left=left, right=right):
                return self.compare(op, left, right, expr.column), _Ty("boolean")
            case n.Between(operand=x, low=lo, high=hi, negated=negated):
                both = p.And(
                    (self.compare(">=", x, lo, expr.column), self.compare("<=", x, hi, expr.column))
                )
                return (p.Not(both) if negated else both), _Ty("boolean")
            case n.InList():
                return self.in_list(expr), _Ty("boolean")
            case n.IsMissing(operand=x, negated=negated):
                plan, _ = self.lower(x)
                return p.Missing(plan, negated), _Ty("boolean")
            case n.Not(operand=x):
                return p.Not(self.boolean(x, "'not'")), _Ty("boolean")
            case n.BoolOp(op=op, operands=operands):
                lowered: list[p.Plan] = []
                failed = False
                for operand in operands:
                    try:
                        lowered.append(self.boolean(operand, f"'{op}'"))
                    except _Failed:
                        failed = True
                if failed:
                    raise _Failed()
                plans = tuple(lowered)
                return (p.And(plans) if op == "and" else p.Or(plans)), _Ty("boolean")
        raise AssertionError(f"unhandled node {expr!r}")  # pragma: no cover

    def name(self, name: str, column: int) -> tuple[p.Plan, _Ty]:
        spec = self.items.get(name)
        if spec is None:
            if name in FUNCTIONS:
                raise self.fail(
                    "EXPR.E002",
                    f"{name!r} is a function, not an item; call it: {FUNCTIONS[name].signature}",
                    column,
                )
            raise self.fail(
                "EXPR.E002",
                f"unknown item {name!r}; use one of the study's items" + _suggest(name, self.items),
                column,
            )
        kind = _KIND_OF[spec.data_type]
        unit = canonical_unit(spec.unit) if spec.unit and kind == "number" else None
        ty = _Ty(kind, unit, spec.analyte_key, spec.codes if spec.data_type == "code" else None)
        return p.Item(name, kind, spec.data_type), _Ty(ty.kind, ty.unit, ty.analyte, ty.codes, name)

    def number(self, expr: n.Expr, role: str) -> tuple[p.Plan, _Ty]:
        plan, ty = self.lower(expr)
        if ty.kind != "number":
            hint = " (use days_between for dates)" if ty.kind in ("date", "datetime") else ""
            raise self.fail(
                "EXPR.E003",
                f"{_describe(expr)} is {_KIND_WORD[ty.kind]}, but {role} needs a number{hint}",
                expr.column,
            )
        return plan, ty

    def date_arg(self, expr: n.Expr, fn: str) -> p.Plan:
        plan, ty = self.lower(expr)
        if ty.kind not in ("date", "datetime"):
            raise self.fail(
                "EXPR.E007",
                f"{fn}() needs dates, but {_describe(expr)} is {_KIND_WORD[ty.kind]}",
                expr.column,
            )
        return plan

    def arithmetic(self, expr: n.Arithmetic) -> tuple[p.Plan, _Ty]:
        left, lty = self.number(expr.left, f"'{expr.op}'")
        right, rty = self.number(expr.right, f"'{expr.op}'")
        if expr.op == "*":
            if lty.unit and rty.unit:
                raise self.fail(
                    "EXPR.E004",
                    f"cannot multiply {lty.unit} by {rty.unit}; "
                    "one factor must be a plain number (3 * uln(alt))",
                    expr.column,
                )
            unit = lty.unit or rty.unit
            analyte = lty.analyte if lty.unit else rty.analyte
            flexible = lty.flexible and rty.flexible
            if isinstance(left, p.Const) and isinstance(right, p.Const):
                assert isinstance(left.value, Fraction)
                assert isinstance(right.value, Fraction)
                product = left.value * right.value
                return p.Const(product, "number"), _Ty("number", unit, flexible=flexible)
            return p.Arith("*", left, right), _Ty("number", unit, analyte, flexible=flexible)
        left, right, unit, analyte = self.unify(
            left, lty, right, rty, expr.column, scale_left=False
        )
        flexible = lty.flexible and rty.flexible
        return p.Arith(expr.op, left, right), _Ty("number", unit, analyte, flexible=flexible)

    def unify(
        self,
        left: p.Plan,
        lty: _Ty,
        right: p.Plan,
        rty: _Ty,
        column: int,
        *,
        scale_left: bool = True,
    ) -> tuple[p.Plan, p.Plan, str | None, str | None]:
        """Bring two numbers to one unit; a bare number takes the other side's unit."""
        analyte = lty.analyte or rty.analyte
        for plain, other in ((lty, rty), (rty, lty)):
            if plain.unit is None and other.unit is not None and not plain.flexible:
                subject = plain.item or "a number without a unit (months_between gives one)"
                raise self.fail(
                    "EXPR.E004",
                    f"{subject} has no unit but is compared with {other.unit}; "
                    "write the number without a unit",
                    column,
                )
        if lty.unit is None or rty.unit is None or lty.unit == rty.unit:
            return left, right, lty.unit or rty.unit, analyte
        try:
            factor = conversion_factor(rty.unit, lty.unit, analyte)  # 1 right-unit = f left
        except UnitConversionError as exc:
            for named in (lty.unit, rty.unit):
                if named is not None and not is_known_unit(named):
                    raise self.fail(
                        "EXPR.E005",
                        f"unknown unit {named!r}; write it as the study does or use one of the "
                        "units listed in docs/criteria.md",
                        column,
                    ) from exc
            who = lty.item or rty.item
            prefix = f"{who} is in {lty.unit if lty.item else rty.unit}: " if who else ""
            raise self.fail("EXPR.E004", f"{prefix}{exc}", column) from exc
        if isinstance(right, p.Const) and isinstance(right.value, Fraction):
            converted = right.value * factor
            if is_terminating(converted) or not scale_left or not is_terminating(1 / factor):
                given = None if rty.unit is None else (right.value, rty.unit)
                return left, p.Const(converted, "number", given=given), lty.unit, analyte
            # e.g. creatinine (mg/dL) > 100 µmol/L: compare creatinine * 88.42 with 100 exactly.
            return p.Scale(left, 1 / factor), right, rty.unit, analyte
        if scale_left and not is_terminating(factor) and is_terminating(1 / factor):
            return p.Scale(left, 1 / factor), right, rty.unit, analyte
        return left, p.Scale(right, factor), lty.unit, analyte

    def compare(self, op: n.CompareOp, left_e: n.Expr, right_e: n.Expr, column: int) -> p.Plan:
        left, lty = self.lower(left_e)
        right, rty = self.lower(right_e)
        lkind, rkind = lty.kind, rty.kind
        if lkind != rkind:
            raise self.fail(
                "EXPR.E003",
                f"cannot compare {_describe(left_e)} ({_KIND_WORD[lkind]}) with "
                f"{_describe(right_e)} ({_KIND_WORD[rkind]})",
                column,
            )
        if lkind in ("text", "boolean") and op not in ("==", "!="):
            raise self.fail(
                "EXPR.E003",
                f"{_KIND_WORD[lkind]} can only be compared with == or !=, not {op}",
                column,
            )
        if lkind == "text":
            self.codes_ok(lty, right, right_e)
            self.codes_ok(rty, left, left_e)
        unit = None
        if lkind == "number":
            left, right, unit, _ = self.unify(left, lty, right, rty, column)
        return p.Cmp(op, left, right, unit=unit)

    def codes_ok(self, ty: _Ty, other: p.Plan, other_e: n.Expr) -> None:
        if ty.codes is None or not isinstance(other, p.Const):
            return
        if other.value not in ty.codes:
            self.report(
                "EXPR.E008",
                f"{other.value!r} is not a code of {ty.item}; use one of "
                + ", ".join(repr(c) for c in ty.codes),
                other_e.column,
            )

    def in_list(self, expr: n.InList) -> p.Plan:
        operand, ty = self.lower(expr.operand)
        if ty.kind == "boolean":
            raise self.fail(
                "EXPR.E003", "'in' needs a number, text or date, not a yes/no value", expr.column
            )
        options: list[p.Const] = []
        for option_e in expr.options:
            option, oty = self.lower(option_e)
            if not isinstance(option, p.Const):
                raise self.fail(
                    "EXPR.E003",
                    f"the list after 'in' must hold literal values; {_describe(option_e)} is not",
                    option_e.column,
                )
            if oty.kind != ty.kind:
                raise self.fail(
                    "EXPR.E003",
                    f"{_describe(option_e)} is {_KIND_WORD[oty.kind]} but {_describe(expr.operand)}"
                    f" is {_KIND_WORD[ty.kind]}",
                    option_e.column,
                )
            if ty.kind == "number":
                _, option_plan, _, _ = self.unify(operand, ty, option, oty, option_e.column)
                assert isinstance(option_plan, p.Const)
                option = option_plan
            if ty.kind == "text":
                self.codes_ok(ty, option, option_e)
            options.append(option)
        return p.InSet(operand, tuple(options), expr.negated)

    def call(self, expr: n.Call) -> tuple[p.Plan, _Ty]:
        name, args = expr.name, expr.args
        doc = FUNCTIONS.get(name)
        if doc is None:
            raise self.fail(
                "EXPR.E006",
                f"unknown function {name!r}; available: " + ", ".join(sorted(FUNCTIONS)),
                expr.column,
            )
        arity = {"days_since": 1, "months_since": 1, "date": 1, "abs": 1, "uln": 1, "lln": 1}
        expected = arity.get(name, 2)
        if len(args) != expected:
            raise self.fail(
                "EXPR.E007",
                f"{name}() takes {expected} argument{'s' if expected > 1 else ''}, "
                f"got {len(args)}: write {doc.signature}",
                expr.column,
            )
        if name in ("uln", "lln"):
            return self.limit(name, args[0], expr.column)  # type: ignore[arg-type]
        if name == "date":
            return self.date_literal(args[0]), _Ty("date")
        if name == "abs":
            plan, ty = self.number(args[0], "abs()")
            return p.Abs(plan), ty
        if name in ("days_since", "months_since"):
            start = self.date_arg(args[0], name)
            unit: Literal["days", "months"] = "days" if name == "days_since" else "months"
            return p.DateDiff(unit, start, p.AsOf()), _Ty(
                "number", "days" if unit == "days" else None
            )
        start, end = self.date_arg(args[0], name), self.date_arg(args[1], name)
        if name == "days_between":
            return p.DateDiff("days", start, end), _Ty("number", "days")
        if name == "months_between":
            return p.DateDiff("months", start, end), _Ty("number")
        return p.DateDiff("years", start, end), _Ty("number", "years")

    def limit(self, which: Literal["uln", "lln"], arg: n.Expr, column: int) -> tuple[p.Plan, _Ty]:
        if not isinstance(arg, n.Name):
            raise self.fail(
                "EXPR.E007", f"{which}() takes an item name, e.g. {which}(alt)", arg.column
            )
        _, ty = self.name(arg.name, arg.column)
        if ty.kind != "number":
            raise self.fail(
                "EXPR.E007",
                f"{which}({arg.name}): {arg.name} is {_KIND_WORD[ty.kind]}, not a lab value",
                arg.column,
            )
        default = self.ranges.default(arg.name, which)
        if default is None:
            self.report(
                "EXPR.W001",
                f"{which}({arg.name}) has no study default; each candidate needs "
                f"{arg.name}_{which}, or add a reference range for {arg.name} to the study",
                column,
                "warning",
            )
        return p.Limit(arg.name, which, default), _Ty("number", ty.unit, ty.analyte)

    def date_literal(self, arg: n.Expr) -> p.Plan:
        if not isinstance(arg, n.Text):
            raise self.fail(
                "EXPR.E010", 'date() takes a quoted date: date("2024-01-31")', arg.column
            )
        try:
            value = date.fromisoformat(arg.value)
        except ValueError as exc:
            raise self.fail(
                "EXPR.E010",
                f'{arg.value!r} is not a date; write it as YYYY-MM-DD, e.g. date("2024-01-31")',
                arg.column,
            ) from exc
        if len(arg.value) != 10:
            raise self.fail("EXPR.E010", f"{arg.value!r}: write the date as YYYY-MM-DD", arg.column)
        return p.Const(value, "date")


def _describe(expr: n.Expr) -> str:
    match expr:
        case n.Name(name=name):
            return name
        case n.Number(value=value, unit=unit):
            return f"{_fmt(value)}{' ' + unit if unit else ''}"
        case n.Text(value=value):
            return repr(value)
        case n.BoolLiteral(value=value):
            return "true" if value else "false"
        case n.Call(name=name):
            return f"{name}(...)"
        case _:
            return f"the part at column {expr.column}"


def _fmt(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return str(float(value)) if not is_terminating(value) else _decimal_text(value)


def _decimal_text(value: Fraction) -> str:
    from decimal import Decimal

    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _suggest(name: str, items: Mapping[str, ItemSpec]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(items), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def check(
    expression: str | n.Expr,
    items: Mapping[str, ItemSpec],
    ranges: ReferenceRanges | None = None,
) -> list[Diagnostic]:
    """Every diagnostic for one expression (a syntax error is reported as EXPR.E001)."""
    return _run(expression, items, ranges)[1]


def _run(
    expression: str | n.Expr,
    items: Mapping[str, ItemSpec],
    ranges: ReferenceRanges | None,
) -> tuple[p.Plan | None, list[Diagnostic]]:
    source = expression if isinstance(expression, str) else None
    if isinstance(expression, str):
        try:
            tree = parse(expression)
        except ExpressionSyntaxError as exc:
            first = exc.message.split("\n", 1)[0]
            return None, [Diagnostic("EXPR.E001", "error", first, exc.column, source=source)]
    else:
        tree = expression
    checker = _Checker(source or "", items, ranges)
    plan = checker.condition(tree)
    diagnostics = [d if source is not None else _no_source(d) for d in checker.diagnostics]
    return plan, diagnostics


def _no_source(d: Diagnostic) -> Diagnostic:
    return Diagnostic(d.code, d.severity, d.message, d.column, d.criterion, None)


def compile_expression(
    expression: str | n.Expr,
    items: Mapping[str, ItemSpec],
    ranges: ReferenceRanges | None = None,
) -> p.Plan:
    """The checked plan of ``expression``; raises :class:`ExpressionError` on any error."""
    plan, diagnostics = _run(expression, items, ranges)
    errors = [d for d in diagnostics if d.severity == "error"]
    if plan is None or errors:
        first = errors[0]
        raise ExpressionError(
            "; ".join(d.message for d in errors)
            + (
                f"\n{first.source}\n{' ' * (first.column - 1)}^"
                if first.source and first.column
                else ""
            ),
            code=first.code,
        )
    return plan
