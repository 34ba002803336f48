"""Every real record becomes a draft that saves, loads and is checked without a traceback.

The check names each draft's gaps with stable codes; the `study show` summary renders it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trialkit.cli.study import register
from trialkit.protocol import save_study
from trialkit.registry import import_record

#: record (IRCT seed or NCT id) -> the codes `study check` reports on its draft.
EXPECTED: dict[str, set[str]] = {
    "psoriasis": {"REG.W001", "OUT.W006"},
    "ibd": {"OUT.W006"},
    "NCT02210780": {"SCHED.W011", "OUT.W006", "ALLOC.W005"},
    "NCT04207047": {"SCHED.W011", "OUT.W006"},
    "NCT05594173": {"OUT.W006"},
}


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.mark.parametrize("record", sorted(EXPECTED))
def test_draft_is_checked_and_shown_without_a_traceback(
    record: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if record.startswith("NCT"):
        path: Path = request.getfixturevalue("ctgov_path")(record)
    else:
        path = request.getfixturevalue(f"{record}_path")
    draft = tmp_path / "draft.yaml"
    save_study(import_record(path).study, draft)
    runner = CliRunner()
    result = runner.invoke(_app(), ["study", "check", str(draft), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    findings = json.loads(result.stdout)["findings"]
    assert {f["code"] for f in findings} == EXPECTED[record]
    assert result.exit_code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    shown = runner.invoke(_app(), ["study", "show", str(draft)])
    assert shown.exit_code == 0, shown.output
    assert "Calendar template" in shown.stdout
