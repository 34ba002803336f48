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


SAMPLES = SHARED / "registry-samples"


def test_a_search_response_writes_one_draft_per_study(
    tmp_path: Path, require_shared: Callable[[Path], Path]
) -> None:
    search = require_shared(SAMPLES / "ctgov_v2search_ILD_5studies.json")
    out = tmp_path / "drafts"
    result = CliRunner().invoke(_app(), ["study", "import", str(search), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.yaml"))) == 5
    assert "5 draft(s) from 5 record(s)" in result.stderr
    assert "NCT05932303: " in result.stderr
    ids = {load_study(p).identity.registrations[0].id for p in out.glob("*.yaml")}
    assert "NCT05932303" in ids
    printed = CliRunner().invoke(_app(), ["study", "import", str(search)])
    assert printed.exit_code == 0
    assert printed.stdout.count("\n---\n") == 4


def test_id_picks_one_record(tmp_path: Path, require_shared: Callable[[Path], Path]) -> None:
    search = require_shared(SAMPLES / "ctgov_v2search_ILD_5studies.json")
    out = tmp_path / "one.yaml"
    result = CliRunner().invoke(
        _app(), ["study", "import", str(search), "--id", "NCT05932303", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert load_study(out).identity.registrations[0].id == "NCT05932303"
    missing = CliRunner().invoke(_app(), ["study", "import", str(search), "--id", "NCT00000000"])
    assert missing.exit_code == 1
    assert "IMPORT.E009" in missing.stderr
    assert "NCT06476470" in missing.stderr


def test_a_refused_record_of_many_is_listed_and_exits_1(tmp_path: Path) -> None:
    import json

    def study(nct: str, kind: str) -> dict[str, object]:
        return {
            "protocolSection": {
                "identificationModule": {"nctId": nct, "briefTitle": f"Trial {nct}"},
                "designModule": {"studyType": kind, "enrollmentInfo": {"count": 5}},
            }
        }

    path = tmp_path / "search.json"
    path.write_text(
        json.dumps(
            {
                "studies": [
                    study("NCT00000001", "OBSERVATIONAL"),
                    study("NCT00000002", "EXPANDED_ACCESS"),
                ]
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "drafts"
    result = CliRunner().invoke(_app(), ["study", "import", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert [p.name for p in out.glob("*.yaml")] == ["nct00000001.yaml"]
    assert "error [IMPORT.E032]: NCT00000002:" in result.stderr
    assert "Traceback" not in result.output


def test_a_refused_file_says_what_it_is(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body>[i]NCT03745417</body></html>", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["study", "import", str(page)])
    assert result.exit_code == 1
    assert "error [IMPORT.E001]" in result.stderr
    assert "a web page (HTML)" in result.stderr
    assert "trialkit reads ClinicalTrials.gov API v2 JSON" in result.stderr
