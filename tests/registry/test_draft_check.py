"""DRAFT.* checks: what a draft lacks, and a sample size its record contradicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trialkit.checks import check_full
from trialkit.protocol import load_study
from trialkit.protocol.draft_check import DRAFT_CODES, check_draft, stated_sample_sizes
from trialkit.registry import import_text

DOCS = Path(__file__).parents[2] / "docs" / "checks.md"
STUDIES = Path(__file__).parents[2] / "src" / "trialkit" / "studies"


def _v2(summary: str, count: int, *, criteria: str | None, outcomes: bool = True) -> str:
    import json

    ps: dict[str, object] = {
        "identificationModule": {"nctId": "NCT01234567", "briefTitle": "A trial"},
        "descriptionModule": {"briefSummary": summary},
        "designModule": {"studyType": "INTERVENTIONAL", "enrollmentInfo": {"count": count}},
        "eligibilityModule": {"eligibilityCriteria": criteria} if criteria else {},
    }
    if outcomes:
        ps["outcomesModule"] = {"primaryOutcomes": [{"measure": "PASI 75", "timeFrame": "W12"}]}
    return json.dumps({"protocolSection": ps})


def _codes(text: str) -> list[str]:
    return [d.code for d in check_full(import_text(text).study) if d.code.startswith("DRAFT")]


def test_every_code_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert all(f"`{code}`" in text for code in DRAFT_CODES)


def test_no_inclusion_criteria_and_no_outcomes() -> None:
    assert _codes(_v2("A study.", 10, criteria=None, outcomes=False)) == [
        "DRAFT.W001",
        "DRAFT.W002",
    ]
    only_exclusions = "Exclusion Criteria:\n\n* Pregnancy"
    assert _codes(_v2("A study.", 10, criteria=only_exclusions)) == ["DRAFT.W001"]
    assert _codes(_v2("A study.", 10, criteria="Inclusion Criteria:\n\n* Adults")) == []


def test_sample_size_contradicting_the_records_text() -> None:
    text = _v2(
        "A total of 30 patients will be enrolled.", 12, criteria="Inclusion Criteria:\n* Adults"
    )
    found = [d for d in check_full(import_text(text).study) if d.code == "DRAFT.W003"]
    assert len(found) == 1
    assert "target sample size is 12" in found[0].message
    assert "states 30 ('A total of 30 patients')" in found[0].message
    assert found[0].cites[0].startswith("identity.brief_summary: A total of 30")
    agreeing = _v2("30 participants will be randomised.", 30, criteria="Inclusion Criteria:\n* A")
    assert _codes(agreeing) == []


@pytest.mark.parametrize(
    ("text", "arms", "sizes"),
    [
        ("3 groups of 4 patients were selected", 3, [12]),
        ("A total of 30 patients will be enrolled", 1, [30]),
        ("The sample size of 40 was computed", 1, [40]),
        ("We will recruit 24 healthy volunteers", 1, [24]),
        ("10 patients in each group", 2, [20]),
        ("10 patients in each group", 1, []),  # one arm: the group is the study
        ("patients aged 18 years or more", 1, []),
        ("at 12 weeks, 75 percent of patients", 1, []),
    ],
)
def test_stated_sample_sizes(text: str, arms: int, sizes: list[int]) -> None:
    assert [n for n, _ in stated_sample_sizes(text, arms)] == sizes


def test_shipped_studies_are_clean() -> None:
    for path in sorted(STUDIES.glob("*.yaml")):
        assert list(check_draft(load_study(path))) == [], path.name


def test_seed_and_sample_drafts_raise_no_false_size_warning(
    psoriasis_path: Path, sample: Callable[[str], Path]
) -> None:
    from trialkit.registry import import_records

    # "3 groups of 4 patients were selected" agrees with the target 12
    assert "DRAFT.W003" not in {
        d.code for d in check_full(import_records(psoriasis_path).results[0].study)
    }
    folder = sample("README.md").parent
    for path in sorted(folder.glob("*.json")) + sorted(folder.glob("*.xml")):
        for r in import_records(path).results:
            assert "DRAFT.W003" not in {d.code for d in check_full(r.study)}, r.record_id
