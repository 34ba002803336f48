from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from trialkit.cli.prescreen import register

STUDY = "NCT03745417"  # the shipped UC-MSC psoriasis study, by its registry id
CRITERIA_FILE = Path(__file__).parents[1] / "criteria" / "data" / "ucmsc_psoriasis.yaml"


def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.callback()
    def main() -> None:
        """Test app."""

    return application


def test_prescreen_writes_verdicts(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age,pasi,bsa_percent\nA,30,8,\nB,30,,5\nC,70,8,\n")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app(), ["prescreen", STUDY, str(data), "--out", str(out), "--as-of", "2025-03-01"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "3 candidates screened as of 2025-03-01: 1 eligible, 1 ineligible, 1 incomplete, 0 invalid"
    ) in result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "candidate_id,verdict,failed,unknown,missing,problems"
    assert lines[1:] == ["A,eligible,,,,", "B,incomplete,,I1,pasi,", "C,ineligible,I2,,,"]


def test_prescreen_to_stdout(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age,pasi,bsa_percent\nA,30,8,\n")
    result = CliRunner().invoke(app(), ["prescreen", STUDY, str(data), "--as-of", "2025-03-01"])
    assert result.exit_code == 0
    assert "A,eligible,,,," in result.stdout


def test_prescreen_errors_have_no_traceback(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age\nA,thirty\n")
    for args in (
        ["prescreen", "no-such-study", str(data)],
        ["prescreen", STUDY, str(data), "--as-of", "01/03/2025"],
        ["prescreen", STUDY, str(tmp_path)],
    ):
        result = CliRunner().invoke(app(), args)
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        assert "error [" in result.output


def test_prescreen_accepts_a_criteria_only_file(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age,pasi,bsa_percent\nA,30,8,\n")
    result = CliRunner().invoke(
        app(), ["prescreen", str(CRITERIA_FILE), str(data), "--as-of", "2025-03-01"]
    )
    assert result.exit_code == 0, result.output
    assert "A,eligible,,,," in result.stdout


def test_a_bad_cell_is_named_and_the_others_screened(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age,pasi\nA,17.5,8\nB,30,8\n")
    result = CliRunner().invoke(app(), ["prescreen", STUDY, str(data), "--as-of", "2025-03-01"])
    assert result.exit_code == 0, result.output
    assert "B,eligible,,,," in result.stdout
    assert "A,invalid,,,,row 1: column age: '17.5' is not a whole number" in result.stdout
    assert "invalid: row 1 (A): column age: '17.5' is not a whole number" in result.stderr
    assert "1 eligible, 0 ineligible, 0 incomplete, 1 invalid" in result.stderr


def test_an_unknown_column_is_an_error_unless_allowed(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age,pasi,notes\nA,30,8,x\n")
    result = CliRunner().invoke(app(), ["prescreen", STUDY, str(data)])
    assert result.exit_code == 1
    assert "error [PRESCREEN.E006]" in result.stderr
    assert "notes is no item of the criteria" in result.stderr
    allowed = ["prescreen", STUDY, str(data), "--allow-extra-columns", "--as-of", "2025-03-01"]
    result = CliRunner().invoke(app(), allowed)
    assert result.exit_code == 0, result.output
    assert "A,eligible,,,," in result.stdout
    assert "note: columns ignored: notes" in result.stderr


def test_template_writes_the_header(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["prescreen", STUDY, "--template"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "candidate_id,age,bsa_percent,pasi"
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        app(), ["prescreen", "ibd-placental-exosomes", "--template", "--out", str(out)]
    )
    assert result.exit_code == 0
    assert out.read_text().startswith("candidate_id,screening_date,age,")
    missing = CliRunner().invoke(app(), ["prescreen", STUDY])
    assert missing.exit_code == 1
    assert "PRESCREEN.E013" in missing.stderr


def test_an_out_of_range_as_of_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age\nA,30\n")
    result = CliRunner().invoke(app(), ["prescreen", STUDY, str(data), "--as-of", "9999-01-01"])
    assert result.exit_code == 1
    assert "error [PRESCREEN.E011]: --as-of 9999-01-01 is out of range" in result.stderr
