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
    assert "3 candidates screened as of 2025-03-01: 1 eligible, 1 ineligible, 1 incomplete" in (
        result.output
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "candidate_id,verdict,failed,unknown,missing"
    assert lines[1:] == ["A,eligible,,,", "B,incomplete,,I1,pasi", "C,ineligible,I2,,"]


def test_prescreen_to_stdout(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age,pasi,bsa_percent\nA,30,8,\n")
    result = CliRunner().invoke(app(), ["prescreen", STUDY, str(data), "--as-of", "2025-03-01"])
    assert result.exit_code == 0
    assert "A,eligible,,," in result.stdout


def test_prescreen_errors_have_no_traceback(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("candidate_id,age\nA,thirty\n")
    for args in (
        ["prescreen", "no-such-study", str(data)],
        ["prescreen", STUDY, str(data), "--as-of", "01/03/2025"],
        ["prescreen", STUDY, str(data)],
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
    assert "A,eligible,,," in result.stdout
