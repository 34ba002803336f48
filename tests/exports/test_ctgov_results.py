"""``ctgov-results``: the four results modules in the registry's API v2 shapes (compared with
the v2 sample record in tests/exports/data, taken from /work/shared/registry-samples), every
number from the analysis of the same database (``trialkit.analysis.analyse``)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.exports.conftest import PAE

from trialkit.analysis import analyse
from trialkit.exports import export
from trialkit.protocol.loader import resolve_study
from trialkit.services import Context, record_adverse_event, tidy_tables
from trialkit.store import Database

#: The keys of a statistical analysis in the v2 sample ctgov_v2_NCT02210780.json.
SAMPLE_ANALYSIS = {
    "groupIds": 1,
    "groupDescription": 1,
    "nonInferiorityType": 1,
    "pValue": 1,
    "statisticalMethod": 1,
    "paramType": 1,
    "paramValue": 1,
    "ciPctValue": 1,
    "ciNumSides": 1,
    "ciLowerLimit": 1,
    "ciUpperLimit": 1,
    "estimateComment": 1,
}


def _erythema(db: Database, at: Context, code: str) -> None:
    """A grade 1 non-serious injection-site erythema of ``code`` with onset on 2025-03-12."""
    record_adverse_event(
        db, at, PAE, code, visit="D1",
        values={"ae_term": "Injection site erythema", "ae_onset": "2025-03-12", "ae_grade": "1",
                "ae_serious": "no", "ae_relation": "probable", "ae_outcome": "recovered",
                "ae_at_injection_site": "yes"},
    )  # fmt: skip


def _keys(x: Any) -> set[str]:
    return set(x) if isinstance(x, dict) else set()


def test_results_modules_come_from_the_analysis(
    db: Database, ctx: Context, filled: tuple[str, str], tmp_path: Path
) -> None:
    p1, _ = filled
    at = Context.operator("dr.demo", datetime(2025, 3, 20, 9, 0))
    _erythema(db, at, p1)
    result = export(db, ctx, PAE, "ctgov-results", tmp_path)
    section = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["resultsSection"]
    assert set(section) == {
        "participantFlowModule",
        "baselineCharacteristicsModule",
        "outcomeMeasuresModule",
        "adverseEventsModule",
    }

    flow = section["participantFlowModule"]
    assert [g["id"] for g in flow["groups"]] == ["FG000", "FG001"]  # the arms with participants
    (period,) = flow["periods"]
    started = period["milestones"][0]
    assert started["type"] == "STARTED"
    assert [a["numSubjects"] for a in started["achievements"]] == ["1", "1"]

    base = section["baselineCharacteristicsModule"]
    age, sex = base["measures"]
    assert age["title"] == "Age, Continuous"
    assert [m["value"] for m in age["classes"][0]["categories"][0]["measurements"]] == [
        "40",
        "40",
        "40",
    ]
    male = sex["classes"][0]["categories"][1]
    assert male["title"] == "Male"
    assert [m["value"] for m in male["measurements"]] == ["1", "1", "2"]

    # every outcome measure's numbers are the analysis's
    study = resolve_study(PAE)
    tidy = tidy_tables(db, ctx, PAE)
    specs = [e for o in study.outcomes for e in o.endpoints]
    computed = {r.name: r for r in analyse(specs, tidy, arm_order=[a.id for a in study.arms])}
    measures = {m["title"]: m for m in section["outcomeMeasuresModule"]["outcomeMeasures"]}
    change = measures["PASI change from baseline"]
    assert change["type"] == "OTHER_PRE_SPECIFIED"
    assert change["paramType"] == "MEAN"
    rows = [dict(zip(computed[change["title"]].columns, r, strict=True))
            for r in computed[change["title"]].rows]  # fmt: skip
    by_visit = {c["title"]: c for c in change["classes"]}
    for r in (r for r in rows if r["mean change"] is not None):
        gid = "OG000" if r["arm"] == "G50" else "OG001"
        (m,) = [
            m for m in by_visit[r["visit"]]["categories"][0]["measurements"] if m["groupId"] == gid
        ]
        assert float(m["value"]) == pytest.approx(float(r["mean change"]), rel=1e-15)
    m3 = {m["groupId"]: float(m["value"]) for m in by_visit["M3"]["categories"][0]["measurements"]}
    assert m3 == pytest.approx({"OG000": 0.6 - 3.0, "OG001": 1.2 - 3.0})
    incidence = measures["Participants with adverse events"]
    assert incidence["paramType"] == "COUNT_OF_PARTICIPANTS"
    assert any("Dose selection" in n for n in result.notes)  # no registry shape: said so

    ae = section["adverseEventsModule"]
    g50, g100 = ae["eventGroups"]
    assert (g50["otherNumAffected"], g50["otherNumAtRisk"]) == (1, 1)
    assert (g50["seriousNumAffected"], g100["otherNumAffected"]) == (0, 0)
    assert ae["seriousEvents"] == []
    (other,) = ae["otherEvents"]
    assert other["term"] == "Injection site erythema"
    assert other["organSystem"] == "(not coded)"  # MedDRA coding is the sponsor's
    stats = {s["groupId"]: (s["numAffected"], s["numAtRisk"]) for s in other["stats"]}
    assert stats == {"EG000": (1, 1), "EG001": (0, 1)}

    # the shapes are the registry's: every key we write appears in the v2 sample's modules
    sample = json.loads(
        (Path(__file__).with_name("data") / "ctgov_v2_results_sample.json").read_text()
    )["resultsSection"]
    for module, ours in section.items():
        assert _keys(ours) <= _keys(sample[module]) | {"description"}, module
    (sample_measure,) = sample["outcomeMeasuresModule"]["outcomeMeasures"]
    for m in measures.values():
        assert _keys(m) <= _keys(sample_measure) | {"analyses"}, m["title"]
        for c in m["classes"]:
            for cat in c["categories"]:
                for cell in cat["measurements"]:
                    assert _keys(cell) <= {"groupId", "value", "spread", "lowerLimit"} | {
                        "upperLimit",
                        "comment",
                    }
    assert not any("analyses" in m for m in measures.values())  # one per arm: no p value
    assert _keys(g50) <= _keys(sample["adverseEventsModule"]["eventGroups"][0])
    assert _keys(other) - {"notes"} <= _keys(sample["adverseEventsModule"]["otherEvents"][0])


def _m3(folder: Path) -> dict[str, float]:
    section = json.loads((folder / "results.json").read_text(encoding="utf-8"))["resultsSection"]
    measures = {m["title"]: m for m in section["outcomeMeasuresModule"]["outcomeMeasures"]}
    (m3,) = [c for c in measures["PASI change from baseline"]["classes"] if c["title"] == "M3"]
    return {m["groupId"]: float(m["value"]) for m in m3["categories"][0]["measurements"]}


def test_results_as_of_a_date_leave_later_changes_out(
    db: Database, ctx: Context, filled: tuple[str, str], tmp_path: Path
) -> None:
    """Participant 2's month-3 PASI was corrected on 2025-08-01 and an adverse event recorded
    on 2025-07-15: the results as of 2025-07-31 have the PASI as first entered, those as of
    2025-07-01 no adverse event either, and today's have both changes."""
    p1, _ = filled
    at = Context.operator("dr.demo", datetime(2025, 7, 15, 9, 0))
    _erythema(db, at, p1)
    export(db, ctx, PAE, "ctgov-results", tmp_path / "now")
    early = export(
        db, ctx, PAE, "ctgov-results", tmp_path / "july", as_of=datetime(2025, 7, 31, 23, 59)
    )
    assert early.notes[0].startswith("results as of 2025-07-31")
    # trunk (1, 1, 0, 5 %) then (2, 1, 1, 5 %) at M3 against (2, 2, 1, 12 %) at D1
    assert _m3(tmp_path / "now") == pytest.approx({"OG000": 0.6 - 3.0, "OG001": 1.2 - 3.0})
    assert _m3(tmp_path / "july") == pytest.approx({"OG000": 0.6 - 3.0, "OG001": 0.6 - 3.0})
    july = json.loads((tmp_path / "july" / "results.json").read_text())["resultsSection"]
    assert len(july["adverseEventsModule"]["otherEvents"]) == 1
    export(db, ctx, PAE, "ctgov-results", tmp_path / "june", as_of=datetime(2025, 7, 1))
    june = json.loads((tmp_path / "june" / "results.json").read_text())["resultsSection"]
    assert june["adverseEventsModule"]["otherEvents"] == []
    assert all(g["otherNumAffected"] == 0 for g in june["adverseEventsModule"]["eventGroups"])
    assert _m3(tmp_path / "june") == _m3(tmp_path / "july")
    started = june["participantFlowModule"]["periods"][0]["milestones"][0]
    assert [a["numSubjects"] for a in started["achievements"]] == ["1", "1"]


