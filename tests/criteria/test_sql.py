"""The compiled SQL gives the evaluator's verdicts, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialkit.criteria import (
    CompiledCriteria,
    Criterion,
    ItemSpec,
    ReferenceRanges,
    StudyCriteria,
    compile_criteria,
    compile_sql,
    sql_type,
)
from trialkit.criteria.plan import Value
from trialkit.criteria.sql import Dialect, quote

AS_OF = date(2025, 3, 1)

# A study that exercises every construct of the language.
FEATURE_ITEMS = {
    spec.name: spec
    for spec in (
        ItemSpec("age", "integer", "years"),
        ItemSpec("score", "decimal"),
        ItemSpec("creatinine", "decimal", "mg/dL"),
        ItemSpec("alt", "decimal", "U/L"),
        ItemSpec("bili", "decimal", "µmol/L", analyte="bilirubin"),
        ItemSpec("kind", "code", codes=("a", "b", "c")),
        ItemSpec("note", "text"),
        ItemSpec("flag", "boolean"),
        ItemSpec("other", "boolean"),
        ItemSpec("start", "date"),
        ItemSpec("end", "date"),
        ItemSpec("seen", "datetime"),
        ItemSpec("birth", "date"),
    )
}
FEATURE_CRITERIA = [
    Criterion("I1", "inclusion", "", "age not between 20 and 30 or score is missing"),
    Criterion("I2", "inclusion", "", "creatinine > 100 µmol/L or creatinine <= 0.5"),
    Criterion("E1", "exclusion", "", "alt >= 2 * uln(alt) and not flag"),
    Criterion("E2", "exclusion", "", 'kind not in ("a", "b") or note == "x"'),
    Criterion("I3", "inclusion", "", "months_between(start, end) >= 3 or days_since(start) < 10"),
    Criterion(
        "I4", "inclusion", "", "age_at(birth, seen) >= 18 and years_between(birth, end) < 90"
    ),
    Criterion("E3", "exclusion", "", "abs(score - 5) * 2 < 3 or -score > 1"),
    Criterion("E4", "exclusion", "", "bili > 2 mg/dL and other"),
    Criterion("I5", "inclusion", "", None, judgement_item="flag"),
    Criterion("E5", "exclusion", "", "lln(score) > score"),
    Criterion("I6", "inclusion", "", 'start <= date("2025-01-31") or flag == other'),
]
FEATURE = StudyCriteria(
    FEATURE_ITEMS, tuple(FEATURE_CRITERIA), ReferenceRanges.of({"alt": (None, "40")})
)
LIMIT_COLUMNS = {"alt_uln": True, "score_lln": True}


def _value(spec: ItemSpec, rng: random.Random) -> Value | None:
    if rng.random() < 0.15:
        return None
    kind = spec.data_type
    if kind == "integer":
        return Fraction(rng.choice([rng.randint(0, 100), rng.randint(0, 12)]))
    if kind == "decimal":
        return (
            Fraction(rng.randint(0, 60000), 100)
            if rng.random() < 0.5
            else Fraction(rng.randint(0, 20)) / 2
        )
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "code":
        assert spec.codes is not None
        return rng.choice(spec.codes)
    if kind == "text":
        return rng.choice(["x", "y", "it's"])
    base = date(2024, 12, 31) + timedelta(days=rng.randint(-400, 400))
    if spec.name == "birth":
        base = date(1940, 2, 29) + timedelta(days=rng.randint(0, 30000))
    if kind == "datetime":
        return datetime(base.year, base.month, base.day, rng.randint(0, 23), 30)
    return base


def random_candidates(
    study: StudyCriteria, rng: random.Random, n: int, limits: Mapping[str, bool] | None = None
) -> list[dict[str, Value | None]]:
    rows = []
    for i in range(n):
        row: dict[str, Value | None] = {
            name: _value(spec, rng) for name, spec in study.items.items()
        }
        for column in limits or {}:
            row[column] = None if rng.random() < 0.5 else Fraction(rng.randint(10, 60))
        row["candidate_id"] = f"C{i:04d}"
        rows.append(row)
    return rows


def expected(
    compiled: CompiledCriteria, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[str, ...]]:
    out = []
    for row in rows:
        s = compiled.screen_record(row, AS_OF)
        out.append(
            (
                str(row["candidate_id"]),
                s.outcome.value,
                ",".join(s.failed),
                ",".join(s.unknown),
                ",".join(s.missing),
            )
        )
    return out


def _param(value: Value | None) -> Any:
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return value


def columns_sql(study: StudyCriteria, dialect: Dialect, limits: Mapping[str, bool]) -> list[str]:
    cols = [f"{quote('candidate_id')} VARCHAR(20)"]
    cols += [f"{quote(n)} {sql_type(s.data_type, dialect)}" for n, s in study.items.items()]
    cols += [f"{quote(c)} {sql_type('decimal', dialect)}" for c in limits]
    return cols


def run_duckdb(
    study: StudyCriteria, rows: list[dict[str, Value | None]], limits: Mapping[str, bool]
) -> list[tuple[str, ...]]:
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    conn = duckdb.connect()
    try:
        conn.execute(f"CREATE TABLE candidates ({', '.join(columns_sql(study, 'duckdb', limits))})")
        names = ["candidate_id", *study.items, *limits]
        marks = ", ".join("?" for _ in names)
        if rows:
            conn.executemany(
                f"INSERT INTO candidates VALUES ({marks})",
                [[_param(r.get(n)) for n in names] for r in rows],
            )
        query = compile_sql(compiled, columns=set(names), as_of=AS_OF)
        got = conn.execute(query + " ORDER BY candidate_id").fetchall()
    finally:
        conn.close()
    return [tuple(str(x) for x in row) for row in got]


def check_same(
    study: StudyCriteria, rows: list[dict[str, Value | None]], limits: Mapping[str, bool]
) -> None:
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    assert run_duckdb(study, rows, limits) == sorted(expected(compiled, rows))


def test_feature_study_checks_clean() -> None:
    from trialkit.criteria import check_criteria

    found = check_criteria(FEATURE.criteria, FEATURE.items, FEATURE.ranges)
    assert [d.code for d in found] == ["EXPR.W001"]  # lln(score) has no study default


def test_random_candidates_reach_every_verdict(ucmsc: StudyCriteria) -> None:
    small = compile_criteria(ucmsc.criteria, ucmsc.items, ucmsc.ranges)
    some = random_candidates(ucmsc, random.Random(7), 100)
    verdicts = {small.screen_record(r, AS_OF).outcome.value for r in some}
    assert verdicts == {"eligible", "ineligible", "incomplete"}
    compiled = compile_criteria(FEATURE.criteria, FEATURE.items, FEATURE.ranges)
    rows = random_candidates(FEATURE, random.Random(7), 300, LIMIT_COLUMNS)
    per_criterion = {
        (res.id, res.verdict.value)
        for r in rows
        for res in compiled.screen_record(r, AS_OF).results
    }
    assert len(per_criterion) == 3 * len(FEATURE.criteria)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), n=st.integers(min_value=1, max_value=40))
def test_sql_equals_evaluator_on_random_candidates(
    seed: int, n: int, psoriasis: StudyCriteria, ibd: StudyCriteria, ucmsc: StudyCriteria
) -> None:
    rng = random.Random(seed)
    for study, limits in (
        (psoriasis, {"alt_uln": True}),
        (ibd, {}),
        (ucmsc, {}),
        (FEATURE, LIMIT_COLUMNS),
    ):
        check_same(study, random_candidates(study, rng, n, limits), limits)


boundary_values = st.one_of(st.none(), st.sampled_from([17, 18, 65, 66, 75, 76]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    age=boundary_values,
    cdai=st.one_of(st.none(), st.sampled_from(["449", "450", "450.01", "451"])),
    ses=st.one_of(st.none(), st.integers(min_value=5, max_value=9)),
    isolated=st.one_of(st.none(), st.booleans()),
    ibd_type=st.one_of(
        st.none(), st.sampled_from(["ulcerative_colitis", "crohns_disease", "ibd_unclassified"])
    ),
    dose_days=st.one_of(st.none(), st.integers(min_value=26, max_value=30)),
    use=st.one_of(st.none(), st.booleans()),
)
def test_sql_equals_evaluator_at_ibd_boundaries(
    ibd: StudyCriteria,
    age: int | None,
    cdai: str | None,
    ses: int | None,
    isolated: bool | None,
    ibd_type: str | None,
    dose_days: int | None,
    use: bool | None,
) -> None:
    row: dict[str, Value | None] = {
        "candidate_id": "X",
        "age": None if age is None else Fraction(age),
        "screening_date": AS_OF,
        "ibd_type": ibd_type,
        "ibd_diagnosis_date": date(2024, 9, 1),
        "mab_refractory": None,
        "mab_intolerant": True,
        "mab_contraindicated": None,
        "cdai": None if cdai is None else Fraction(Decimal(cdai)),
        "ses_cd": None if ses is None else Fraction(ses),
        "isolated_ileal_disease": isolated,
        "immunomodulator_use": use,
        "last_immunomodulator_dose": None
        if dose_days is None
        else AS_OF - timedelta(days=dose_days),
    }
    check_same(ibd, [row], {})


def test_items_absent_from_the_table_are_missing(ibd: StudyCriteria) -> None:
    compiled = compile_criteria(ibd.criteria, ibd.items, ibd.ranges)
    columns = {"candidate_id", "age"}
    conn = duckdb.connect()
    try:
        conn.execute("CREATE TABLE candidates (candidate_id VARCHAR, age BIGINT)")
        conn.execute("INSERT INTO candidates VALUES ('A', 40), ('B', 80)")
        rows = conn.execute(compile_sql(compiled, columns=columns) + " ORDER BY 1").fetchall()
    finally:
        conn.close()
    assert rows[0][1] == "incomplete"
    assert rows[1][1] == "ineligible"
    assert rows[1][2] == "I3"
    assert "ses_cd" in rows[0][4].split(",")


def test_postgresql_dialect_differs_only_where_needed(ibd: StudyCriteria) -> None:
    compiled = compile_criteria(ibd.criteria, ibd.items, ibd.ranges)
    items = dict(ibd.items)
    items["birth"] = ItemSpec("birth", "date")
    crit = compile_criteria(
        [Criterion("I9", "inclusion", "", "age_at(birth, screening_date) >= 18")], items
    )
    assert "DIV(" in compile_sql(crit, dialect="postgresql")
    assert "// 12" in compile_sql(crit, dialect="duckdb")
    assert compile_sql(compiled, dialect="postgresql") == compile_sql(compiled, dialect="duckdb")


@pytest.mark.storage
def test_compiled_sql_on_postgresql(database_url: str, psoriasis: StudyCriteria) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the compiled query targets DuckDB and PostgreSQL, not SQLite")
    import sqlalchemy as sa

    rng = random.Random(20250301)
    engine = sa.create_engine(database_url)
    try:
        for study, limits in ((psoriasis, {"alt_uln": True}), (FEATURE, LIMIT_COLUMNS)):
            rows = random_candidates(study, rng, 300, limits)
            names = ["candidate_id", *study.items, *limits]
            compiled = compile_criteria(study.criteria, study.items, study.ranges)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS candidates"))
                table = ", ".join(columns_sql(study, "postgresql", limits))
                conn.execute(sa.text(f"CREATE TABLE candidates ({table})"))
                params = ", ".join(f":p{i}" for i in range(len(names)))
                conn.execute(
                    sa.text(f"INSERT INTO candidates VALUES ({params})"),
                    [{f"p{i}": _param(r.get(n)) for i, n in enumerate(names)} for r in rows],
                )
                query = compile_sql(compiled, dialect="postgresql", columns=set(names), as_of=AS_OF)
                got = conn.execute(sa.text(query + " ORDER BY candidate_id")).fetchall()
            assert [tuple(str(x) for x in row) for row in got] == sorted(expected(compiled, rows))
    finally:
        engine.dispose()
