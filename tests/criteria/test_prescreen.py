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


def test_a_bad_cell_marks_only_its_candidate(ibd: StudyCriteria, tmp_path: Path) -> None:
    body = (
        "P1,40,crohns,2019-01-01,2025-03-01,yes,451,\n"
        "P2,40,crohns_disease,2019-01-01,2025-03-01,maybe,451,\n"
        "P3,40,crohns_disease,2019-01-01,2025-03-01,yes,451.1234567,\n"
        "P4,forty,crohns_disease,2019-01-01,2025-03-01,yes,451,\n"
        "P5,40,crohns_disease,2019-01-01,2025-03-01,yes,451,\n"
    )
    rows = {r["candidate_id"]: r for r in run(ibd, write(tmp_path, body))}
    assert rows["P1"]["problems"] == (
        "row 1: column ibd_type: 'crohns' is not one of ulcerative_colitis, crohns_disease, "
        "ibd_unclassified"
    )
    assert rows["P2"]["problems"] == (
        "row 2: column mab_refractory: 'maybe' is not yes/no; enter true or false"
    )
    assert rows["P3"]["problems"] == "row 3: column cdai: '451.1234567' has more than 6 decimals"
    assert "row 4: column age: 'forty' is not a number" in rows["P4"]["problems"]
    assert {r["verdict"] for k, r in rows.items() if k != "P5"} == {"invalid"}
    assert rows["P5"]["verdict"] == "incomplete"  # still screened
    assert rows["P5"]["problems"] == ""


def test_file_errors(ibd: StudyCriteria, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        run(ibd, tmp_path / "none.csv")
    other = tmp_path / "c.txt"
    other.write_text("x")
    with pytest.raises(ValidationFailed, match=r"\.csv or \.parquet"):
        run(ibd, other)
    with pytest.raises(ValidationFailed, match="no id column 'pid'"):
        run(ibd, write(tmp_path, "P1,40,,,,,,\n"), id_column="pid")
    with pytest.raises(ValidationFailed, match="is a directory"):
        run(ibd, tmp_path)