def test_tables_rebuilt_from_the_extract_are_the_analysis_tables(
    db: Database, ctx: Context, filled: tuple[str, str]
) -> None:
    """Read without a cut, the tables the as-of export builds from the extract are exactly
    ``tidy_tables``' (every observation, its row number, instance, role and day; every adverse
    event), so an as-of export differs from today's only by what changed since."""
    from trialkit.exports.analysis_as_of import analysis_tables_of, statuses_at
    from trialkit.services.extract import open_extract

    p1, p2 = filled
    at = Context.operator("dr.demo", datetime(2025, 3, 20, 9, 0))
    record_adverse_event(
        db, at, PAE, p2, visit="D1",
        values={"ae_term": "Headache", "ae_onset": "2025-03-13", "ae_grade": "2",
                "ae_serious": "yes", "ae_relation": "unlikely", "ae_outcome": "recovering",
                "ae_at_injection_site": "no"},
    )  # fmt: skip
    with open_extract(db, ctx, PAE) as extract:
        ours = analysis_tables_of(extract)
        assert statuses_at(extract) == {p.code: p.status for p in extract.people}
    theirs = tidy_tables(db, ctx, PAE)
    assert ours.data.observations == theirs.observations
    assert ours.data.adverse_events == theirs.adverse_events
    assert len(theirs.adverse_events) == 1
    assert any(o.role == "treated" for o in theirs.observations)
    with open_extract(db, ctx, PAE, as_of=datetime(2025, 3, 19)) as extract:
        assert statuses_at(extract) == {p1: "on_study", p2: "on_study"}


