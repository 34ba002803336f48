from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from trialkit.errors import DefinitionError, NotFound
from trialkit.protocol import dump_study, json_schema, load_study, load_study_text, resolve_study
from trialkit.protocol.loader import shipped_studies


@pytest.mark.parametrize("name", [n for n, _ in shipped_studies()])
def test_round_trip_is_lossless(name: str) -> None:
    text = dict(shipped_studies())[name]
    study = load_study_text(text, source=name)
    again = load_study_text(dump_study(study), source="dumped")
    assert again == study


def test_numbers_are_read_exactly() -> None:
    study = resolve_study("psoriasis-adipose-exosomes")
    volume = study.arms[0].interventions[0].dose.volume
    assert volume is not None
    assert volume.amount == Decimal("0.5")
    assert isinstance(volume.amount, Decimal)
    ranges = {r.item: r for r in study.reference_ranges}
    assert ranges["creatinine"].lower == Decimal("0.6")


def _seed_text() -> str:
    return dict(shipped_studies())["psoriasis-ucmsc.yaml"]


def test_validation_error_names_file_line_and_path(tmp_path: Path) -> None:
    text = _seed_text().replace("target: 5", "target: five")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "target: five" in row)
    with pytest.raises(DefinitionError) as info:
        load_study(path)
    message = str(info.value)
    assert f"{path}:{line} at design.sample_size.target" in message
    assert info.value.code == "DEF.E003"


def test_unknown_key_is_an_error_not_silently_dropped() -> None:
    text = _seed_text().replace("  sex: all\n", "  sex: all\n  blinding: none\n", 1)
    with pytest.raises(DefinitionError, match=r"design\.blinding: Extra inputs are not permitted"):
        load_study_text(text, source="s.yaml")


def test_yaml_syntax_error_names_the_line() -> None:
    text = "id: x\nidentity: [unclosed\n"
    with pytest.raises(DefinitionError) as info:
        load_study_text(text, source="broken.yaml")
    assert info.value.code == "DEF.E001"
    assert info.value.line == 3  # the stream ends on line 3 before the list is closed
    assert str(info.value).startswith("broken.yaml:3: not valid YAML")


def test_not_a_mapping() -> None:
    with pytest.raises(DefinitionError, match="must be a YAML mapping"):
        load_study_text("- a\n- b\n")


def test_unknown_study_lists_the_shipped_ones() -> None:
    with pytest.raises(NotFound) as info:
        resolve_study("no-such-study")
    assert "psoriasis-ucmsc (NCT03745417)" in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(NotFound, match="does not exist"):
        load_study("/nonexistent/study.yaml")


def test_json_schema_describes_the_study() -> None:
    schema = json_schema()
    assert '"title": "Study"' in schema
    assert "eligibility" in schema
