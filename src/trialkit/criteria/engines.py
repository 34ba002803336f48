"""Running the compiled query where the candidates live: a DuckDB, PostgreSQL or Spark table.

The query is sent to the engine as it is (:func:`trialkit.criteria.dialects.engine_sql`); the
engine reads its own table, and only the verdicts come back: the candidate's id, the verdict,
the failed and unknown criteria and the missing items. No clinical value leaves the engine.
Rows are streamed in chunks (DuckDB's and PostgreSQL's cursors, Spark's local iterator one
partition at a time), so memory stays bounded however many candidates the table holds.

A table's values are typed by the engine and taken as they are: the file loader's checks of
text cells (:mod:`trialkit.criteria.prescreen`) do not apply, so no candidate is ``invalid``.
"""

from __future__ import annotations

import csv
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from trialkit.criteria.dialects import Engine, engine_sql
from trialkit.criteria.mapping import ColumnMapping
from trialkit.criteria.prescreen import PrescreenSummary, Progress
from trialkit.criteria.screening import CompiledCriteria
from trialkit.errors import StorageError, ValidationFailed

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["TableSource", "prescreen_table", "spark_session", "write_verdicts"]

VERDICT_HEADER = ("verdict", "failed", "unknown", "missing", "problems")


@dataclass(frozen=True)
class TableSource:
    """Where the candidates are: ``engine``, the table, and how to reach the engine.

    ``url`` is a DuckDB database file (default: a new in-memory database), a PostgreSQL URL
    (``postgresql://user@host/db``; ``postgresql+psycopg://`` is accepted) or a Spark master
    (default ``local[*]``). ``parquet`` registers a Parquet file as ``table`` on Spark.
    """

    engine: Engine
    table: str = "candidates"
    url: str | None = None
    parquet: Path | None = None


def spark_session(master: str | None = None) -> SparkSession:
    """The active Spark session, or a new one on ``master`` (default ``local[*]``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is in the dev extra
        raise StorageError(
            "the spark engine needs pyspark; install it with `pip install pyspark` "
            "(and a Java 17 runtime)",
            code="PRESCREEN.E024",
        ) from exc
    with warnings.catch_warnings():
        # pyspark warns about the pandas version on start; trialkit does not use its pandas API
        warnings.simplefilter("ignore", FutureWarning)
        builder = SparkSession.builder.master(master or "local[*]").appName("trialkit prescreen")
        session = builder.config("spark.ui.enabled", "false").getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class _Runner(ABC):
    """Columns of a table and a streamed query on one engine."""

    #: The engine's driver error, translated at this edge.
    error: type[Exception] = Exception

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """The table's column names, in order."""

    @abstractmethod
    def rows(self, query: str, chunk: int) -> Iterator[Sequence[Any]]:
        """The query's rows, fetched ``chunk`` at a time."""

    def close(self) -> None:
        return None


class _DuckDB(_Runner):
    def __init__(self, url: str | None) -> None:
        import duckdb

        self.error = duckdb.Error
        try:
            self.conn = duckdb.connect(url or ":memory:", read_only=url is not None)
        except duckdb.Error as exc:
            raise StorageError(
                f"cannot open the DuckDB database {url!r}: {str(exc).splitlines()[0]}",
                code="PRESCREEN.E024",
            ) from exc

    def columns(self, table: str) -> list[str]:
        from trialkit.criteria.sql import quote

        cursor = self.conn.execute(f"SELECT * FROM {quote(table)} LIMIT 0")
        return [d[0] for d in cursor.description or ()]

    def rows(self, query: str, chunk: int) -> Iterator[Sequence[Any]]:
        cursor = self.conn.execute(query)
        while batch := cursor.fetchmany(chunk):
            yield from batch

    def close(self) -> None:
        self.conn.close()


class _PostgreSQL(_Runner):
    def __init__(self, url: str | None) -> None:
        import psycopg

        if not url:
            raise ValidationFailed(
                "the postgresql engine needs --url postgresql://user@host:5432/database",
                code="PRESCREEN.E024",
            )
        self.error = psycopg.Error
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            self.conn = psycopg.connect(dsn)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot connect to PostgreSQL: {str(exc).splitlines()[0]}", code="PRESCREEN.E024"
            ) from exc
        self.conn.read_only = True  # pre-screening never writes to the warehouse

    def columns(self, table: str) -> list[str]:
        from trialkit.criteria.sql import quote

        with self.conn.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {quote(table)} LIMIT 0")
            return [d.name for d in cursor.description or ()]

    def rows(self, query: str, chunk: int) -> Iterator[Sequence[Any]]:
        # A named cursor is a server-side cursor: the server sends the rows chunk by chunk.
        with self.conn.cursor(name="trialkit_prescreen") as cursor:
            cursor.itersize = chunk
            cursor.execute(query)
            while batch := cursor.fetchmany(chunk):
                yield from batch

    def close(self) -> None:
        self.conn.close()


