from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import duckdb
import pytest

from trialkit.criteria import StudyCriteria, compile_criteria, prescreen_file
from trialkit.errors import NotFound, ValidationFailed

HEADER = "candidate_id,age,ibd_type,ibd_diagnosis_date,screening_date,mab_refractory,cdai,ses_cd\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "candidates.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def run(study: StudyCriteria, path: Path, **kw: object) -> list[dict[str, str]]:
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    out = io.StringIO()
    prescreen_file(compiled, path, out, as_of=date(2025, 3, 1), **kw)  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_csv_verdicts_and_progress(ibd: StudyCriteria, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "P1,40,crohns_disease,2019-01-01,2025-03-01,yes,451,\n"
        "P2,80,crohns_disease,2019-01-01,2025-03-01,no,450,5\n"
        "P3,40,ulcerative_colitis,2019-01-01,2025-03-01,true,,\n",
    )
    calls: list[tuple[int, int]] = []
    compiled = compile_criteria(ibd.criteria, ibd.items, ibd.ranges)
    out = io.StringIO()
    summary = prescreen_file(
        compiled, path, out, chunk_rows=2, progress=lambda d, t: calls.append((d, t))
    )
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert calls == [(0, 3), (2, 3), (3, 3)]
    assert summary.total == 3
    assert summary.absent_items == (
        "immunomodulator_use",
        "isolated_ileal_disease",
        "last_immunomodulator_dose",
        "mab_contraindicated",
        "mab_intolerant",
    )
    by_id = {r["candidate_id"]: r for r in rows}
    assert by_id["P1"]["verdict"] == "incomplete"  # E1 needs immunomodulator_use
    assert by_id["P1"]["unknown"] == "E1"
    assert by_id["P1"]["missing"] == "immunomodulator_use;last_immunomodulator_dose"
    assert by_id["P2"]["verdict"] == "ineligible"
    assert by_id["P2"]["failed"] == "I2;I3"
    assert by_id["P3"]["unknown"] == "E1"


def test_parquet_input(ucmsc: StudyCriteria, tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    conn = duckdb.connect()
    conn.execute(
        "COPY (SELECT * FROM (VALUES ('A', 30, 7.5, 2.0), ('B', 30, 7.0, 10.0),"
        " ('C', 17, 9.0, NULL)) t(candidate_id, age, pasi, bsa_percent))"
        " TO '" + str(path) + "' (FORMAT parquet)"
    )
    conn.close()
    rows = run(ucmsc, path)
    assert [(r["candidate_id"], r["verdict"], r["failed"]) for r in rows] == [
        ("A", "eligible", ""),
        ("B", "ineligible", "I1"),
        ("C", "ineligible", "I2"),
    ]


def test_bad_values_are_named(ibd: StudyCriteria, tmp_path: Path) -> None:
    for body, needle in (
        ("P1,40,crohns,2019-01-01,2025-03-01,yes,451,\n", "ibd_type: crohns is not one of"),
        ("P1,40,crohns_disease,2019-01-01,2025-03-01,maybe,451,\n", "mab_refractory: maybe"),
        ("P1,40,crohns_disease,2019-01-01,2025-03-01,yes,451.1234567,\n", "more than 6"),
        ("P1,forty,crohns_disease,2019-01-01,2025-03-01,yes,451,\n", "forty"),
    ):
        with pytest.raises(ValidationFailed) as info:
            run(ibd, write(tmp_path, body))
        assert needle in info.value.message


def test_file_errors(ibd: StudyCriteria, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        run(ibd, tmp_path / "none.csv")
    other = tmp_path / "c.txt"
    other.write_text("x")
    with pytest.raises(ValidationFailed, match=r"\.csv or \.parquet"):
        run(ibd, other)
    with pytest.raises(ValidationFailed, match="no id column 'pid'"):
        run(ibd, write(tmp_path, "P1,40,,,,,,\n"), id_column="pid")
