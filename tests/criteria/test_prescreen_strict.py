"""Pre-screening refuses exactly what the one-candidate evaluator refuses, cell by cell."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialkit.criteria import StudyCriteria, compile_criteria, prescreen_file
from trialkit.criteria.prescreen import template_columns
from trialkit.errors import ValidationFailed

AS_OF = date(2025, 3, 1)


def run(study: StudyCriteria, path: Path, **kw: object) -> tuple[list[dict[str, str]], object]:
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    out = io.StringIO()
    summary = prescreen_file(compiled, path, out, as_of=AS_OF, **kw)  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(out.getvalue()))), summary


def one(study: StudyCriteria, tmp_path: Path, header: str, row: str) -> dict[str, str]:
    path = tmp_path / "c.csv"
    path.write_text(f"candidate_id,{header}\nA,{row}\n", encoding="utf-8")
    return run(study, path)[0][0]


@pytest.mark.parametrize(
    ("age", "verdict", "problem"),
    [
        ("17.5", "invalid", "row 1: column age: '17.5' is not a whole number; enter an integer"),
        ("18.0", "eligible", ""),
        ("18", "eligible", ""),
        ("17", "ineligible", ""),
        ("65", "eligible", ""),
        ("66", "ineligible", ""),
        ("121", "invalid", "row 1: column age: '121' is outside the item's range 0..120 years"),
        ("-1", "invalid", "row 1: column age: '-1' is outside the item's range 0..120 years"),
        ("1e2", "invalid", "row 1: column age: '1e2' is not a number; enter digits such as 2.05"),
        ("inf", "invalid", "row 1: column age: 'inf' is not a number; enter digits such as 2.05"),
    ],
)
def test_whole_numbers_and_ranges(
    ucmsc: StudyCriteria, tmp_path: Path, age: str, verdict: str, problem: str
) -> None:
    got = one(ucmsc, tmp_path, "age,pasi,bsa_percent", f"{age},8,")
    assert (got["verdict"], got["problems"]) == (verdict, problem)
    compiled = compile_criteria(ucmsc.criteria, ucmsc.items, ucmsc.ranges)
    if verdict == "invalid":  # the evaluator refuses the same value with the same words
        with pytest.raises(ValidationFailed) as info:
            compiled.screen({"age": age, "pasi": "8"})
        why = problem.split("' ", 1)[1]  # e.g. "is not a whole number; enter an integer"
        assert f"age: {age!r} {why}" in info.value.message
    else:
        assert compiled.screen({"age": age, "pasi": "8"}).outcome.value == verdict


def test_out_of_range_dates_are_refused(psoriasis: StudyCriteria, tmp_path: Path) -> None:
    got = one(psoriasis, tmp_path, "screening_date", "99999-01-01")
    assert got["verdict"] == "invalid"
    assert "is not a date" in got["problems"]
    got = one(psoriasis, tmp_path, "screening_date", "2300-01-01")
    assert "is out of range; a date lies between 1850-01-01 and 2199-12-31" in got["problems"]


def test_screening_date_defaults_to_as_of(ibd: StudyCriteria, tmp_path: Path) -> None:
    header = "age,ibd_type,ibd_diagnosis_date,mab_refractory,cdai,immunomodulator_use"
    six_months = "40,crohns_disease,2024-09-01,yes,451,no"
    five_months = "40,crohns_disease,2024-10-02,yes,451,no"
    assert one(ibd, tmp_path, header, six_months)["verdict"] == "eligible"
    assert one(ibd, tmp_path, header, five_months)["failed"] == "I1"
    with_column = one(ibd, tmp_path, header + ",screening_date", six_months + ",")
    assert with_column["verdict"] == "eligible"  # an empty cell is the --as-of date too


def test_unknown_columns_are_refused_unless_allowed(ucmsc: StudyCriteria, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("candidate_id,age,pasi_score\nA,30,8\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        run(ucmsc, path)
    assert info.value.code == "PRESCREEN.E006"
    assert "pasi_score is no item of the criteria" in info.value.message
    rows, summary = run(ucmsc, path, allow_extra_columns=True)
    assert rows[0]["verdict"] == "incomplete"
    assert summary.extra_columns == ("pasi_score",)  # type: ignore[attr-defined]


def test_template_lists_the_items(psoriasis: StudyCriteria) -> None:
    header = template_columns(dict(psoriasis.items))
    assert header[0] == "candidate_id"
    assert {"screening_date", "age", "sex", "pregnant", "lactating", "lesion_grade"} <= set(header)


_CELLS = st.one_of(
    st.sampled_from(
        ["17.5", "18.0", "18", "+18", "018", "1e1", ".5", "5.", "", " 30 ", "-0", "1_0", "٣٠",
         "12345678901234", "0.1234567", "72", "72.000001", "nan", "Infinity", "30\t"]
    ),
    st.text(alphabet="0123456789.-+e ", max_size=8),
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(age=_CELLS, pasi=_CELLS)
def test_prescreen_and_the_evaluator_agree(
    ucmsc: StudyCriteria, tmp_path_factory: pytest.TempPathFactory, age: str, pasi: str
) -> None:
    if "," in age + pasi or '"' in age + pasi:
        return
    path = tmp_path_factory.mktemp("agree") / "c.csv"
    path.write_text(f"candidate_id,age,pasi\nA,{age},{pasi}\n", encoding="utf-8")
    row = run(ucmsc, path)[0][0]
    compiled = compile_criteria(ucmsc.criteria, ucmsc.items, ucmsc.ranges)
    try:
        expected = compiled.screen({"age": age, "pasi": pasi}).outcome.value
    except ValidationFailed:
        expected = "invalid"
    assert row["verdict"] == expected, row
