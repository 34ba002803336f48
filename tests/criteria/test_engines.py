"""The compiled query on an engine's own table (DuckDB, PostgreSQL): the evaluator's verdicts.

Spark, whose JVM is slow to start, has its own module (test_engines_spark.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from trialkit.cli.prescreen import register
from trialkit.criteria import StudyCriteria, compile_criteria, compile_sql
from trialkit.criteria.dialects import engine_sql, postgresql_fields, transpile
from trialkit.criteria.engines import TableSource
from trialkit.criteria.mapping import ColumnMapping, load_mapping
from trialkit.errors import ValidationFailed

from .engine_data import AS_OF, Table, evaluator_rows, make_table, screen, verdict_rows
from .test_sql import FEATURE, LIMIT_COLUMNS

POSTGRES_ENV = "TRIALKIT_TEST_DATABASE_URL"


def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.callback()
    def main() -> None:
        """Test app."""

    return application


@pytest.fixture
def feature(tmp_path: Path) -> Table:
    return make_table(FEATURE, LIMIT_COLUMNS, 20250301, 300, tmp_path)


@pytest.fixture
def postgresql_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to screen on")
    return url


def test_duckdb_table_gives_the_evaluators_verdicts(feature: Table, ibd: StudyCriteria) -> None:
    got = screen(FEATURE, TableSource("duckdb", "candidates", str(feature.database)))
    assert got == evaluator_rows(FEATURE, feature.rows)
    assert {row[1] for row in got} == {"eligible", "ineligible", "incomplete"}


def test_postgresql_table_gives_the_same_verdicts_as_duckdb(
    feature: Table, postgresql_url: str, tmp_path: Path, psoriasis: StudyCriteria
) -> None:
    import psycopg

    schema = f"prescreen_{os.getpid()}"
    dsn = postgresql_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
    try:
        feature.load_postgresql(postgresql_url, f"{schema}.candidates")
        on_pg = screen(FEATURE, TableSource("postgresql", f"{schema}.candidates", postgresql_url))
        on_duck = screen(FEATURE, TableSource("duckdb", "candidates", str(feature.database)))
        assert on_pg == on_duck == evaluator_rows(FEATURE, feature.rows)
        other = make_table(psoriasis, {"alt_uln": True}, 7, 200, tmp_path / "p")
        other.load_postgresql(postgresql_url, f"{schema}.psoriasis")
        got = screen(psoriasis, TableSource("postgresql", f"{schema}.psoriasis", postgresql_url))
        assert got == evaluator_rows(psoriasis, other.rows)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]


def test_a_column_mapping_renames_and_casts_the_warehouse_columns(
    ibd: StudyCriteria, tmp_path: Path
) -> None:
    table = make_table(ibd, {}, 11, 200, tmp_path)
    conn = duckdb.connect(str(table.database))
    try:  # the hospital's names, and an age stored as a 32-bit integer
        conn.execute(
            "CREATE TABLE warehouse AS SELECT candidate_id AS mrn, CAST(age AS INTEGER) AS "
            "age_years, * EXCLUDE (candidate_id, age) FROM candidates"
        )
    finally:
        conn.close()
    columns = {name: name for name in ibd.items if name != "age"} | {"age": "age_years"}
    mapping = ColumnMapping("mrn", columns, "warehouse")
    got = screen(ibd, TableSource("duckdb", "warehouse", str(table.database)), mapping)
    assert got == evaluator_rows(ibd, table.rows)
    # An item the mapping leaves out is missing for every candidate.
    partial = ColumnMapping("mrn", {"age": "age_years"}, "warehouse")
    rows = screen(ibd, TableSource("duckdb", "warehouse", str(table.database)), partial)
    assert all(verdict in ("ineligible", "incomplete") for _, verdict, *_ in rows)
    assert all("ses_cd" in missing for *_, missing, _ in rows if _ != "")


def test_mapping_and_table_errors_name_the_problem(ibd: StudyCriteria, tmp_path: Path) -> None:
    table = make_table(ibd, {}, 3, 5, tmp_path)
    source = TableSource("duckdb", "candidates", str(table.database))
    with pytest.raises(ValidationFailed) as unknown:
        screen(ibd, source, ColumnMapping("candidate_id", {"agee": "age"}))
    assert unknown.value.code == "PRESCREEN.E021"
    assert "agee" in unknown.value.message
    with pytest.raises(ValidationFailed) as lacking:
        screen(ibd, source, ColumnMapping("candidate_id", {"age": "age_years"}))
    assert lacking.value.code == "PRESCREEN.E025"
    assert "age_years" in lacking.value.message
    with pytest.raises(ValidationFailed) as absent:
        screen(ibd, TableSource("duckdb", "nowhere", str(table.database)))
    assert absent.value.code == "PRESCREEN.E023"
    assert "nowhere" in absent.value.message


def test_mapping_file_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("table: research.ibd\nid_column: mrn\ncolumns:\n  age: age_years\n")
    mapping = load_mapping(path)
    assert mapping == ColumnMapping("mrn", {"age": "age_years"}, "research.ibd")
    path.write_text("columns:\n  age: age_years\ntabel: x\n")
    with pytest.raises(ValidationFailed) as bad:
        load_mapping(path)
    assert bad.value.code == "PRESCREEN.E022"
    assert "tabel" in bad.value.message


def test_duckdb_and_postgresql_queries_are_the_compilers(ibd: StudyCriteria) -> None:
    compiled = compile_criteria(ibd.criteria, ibd.items, ibd.ranges)
    duck = compile_sql(compiled, dialect="duckdb", as_of=AS_OF)
    assert engine_sql(compiled, "duckdb", as_of=AS_OF) == duck
    pg = engine_sql(compiled, "postgresql", as_of=AS_OF)
    assert pg == postgresql_fields(compile_sql(compiled, dialect="postgresql", as_of=AS_OF))
    assert "EXTRACT" in duck
    assert "EXTRACT" not in pg
    assert "CAST(DATE_PART('month', \"screening_date\") AS INT)" in pg


def test_spark_dialect_counts_days_between_dates() -> None:
    query = 'SELECT ("end" - "start") AS d, ("n" - 1) AS m, (DATE \'2025-03-01\' - "start") AS s'
    spark = transpile(query, "spark", date_columns={"start", "end"})
    assert "DATEDIFF(`end`, `start`)" in spark
    assert "DATEDIFF(CAST('2025-03-01' AS DATE), `start`)" in spark
    assert "`n` - 1" in spark


def test_cli_prints_the_query_of_each_engine(tmp_path: Path) -> None:
    runner = CliRunner()
    duck = runner.invoke(app(), ["prescreen", "ibd-placental-exosomes", "--sql-only"])
    assert duck.exit_code == 0, duck.output
    assert duck.output.startswith("WITH screened AS (")
    assert '"ibd_type"' in duck.output
    mapping = tmp_path / "map.yaml"
    mapping.write_text("table: research.ibd\nid_column: mrn\ncolumns:\n  age: age_years\n")
    spark = runner.invoke(
        app(),
        [
            *("prescreen", "ibd-placental-exosomes", "--engine", "spark", "--sql-only"),
            *("--columns", str(mapping), "--as-of", "2025-03-01"),
        ],
    )
    assert spark.exit_code == 0, spark.output
    assert "`research`.`ibd`" in spark.output
    assert "CAST(`age_years` AS BIGINT) AS `age`" in spark.output
    assert "DATEDIFF(" in spark.output
    wrong = runner.invoke(app(), ["prescreen", "ibd-placental-exosomes", "--engine", "trino"])
    assert wrong.exit_code != 0
    assert "PRESCREEN.E020" in wrong.output
    assert "Traceback" not in wrong.output


def test_cli_screens_a_duckdb_table(feature: Table, tmp_path: Path) -> None:
    items = tmp_path / "feature.yaml"
    _write_criteria_file(items)
    out = tmp_path / "verdicts.csv"
    result = CliRunner().invoke(
        app(),
        [
            *("prescreen", str(items), "--engine", "duckdb", "--url", str(feature.database)),
            *("--table", "candidates", "--as-of", AS_OF.isoformat(), "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "300 candidates screened on duckdb (candidates)" in result.output
    assert verdict_rows(out.read_text()) == evaluator_rows(FEATURE, feature.rows)


def _write_criteria_file(path: Path) -> None:
    """FEATURE as a criteria-only YAML file, as `trialkit prescreen` reads one."""
    import yaml

    items = [
        {
            "name": name,
            "data_type": spec.data_type,
            **({"unit": spec.unit} if spec.unit else {}),
            **({"codes": list(spec.codes)} if spec.codes else {}),
            **({"analyte": spec.analyte} if spec.analyte else {}),
        }
        for name, spec in FEATURE.items.items()
    ]
    criteria = [
        {
            "id": c.id,
            "kind": c.kind,
            "text": c.text or c.id,
            **({"expression": c.expression} if c.expression else {}),
            **({"judgement_item": c.judgement_item} if c.judgement_item else {}),
        }
        for c in FEATURE.criteria
    ]
    ranges = {"alt": {"uln": "40"}}
    path.write_text(yaml.safe_dump({"items": items, "criteria": criteria, "ranges": ranges}))
