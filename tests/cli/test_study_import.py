from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trialkit.cli.study_import import register_import
from trialkit.protocol import load_study

SEED = Path(__file__).parents[2]
SHARED = next(
    (b / "shared" for b in (SEED.parent, SEED.parent.parent) if (b / "shared").is_dir()),
    SEED.parent / "shared",
)
RECORD = SHARED / "seeds" / "000_874074a8242507e1.txt"


def _app() -> typer.Typer:
    app = typer.Typer()
    study = typer.Typer()
    register_import(study)
    app.add_typer(study, name="study")
    return app


@pytest.fixture
def record(require_shared: Callable[[Path], Path]) -> Path:
    return require_shared(RECORD)


def test_prints_yaml_and_lists_unmapped_on_stderr(record: Path) -> None:
    result = CliRunner().invoke(_app(), ["study", "import", str(record)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("id: irct20080901001159n29")
    assert "could not map" in result.stderr


def test_writes_a_loadable_file(record: Path, tmp_path: Path) -> None:
    out = tmp_path / "draft.yaml"
    result = CliRunner().invoke(_app(), ["study", "import", str(record), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_study(out).identity.registrations[0].id == "IRCT20080901001159N29"


def test_malformed_input_exits_1_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["study", "import", str(bad)])
    assert result.exit_code == 1
    assert "IMPORT.E002" in result.stderr
    assert "Traceback" not in result.output
