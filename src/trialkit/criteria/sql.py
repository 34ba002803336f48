"""Compiling criteria into one SQL query (DuckDB and PostgreSQL) that screens a whole table.

The query returns one row per candidate: ``candidate_id``, ``verdict`` (``eligible``,
``ineligible`` or ``incomplete``), ``failed`` and ``unknown`` (criterion ids, comma-separated,
in the criteria's order) and ``missing`` (items still needed, sorted). SQL's NULL logic is
Kleene's, so the verdicts equal :class:`~trialkit.criteria.CompiledCriteria`'s.

Numbers stay exact: thresholds are decimal literals, unit conversions multiply by exact decimal
factors, and a comparison with a factor that has no finite decimal form (1/88.42) is
multiplied through by its denominator instead of divided.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from trialkit.criteria import plan as p
from trialkit.criteria.checker import is_terminating
from trialkit.criteria.screening import CompiledCriteria, compile_criteria
from trialkit.criteria.spec import CriterionLike, DataType, ItemSpec, ReferenceRanges
from trialkit.errors import ExpressionError

__all__ = ["Dialect", "compile_sql", "quote", "sql_type"]

Dialect = Literal["duckdb", "postgresql"]

_TYPES: dict[Dialect, dict[DataType, str]] = {
    "duckdb": {
        "integer": "BIGINT",
        "decimal": "DECIMAL(18,6)",
        "text": "VARCHAR",
        "code": "VARCHAR",
        "date": "DATE",
        "datetime": "TIMESTAMP",
        "boolean": "BOOLEAN",
    },
    "postgresql": {
        "integer": "BIGINT",
        "decimal": "NUMERIC",
        "text": "TEXT",
        "code": "TEXT",
        "date": "DATE",
        "datetime": "TIMESTAMP",
        "boolean": "BOOLEAN",
    },
}


def sql_type(data_type: DataType, dialect: Dialect = "duckdb") -> str:
    """The column type an item of ``data_type`` has in the screened table."""
    return _TYPES[dialect][data_type]


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier (a dotted name is quoted part by part)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in identifier.split("."))


def _decimal(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


class _Compiler:
    def __init__(
        self,
        dialect: Dialect,
        items: Mapping[str, ItemSpec],
        columns: Collection[str] | None,
        as_of: date | None,
    ) -> None:
        self.dialect = dialect
        self.items = items
        self.columns = None if columns is None else set(columns)
        self.as_of = as_of

    def has(self, column: str) -> bool:
        return self.columns is None or column in self.columns

    def null_of(self, data_type: DataType) -> str:
        return f"CAST(NULL AS {sql_type(data_type, self.dialect)})"

    def number(self, value: Fraction) -> str:
        if not is_terminating(value):
            raise ExpressionError(
                f"the number {value} has no exact decimal form and cannot be compiled to SQL; "
                "write the condition so that the converted value is compared, not computed",
                code="EXPR.E014",
            )
        text = _decimal(value)
        return f"({text})" if value < 0 else text

    def literal(self, const: p.Const) -> str:
        value = const.value
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, Fraction):
            return self.number(value)
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        return f"DATE '{value.isoformat()}'"

    def expr(self, plan: p.Plan) -> str:
        match plan:
            case p.Const():
                return self.literal(plan)
            case p.Item(name=name, data_type=data_type):
                return quote(name) if self.has(name) else self.null_of(data_type)
            case p.Limit(default=default):
                fallback = self.null_of("decimal") if default is None else self.number(default)
                if not self.has(plan.column):
                    return fallback
                if default is None:
                    return quote(plan.column)
                return f"COALESCE({quote(plan.column)}, {fallback})"
            case p.AsOf():
                if self.as_of is None:
                    raise ExpressionError(
                        "days_since/months_since need the evaluation date; pass as_of",
                        code="EXPR.E013",
                    )
                return f"DATE '{self.as_of.isoformat()}'"
            case p.Scale(operand=operand, factor=factor):
                return f"({self.expr(operand)} * {self.number(factor)})"
            case p.Arith(op=op, left=left, right=right):
                return f"({self.expr(left)} {op} {self.expr(right)})"
            case p.Neg(operand=operand):
                return f"(-{self.expr(operand)})"
            case p.Abs(operand=operand):
                return f"ABS({self.expr(operand)})"
            case p.Cmp():
                return self.compare(plan)
            case p.InSet(operand=operand, options=options, negated=negated):
                listed = ", ".join(self.literal(o) for o in options)
                return f"({self.expr(operand)} {'NOT IN' if negated else 'IN'} ({listed}))"
            case p.Missing(operand=operand, negated=negated):
                return f"({self.expr(operand)} IS {'NOT NULL' if negated else 'NULL'})"
            case p.And(operands=operands):
                return "(" + " AND ".join(self.expr(o) for o in operands) + ")"
            case p.Or(operands=operands):
                return "(" + " OR ".join(self.expr(o) for o in operands) + ")"
            case p.Not(operand=operand):
                return f"(NOT {self.expr(operand)})"
            case p.DateDiff():
                return self.date_diff(plan)
        raise AssertionError(f"unhandled plan node {plan!r}")  # pragma: no cover

    def compare(self, cmp: p.Cmp) -> str:
        left, right = cmp.left, cmp.right
        # Multiply both sides by the denominators of factors with no finite decimal form.
        dens = [
            f.denominator
            for f in (_inexact(left), _inexact(right))
            if f is not None and not is_terminating(f)
        ]
        if dens:
            k = Fraction(math.lcm(*dens))
            left, right = _times(left, k), _times(right, k)
        op = "<>" if cmp.op == "!=" else "=" if cmp.op == "==" else cmp.op
        return f"({self.expr(left)} {op} {self.expr(right)})"

    def day(self, plan: p.Plan) -> str:
        sql = self.expr(plan)
        if isinstance(plan, p.Item) and plan.kind == "datetime":
            return f"CAST({sql} AS DATE)"
        return sql

    def forward_months(self, a: str, b: str) -> str:
        def part(field: str, x: str) -> str:
            return f"EXTRACT({field} FROM {x})"

        return (
            f"(({part('YEAR', b)} - {part('YEAR', a)}) * 12 + {part('MONTH', b)} - "
            f"{part('MONTH', a)} - CASE WHEN {part('DAY', b)} < {part('DAY', a)} AND "
            f"{part('DAY', f'{b} + 1')} <> 1 THEN 1 ELSE 0 END)"
        )

    def idiv12(self, x: str) -> str:
        return f"({x} // 12)" if self.dialect == "duckdb" else f"DIV({x}, 12)"

    def date_diff(self, diff: p.DateDiff) -> str:
        a, b = self.day(diff.start), self.day(diff.end)
        if diff.unit == "days":
            return f"({b} - {a})"
        forward, backward = self.forward_months(a, b), self.forward_months(b, a)
        if diff.unit == "years":
            forward, backward = self.idiv12(forward), self.idiv12(backward)
        return f"(CASE WHEN {b} >= {a} THEN {forward} ELSE -{backward} END)"


def _inexact(plan: p.Plan) -> Fraction | None:
    if isinstance(plan, p.Const) and isinstance(plan.value, Fraction):
        return plan.value
    if isinstance(plan, p.Scale):
        return plan.factor
    return None


def _times(plan: p.Plan, k: Fraction) -> p.Plan:
    if isinstance(plan, p.Const) and isinstance(plan.value, Fraction):
        return p.Const(plan.value * k, "number")
    if isinstance(plan, p.Scale):
        return p.Scale(plan.operand, plan.factor * k)
    return p.Scale(plan, k)


def compile_sql(
    criteria: Sequence[CriterionLike] | CompiledCriteria,
    items: Mapping[str, ItemSpec] | None = None,
    ranges: ReferenceRanges | None = None,
    *,
    dialect: Dialect = "duckdb",
    table: str = "candidates",
    id_column: str = "candidate_id",
    columns: Collection[str] | None = None,
    as_of: date | None = None,
) -> str:
    """One SELECT screening every row of ``table``.

    ``columns`` lists the table's columns when known: an item the table lacks is missing for
    every candidate, and ``<item>_uln``/``_lln`` columns are used only when present. With
    ``None`` the table is taken to have a column per item and no limit columns.
    ``as_of`` is the evaluation date for ``days_since``/``months_since``.
    """
    if isinstance(criteria, CompiledCriteria):
        compiled = criteria
    else:
        if items is None:
            raise TypeError("compile_sql needs the items when given raw criteria")
        compiled = compile_criteria(criteria, items, ranges)
    if dialect not in _TYPES:
        raise ValueError(f"dialect {dialect!r} is not one of duckdb, postgresql")
    if columns is None:
        columns = set(compiled.items) | {id_column}
    c = _Compiler(dialect, compiled.items, columns, as_of)

    inner = [f"{quote(id_column)} AS candidate_id"]
    needed: dict[str, list[str]] = {}  # item or limit column -> criteria that read it
    for i, crit in enumerate(compiled.criteria):
        inner.append(f"{c.expr(crit.plan)} AS c{i}")
        for ref in crit.reads:
            if isinstance(ref, p.Item):
                needed.setdefault(ref.name, []).append(f"c{i}")
            elif isinstance(ref, p.Limit) and ref.default is None:
                needed.setdefault(ref.column, []).append(f"c{i}")
    names = sorted(needed)
    for j, name in enumerate(names):
        present = c.has(name)
        inner.append(f"{quote(name) + ' IS NULL' if present else 'TRUE'} AS m{j}")

    fails: list[str] = []
    unknowns: list[str] = []
    for i, crit in enumerate(compiled.criteria):
        bad = "FALSE" if crit.kind == "inclusion" else "TRUE"
        fails.append(f"c{i} IS {bad}")
        unknowns.append(f"c{i} IS NULL")

    def listing(conds: list[str], labels: list[str]) -> str:
        if not conds:
            return "''"
        parts = ", ".join(
            f"CASE WHEN {cond} THEN '{label}' END"
            for cond, label in zip(conds, labels, strict=True)
        )
        return f"CONCAT_WS(',', {parts})"

    ids = [crit.id.replace("'", "''") for crit in compiled.criteria]
    missing_conds = []
    for j, name in enumerate(names):
        readers = " OR ".join(f"{r} IS NULL" for r in needed[name])
        missing_conds.append(f"m{j} AND ({readers})")
    any_fail = " OR ".join(fails) or "FALSE"
    any_unknown = " OR ".join(unknowns) or "FALSE"
    return (
        "WITH screened AS (\n  SELECT\n    "
        + ",\n    ".join(inner)
        + f"\n  FROM {quote(table)}\n)\nSELECT\n  candidate_id,\n"
        + f"  CASE WHEN {any_fail} THEN 'ineligible'\n"
        + f"       WHEN {any_unknown} THEN 'incomplete'\n"
        + "       ELSE 'eligible' END AS verdict,\n"
        + f"  {listing(fails, ids)} AS failed,\n"
        + f"  {listing(unknowns, ids)} AS unknown,\n"
        + f"  {listing(missing_conds, names)} AS missing\n"
        + "FROM screened"
    )
