"""docs/safety.md shows the shipped studies' rules as they are, and its code example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from trialkit.protocol import resolve_study
from trialkit.protocol.safety import StoppingRule
from trialkit.safety import Pauses

DOCS = Path(__file__).parents[2] / "docs" / "safety.md"


def _section_yaml(study_id: str) -> object:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(f"### {study_id}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match, f"docs/safety.md has no yaml block for {study_id}"
    return yaml.safe_load(match.group(1))


@pytest.mark.parametrize(
    "study_id", ["psoriasis-adipose-exosomes", "ibd-placental-exosomes", "psoriasis-ucmsc"]
)
def test_documented_rules_are_the_shipped_rules(study_id: str) -> None:
    documented = _section_yaml(study_id)
    assert isinstance(documented, list)
    rules = [StoppingRule.model_validate(r) for r in documented]
    assert rules == resolve_study(study_id).safety.stopping_rules


def test_the_code_example_runs_as_shown() -> None:
    text = DOCS.read_text(encoding="utf-8")
    code = text.split("## In code", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    pauses = namespace["pauses"]
    assert isinstance(pauses, Pauses)
    assert pauses.enrolment_blocked_by("G100") == ("S1",)
    assert pauses.dosing_blocked_by("PSO-009", "G50") == ()