def test_a_mean_with_its_test_becomes_a_measure_with_its_analysis() -> None:
    """The mapping of an analysis table with a p value (two participants per arm give one):
    the mean and its limits per visit, and the test as a statistical analysis."""
    from trialkit.analysis import EndpointResult
    from trialkit.exports.ctgov_results import _Groups, _measure

    study = resolve_study(PAE)
    columns = ("arm", "visit", "n", "mean change", "lower", "upper", "p", "df", "method")
    table = EndpointResult(
        "PASI change from baseline",
        "change_from_baseline",
        columns,
        (("G50", "M3", 2, -2.5, -4.0, -1.0, 0.03, 1, "paired t"),),
    )
    notes: list[str] = []
    m = _measure(table, _Groups(study, ["G50"]), {"title": table.name}, notes)
    assert m is not None
    (cls,) = m["classes"]
    assert cls["title"] == "M3"
    assert cls["categories"][0]["measurements"] == [
        {"groupId": "OG000", "value": "-2.5", "lowerLimit": "-4", "upperLimit": "-1"}
    ]
    (analysis,) = m["analyses"]
    assert _keys(analysis) <= _keys(SAMPLE_ANALYSIS)
    assert (analysis["pValue"], analysis["statisticalMethod"]) == ("0.03", "paired t")
    assert notes == []
