from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.protocol.loader import shipped_studies

runner = CliRunner()


def test_check_shipped_study_with_warnings_exits_zero() -> None:
    result = runner.invoke(app, ["study", "check", "IRCT20080901001159N29"])
    assert result.exit_code == 0, result.output
    assert "REG.W001" in result.output
    assert "3 warnings" in result.output
    assert "“Protocol summary: PASI index 3 to10”" in result.output


def test_check_json() -> None:
    result = runner.invoke(app, ["study", "check", "psoriasis-adipose-exosomes", "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["study"] == "psoriasis-adipose-exosomes"
    assert {f["code"] for f in payload["findings"]} == {"REG.W001"}


def test_check_with_errors_exits_one(tmp_path: Path) -> None:
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("window: {lower: -3, upper: 3}", "window: {lower: 3, upper: -3}"))
    result = runner.invoke(app, ["study", "check", str(bad)])
    assert result.exit_code == 1
    assert "SCHED.E002" in result.output
    assert "1 error" in result.output


def test_check_unreadable_file_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("id: [x\n")
    result = runner.invoke(app, ["study", "check", str(bad)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 160-column console, whatever width the shared console was made with earlier."""
    from trialkit.cli._console import console

    monkeypatch.setattr(console, "width", 160)


def test_show_prints_summary_and_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    _wide(monkeypatch)
    result = runner.invoke(app, ["study", "show", "NCT03745417"])
    assert result.exit_code == 0, result.output
    assert "Calendar template, arm UCMSC" in result.output
    assert "2000000 cells per kg of weight" in result.output
    assert "12 weeks after treatment" in result.output


def test_schema_to_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = runner.invoke(app, ["study", "schema", "--out", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text())["title"] == "Study"


def test_show_states_the_randomisation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = dict(shipped_studies())["psoriasis-adipose-exosomes.yaml"]
    design = "design:\n  allocation: non_randomised\n"
    assert design in text
    randomised = text.replace(
        design,
        "design:\n  allocation: randomised\n  randomisation:\n    method: permuted_blocks\n"
        "    block_sizes: [6]\n",
    )
    study = tmp_path / "randomised.yaml"
    study.write_text(randomised, encoding="utf-8")
    _wide(monkeypatch)
    result = runner.invoke(app, ["study", "show", str(study)])
    assert result.exit_code == 0, result.output
    assert "permuted blocks of 6, 1:1 over every arm" in result.output