class _Spark(_Runner):
    def __init__(self, url: str | None, session: SparkSession | None) -> None:
        self.session = session if session is not None else spark_session(url)
        from pyspark.errors import PySparkException

        self.error = PySparkException

    def columns(self, table: str) -> list[str]:
        return list(self.session.table(table).columns)

    def rows(self, query: str, chunk: int) -> Iterator[Sequence[Any]]:
        yield from self.session.sql(query).toLocalIterator(prefetchPartitions=False)


def _runner(source: TableSource, spark: SparkSession | None) -> _Runner:
    if source.engine == "duckdb":
        return _DuckDB(source.url)
    if source.engine == "postgresql":
        return _PostgreSQL(source.url)
    runner = _Spark(source.url, spark)
    if source.parquet is not None:
        if not source.parquet.is_file():
            raise ValidationFailed(
                f"candidate file {str(source.parquet)!r} does not exist", code="PRESCREEN.E001"
            )
        runner.session.read.parquet(str(source.parquet)).createOrReplaceTempView(source.table)
    return runner


def write_verdicts(
    rows: Iterable[Sequence[Any]],
    out: TextIO,
    id_column: str,
    summary: PrescreenSummary,
    *,
    progress: Progress | None = None,
    every: int = 50_000,
) -> None:
    """Write the query's rows as the verdict CSV (lists separated by ``;``), counting them."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([id_column, *VERDICT_HEADER])
    done = 0
    for cid, verdict, failed, unknown, missing in rows:
        summary.counts[verdict] = summary.counts.get(verdict, 0) + 1
        writer.writerow(
            (
                cid,
                verdict,
                failed.replace(",", ";"),
                unknown.replace(",", ";"),
                missing.replace(",", ";"),
                "",
            )
        )
        done += 1
        if progress is not None and done % every == 0:
            progress(done, 0)
    summary.total = done
    if progress is not None:
        progress(done, done)


def prescreen_table(
    compiled: CompiledCriteria,
    source: TableSource,
    out: TextIO,
    *,
    mapping: ColumnMapping | None = None,
    as_of: date | None = None,
    id_column: str = "candidate_id",
    allow_extra_columns: bool = False,
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
    spark: SparkSession | None = None,
) -> PrescreenSummary:
    """Screen every candidate of ``source``'s table on its engine; write the verdicts to ``out``.

    Without ``mapping`` the table's columns carry the items' names (a column that is no item
    is refused unless ``allow_extra_columns``, as for a file); with it, the mapping names them.
    Items without a column are missing for every candidate and listed in the summary.
    ``progress(done, total)`` is called as rows arrive (``total`` is 0 until the end).
    """
    runner = _runner(source, spark)
    try:
        try:
            present = runner.columns(source.table)
        except runner.error as exc:
            raise ValidationFailed(
                f"{source.engine}: cannot read the table {source.table!r}: "
                f"{str(exc).strip().splitlines()[0]}",
                code="PRESCREEN.E023",
                hint="name an existing table (schema.table) with --table",
            ) from exc
        names = dict(compiled.items)
        limits = {f"{n}_{w}" for n in names for w in ("uln", "lln")}
        if mapping is None:
            if id_column not in present:
                raise ValidationFailed(
                    f"{source.engine}: the table {source.table!r} has no id column "
                    f"{id_column!r}; name one with --id-column (columns: {', '.join(present)})",
                    code="PRESCREEN.E025",
                )
            extra = [c for c in present if c != id_column and c not in names and c not in limits]
            if extra and not allow_extra_columns:
                raise ValidationFailed(
                    f"{source.engine}: the table {source.table!r} has column(s) "
                    f"{', '.join(extra)} that are no item of the criteria",
                    code="PRESCREEN.E006",
                    hint="map the columns with --columns MAPPING.yaml, or pass "
                    "--allow-extra-columns",
                )
            columns = {id_column, *(c for c in present if c in names or c in limits)}
        else:
            lacking = mapping.missing_columns(set(present))
            if lacking:
                raise ValidationFailed(
                    f"{source.engine}: the table {source.table!r} has no column "
                    f"{', '.join(lacking)} named in the column mapping",
                    code="PRESCREEN.E025",
                    hint=f"its columns: {', '.join(present)}",
                )
            extra = []
            columns = {id_column, *mapping.columns}
        query = engine_sql(
            compiled,
            source.engine,
            table=source.table,
            id_column=id_column,
            columns=None if mapping is not None else columns,
            as_of=as_of,
            mapping=mapping,
        )
        summary = PrescreenSummary(
            absent_items=tuple(sorted(set(names) - columns)), extra_columns=tuple(extra)
        )
        try:
            write_verdicts(
                runner.rows(query, chunk_rows), out, id_column, summary, progress=progress
            )
        except runner.error as exc:
            raise StorageError(
                f"{source.engine}: the screening query failed on {source.table!r}: "
                f"{str(exc).strip().splitlines()[0]}",
                code="PRESCREEN.E026",
                hint="check that each column holds its item's type (see --sql-only for the query)",
            ) from exc
        return summary
    finally:
        runner.close()
