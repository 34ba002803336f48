"""The one compiled pre-screening query in the dialect of the engine that runs it.

DuckDB's query is the compiler's own (:func:`trialkit.criteria.sql.compile_sql`); PostgreSQL's is
the compiler's PostgreSQL dialect (it differs only in integer division and type names), with
the year, month and day of a date read by ``date_part`` as whole numbers (see
:func:`postgresql_fields`). Every
other engine's query is transpiled from the DuckDB query with sqlglot, which rewrites quoting,
type names, literals and operators (``//`` becomes Spark's ``DIV``). sqlglot cannot know from
the text alone that ``a - b`` subtracts two dates (a day count in DuckDB and PostgreSQL, an
interval in Spark), so before it writes the query the day differences the compiler made are
found by their operands' types (the date items, date literals and casts to a date) and written
as ``DATEDIFF(end, start)``. Nothing else is rewritten by hand.

A :class:`~trialkit.criteria.mapping.ColumnMapping` puts the warehouse's own column names in
front of the query: a first CTE selects each mapped column cast to its item's type under the
item's name, so the screening query itself never changes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Literal, get_args

from trialkit.criteria.mapping import ColumnMapping
from trialkit.criteria.screening import CompiledCriteria
from trialkit.criteria.spec import DataType
from trialkit.criteria.sql import compile_sql, quote, sql_type
from trialkit.errors import ValidationFailed

__all__ = ["ENGINES", "SOURCE", "Engine", "engine_sql", "postgresql_fields", "transpile"]

Engine = Literal["duckdb", "postgresql", "spark"]
ENGINES: tuple[Engine, ...] = get_args(Engine)
#: The name of the CTE that renames a mapped table's columns to the items.
SOURCE = "trialkit_candidates"
#: sqlglot's name for each engine.
_SQLGLOT = {"duckdb": "duckdb", "postgresql": "postgres", "spark": "spark"}


def transpile(duckdb_sql: str, engine: Engine, date_columns: Collection[str] = ()) -> str:
    """``duckdb_sql`` (a query of the compiler's) written for ``engine`` by sqlglot.

    ``date_columns`` are the columns of type DATE, so that a difference of two dates is
    written as a day count where the engine's ``-`` would give an interval.
    """
    if engine == "duckdb":
        return duckdb_sql
    import sqlglot
    from sqlglot import exp

    dates = set(date_columns)

    def is_date(node: exp.Expr) -> bool:
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Cast):
            return bool(node.to.this == exp.DataType.Type.DATE)
        return isinstance(node, exp.Column) and node.name in dates

    def day_count(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Sub) and is_date(node.left) and is_date(node.right):
            # Spark's two-argument DATEDIFF(end, start) counts calendar days; with a unit it
            # would be TIMESTAMPDIFF, which goes through timestamps in the session time zone.
            return exp.DateDiff(this=node.left.copy(), expression=node.right.copy())
        return node

    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    if engine == "spark":
        tree = tree.transform(day_count)
    return tree.sql(dialect=_SQLGLOT[engine], pretty=True)


def postgresql_fields(postgresql_sql: str) -> str:
    """The compiler's PostgreSQL query with ``EXTRACT(f FROM d)`` read as a whole number.

    Since PostgreSQL 14 ``EXTRACT`` returns NUMERIC, and the month counts do a dozen of them
    per date difference in arbitrary-precision arithmetic. ``date_part`` gives the same year,
    month or day of a date as a double, which is exact for these small whole numbers; cast to
    INTEGER, the arithmetic after it is integer arithmetic, as in DuckDB. (Measured: 1.4 times
    a hand-written query with EXTRACT, 1.06 times with date_part; benchmarks/README.md.)
    """
    import sqlglot
    from sqlglot import exp

    def whole(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Extract):
            field = exp.Literal.string(node.name.lower())
            part = exp.Anonymous(this="date_part", expressions=[field, node.expression.copy()])
            return exp.Cast(this=part, to=exp.DataType.build("INTEGER"))
        return node

    tree = sqlglot.parse_one(postgresql_sql, read="postgres").transform(whole)
    return tree.sql(dialect="postgres", pretty=True)


def _dialect_of(engine: Engine) -> Literal["duckdb", "postgresql"]:
    return "postgresql" if engine == "postgresql" else "duckdb"


def _source(
    mapping: ColumnMapping,
    types: Mapping[str, DataType],
    table: str,
    id_column: str,
    engine: Engine,
) -> str:
    dialect = _dialect_of(engine)
    parts = [f"{quote(mapping.id_column)} AS {quote(id_column)}"]
    for name, column in mapping.columns.items():
        parts.append(f"CAST({quote(column)} AS {sql_type(types[name], dialect)}) AS {quote(name)}")
    return "SELECT\n    " + ",\n    ".join(parts) + f"\n  FROM {quote(table)}"


def engine_sql(
    compiled: CompiledCriteria,
    engine: Engine,
    *,
    table: str = "candidates",
    id_column: str = "candidate_id",
    columns: Collection[str] | None = None,
    as_of: date | None = None,
    mapping: ColumnMapping | None = None,
) -> str:
    """The compiled query screening ``table`` on ``engine``.

    Without ``mapping`` the table's columns carry the items' names; ``columns`` lists them when
    known (an item the table lacks is missing for every candidate). With ``mapping`` the
    table's columns are those it names, each cast to its item's type.
    """
    if engine not in ENGINES:
        raise ValidationFailed(
            f"engine {engine!r} is not one of {', '.join(ENGINES)}", code="PRESCREEN.E020"
        )
    types: dict[str, DataType] = {name: spec.data_type for name, spec in compiled.items.items()}
    for name in compiled.items:
        for which in ("uln", "lln"):
            types.setdefault(f"{name}_{which}", "decimal")
    source_table = table
    if mapping is not None:
        mapping.check(types)
        columns = {id_column, *mapping.columns}
        source_table = SOURCE
    query = compile_sql(
        compiled,
        dialect=_dialect_of(engine),
        table=source_table,
        id_column=id_column,
        columns=columns,
        as_of=as_of,
    )
    if mapping is not None:
        prefix = "WITH screened AS ("
        assert query.startswith(prefix)
        source = _source(mapping, types, table, id_column, engine)
        query = f"WITH {quote(SOURCE)} AS (\n  {source}\n),\nscreened AS (" + query[len(prefix) :]
    if engine == "postgresql":
        return postgresql_fields(query)
    dates = [name for name, kind in types.items() if kind == "date"]
    return transpile(query, engine, dates) if engine == "spark" else query
