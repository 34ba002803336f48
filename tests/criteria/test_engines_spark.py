"""The compiled query on Spark SQL (pyspark in local mode): DuckDB's verdicts, exactly.

One SparkSession serves the whole test session (the JVM takes seconds to start); the tests are
few and each screens several studies. Spark reads the Parquet file that DuckDB wrote from its
own table, so both engines screen the very same values. Skipped with the reason when pyspark or
Java is missing; in CI (where .ci/run installs Java) that is a failure instead.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.conftest import in_ci

from trialkit.criteria import StudyCriteria
from trialkit.criteria.engines import TableSource
from trialkit.criteria.mapping import ColumnMapping

from .engine_data import evaluator_rows, make_table, screen
from .test_sql import FEATURE, LIMIT_COLUMNS


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    reason = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason = "pyspark is not installed (pip install -e '.[dev]')"
    if reason is None and shutil.which("java") is None:
        reason = "no Java runtime (apt-get install openjdk-17-jre-headless)"
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason}; CI=true: the Spark tests must run", pytrace=False)
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark's start-up warnings (pandas version, JVM)
        session = (
            SparkSession.builder.master("local[1]")
            .appName("trialkit tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "512m")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_gives_duckdbs_verdicts_failed_and_unknown_criteria(
    spark: Any,
    tmp_path: Path,
    psoriasis: StudyCriteria,
    ibd: StudyCriteria,
    ucmsc: StudyCriteria,
) -> None:
    cases = [
        (FEATURE, LIMIT_COLUMNS, 300),
        (psoriasis, {"alt_uln": True}, 150),
        (ibd, {}, 150),
        (ucmsc, {}, 100),
    ]
    for i, (study, limits, n) in enumerate(cases):
        table = make_table(study, limits, 1000 + i, n, tmp_path / str(i))
        name = f"candidates_{i}"
        on_spark = screen(study, TableSource("spark", name, parquet=table.parquet), spark=spark)
        on_duck = screen(study, TableSource("duckdb", "candidates", str(table.database)))
        assert on_spark == on_duck == evaluator_rows(study, table.rows)
        if study is FEATURE:  # every verdict, with failed and unknown criteria
            assert {row[1] for row in on_spark} == {"eligible", "ineligible", "incomplete"}
            assert any(row[2] and row[3] for row in on_spark)


def test_spark_with_a_column_mapping(spark: Any, tmp_path: Path, ibd: StudyCriteria) -> None:
    table = make_table(ibd, {}, 99, 300, tmp_path)
    hospital = tmp_path / "hospital.parquet"
    conn = duckdb.connect(str(table.database))
    try:  # the hospital's own column names, an age as a 32-bit integer and CDAI as a double
        conn.execute(
            "COPY (SELECT candidate_id AS mrn, CAST(age AS INTEGER) AS age_years, "
            "CAST(cdai AS DOUBLE) AS cdai_score, * EXCLUDE (candidate_id, age, cdai) "
            f"FROM candidates) TO '{hospital}' (FORMAT parquet)"
        )
    finally:
        conn.close()
    spark.read.parquet(str(hospital)).createOrReplaceTempView("ibd_screening")
    columns = {n: n for n in ibd.items} | {"age": "age_years", "cdai": "cdai_score"}
    mapping = ColumnMapping("mrn", columns, "ibd_screening")
    got = screen(ibd, TableSource("spark", "ibd_screening"), mapping, spark=spark)
    assert got == evaluator_rows(ibd, table.rows)


def test_cli_screens_a_parquet_file_on_spark(
    spark: Any, tmp_path: Path, ucmsc: StudyCriteria
) -> None:
    import typer
    from typer.testing import CliRunner

    from trialkit.cli.prescreen import register

    from .engine_data import verdict_rows

    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    table = make_table(ucmsc, {}, 5, 50, tmp_path)
    out = tmp_path / "verdicts.csv"
    result = CliRunner().invoke(
        app,
        [
            *("prescreen", "psoriasis-ucmsc", str(table.parquet), "--engine", "spark"),
            *("--as-of", "2025-03-01", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "50 candidates screened on spark (candidates)" in result.output
    assert verdict_rows(out.read_text()) == evaluator_rows(ucmsc, table.rows)
