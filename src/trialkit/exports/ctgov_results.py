"""``ctgov-results``: the ClinicalTrials.gov results modules, as the registry's API v2 JSON.

``results.json`` holds a ``resultsSection`` with the four modules of a results record
(participant flow, baseline characteristics, outcome measures, adverse events), in the field
names and shapes of the v2 API (``/api/v2/studies``). Every number of the outcome measures and
the adverse events comes from :func:`trialkit.analysis.analyse` run on the analysis tables of
the export's snapshot (:meth:`trialkit.services.extract.Extract.analysis_tables`): the same
computations as ``trialkit analyse``, nothing is recomputed here. As of a date (``--as-of``)
the tables are those the data had then (:mod:`trialkit.exports.analysis_as_of`: the values
rebuilt from the audit trail, read with the analysis tables' rules). The participant flow
counts the exported participants by their status (then); the baseline characteristics are the
age (mean and standard deviation, exact) and the sex of each arm at the first visit they were
recorded.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from trialkit.analysis import (
    AdverseEventIncidence,
    EndpointResult,
    TidyData,
    analyse,
    order_arms,
)
from trialkit.exports.analysis_as_of import analysis_tables_of, cut_of, statuses_at
from trialkit.exports.base import ExportResult, Progress
from trialkit.protocol import Study
from trialkit.services.extract import BLINDED, Extract

__all__ = ["OUTCOME_TYPES", "write_ctgov_results"]

#: trialkit's outcome kind -> ClinicalTrials.gov's outcome measure type.
OUTCOME_TYPES = {"primary": "PRIMARY", "secondary": "SECONDARY", "other": "OTHER_PRE_SPECIFIED"}
_STAT_COLUMNS = frozenset(
    {"arm", "n", "N", "participants", "percent", "lower %", "upper %", "events", "responders"}
    | {"binomial p"}
)


def _text(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.15g}"
    return "" if x is None else str(x)


class _Groups:
    """The arms as one kind of group (``FG000``, ``BG000``, ``OG000``, ``EG000``)."""

    def __init__(self, study: Study, arms: Sequence[str]) -> None:
        self.study = study
        self.arms = list(arms)

    def id(self, prefix: str, arm: str) -> str:
        return f"{prefix}{self.arms.index(arm):03d}"

    def groups(self, prefix: str) -> list[dict[str, str]]:
        out = []
        for arm in self.arms:
            found = self.study.arm(arm)
            title = found.name if found is not None else arm
            group = {"id": self.id(prefix, arm), "title": title}
            if found is not None and found.description:
                group["description"] = found.description
            elif arm == BLINDED:
                group["description"] = "All arms, pooled: the reader is blinded to allocation"
            out.append(group)
        return out


def _flow(extract: Extract, g: _Groups) -> dict[str, Any]:
    by_arm: dict[str, dict[str, int]] = {a: defaultdict(int) for a in g.arms}
    now = statuses_at(extract)
    for p in extract.people:
        by_arm[p.arm][now[p.code]] += 1

    def counts(pick: Any) -> list[dict[str, str]]:
        return [{"groupId": g.id("FG", a), "numSubjects": str(pick(by_arm[a]))} for a in g.arms]

    drops = []
    for status, label in (
        ("withdrawn", "Withdrawal by Subject"),
        ("lost_to_follow_up", "Lost to Follow-up"),
        ("on_study", "Still on study when the data were exported"),
        ("enrolled", "Enrolled, not yet started, when the data were exported"),
    ):
        if any(by_arm[a][status] for a in g.arms):
            drops.append({"type": label, "reasons": counts(lambda c, s=status: c[s])})
    return {
        "groups": g.groups("FG"),
        "periods": [
            {
                "title": "Overall Study",
                "milestones": [
                    {"type": "STARTED", "achievements": counts(lambda c: sum(c.values()))},
                    {"type": "COMPLETED", "achievements": counts(lambda c: c["completed"])},
                    {
                        "type": "NOT COMPLETED",
                        "achievements": counts(lambda c: sum(c.values()) - c["completed"]),
                    },
                ],
                "dropWithdraws": drops,
            }
        ],
    }


def _first(tidy: TidyData, item: str) -> dict[str, tuple[str, str]]:
    """Each participant's (arm, value) of ``item`` at the earliest study day it was recorded."""
    seen: dict[str, tuple[int, str, str]] = {}
    for o in tidy.observations:
        if o.item != item or not o.value:
            continue
        day = o.day if o.day is not None else -(10**9)
        if o.participant not in seen or day < seen[o.participant][0]:
            seen[o.participant] = (day, o.arm, o.value)
    return {p: (arm, value) for p, (_, arm, value) in seen.items()}


def _baseline(tidy: TidyData, g: _Groups, n: dict[str, int]) -> dict[str, Any]:
    total_id = f"BG{len(g.arms):03d}"
    groups = [*g.groups("BG"), {"id": total_id, "title": "Total", "description": "All arms"}]
    denoms = [{"groupId": g.id("BG", a), "value": str(n[a])} for a in g.arms]
    denoms.append({"groupId": total_id, "value": str(sum(n.values()))})
    measures: list[dict[str, Any]] = []
    ages: dict[str, list[Decimal]] = defaultdict(list)
    for arm, value in _first(tidy, "age").values():
        try:
            ages[arm].append(Decimal(value))
        except InvalidOperation:
            continue
    if ages:
        cells = []
        for gid, values in [
            *((g.id("BG", a), ages.get(a, [])) for a in g.arms),
            (total_id, [x for v in ages.values() for x in v]),
        ]:
            cell = {"groupId": gid, "value": _text(statistics.mean(values)) if values else "NA"}
            if len(values) > 1:
                cell["spread"] = _text(statistics.stdev(values))
            cells.append(cell)
        measures.append(
            {
                "title": "Age, Continuous",
                "paramType": "MEAN",
                "dispersionType": "STANDARD_DEVIATION",
                "unitOfMeasure": "years",
                "classes": [{"categories": [{"measurements": cells}]}],
            }
        )
    sexes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for arm, value in _first(tidy, "sex").values():
        sexes[arm][value] += 1
    if sexes:
        cats = []
        for code, title in (("female", "Female"), ("male", "Male")):
            cells = [{"groupId": g.id("BG", a), "value": str(sexes[a][code])} for a in g.arms]
            cells.append({"groupId": total_id, "value": str(sum(sexes[a][code] for a in g.arms))})
            cats.append({"title": title, "measurements": cells})
        measures.append(
            {
                "title": "Sex: Female, Male",
                "paramType": "COUNT_OF_PARTICIPANTS",
                "unitOfMeasure": "Participants",
                "classes": [{"categories": cats}],
            }
        )
    return {"groups": groups, "denoms": [{"units": "Participants", "counts": denoms}]} | {
        "measures": measures
    }


def _label(columns: Sequence[str], row: dict[str, Any], skip: frozenset[str]) -> str:
    """A class title from a row's label cells: ``serious: no, related: yes, worst grade: 1``."""
    return ", ".join(f"{c}: {_text(row[c])}" for c in columns if c not in skip)


def _measure(
    result: EndpointResult, g: _Groups, head: dict[str, Any], notes: list[str]
) -> dict[str, Any] | None:
    """One outcome measure from one endpoint result, or None for a result that has no
    ClinicalTrials.gov shape (dose selection: reported in the study report)."""
    cols = result.columns
    rows = [dict(zip(cols, r, strict=True)) for r in result.rows]
    out = head | {"groups": g.groups("OG")}
    classes: dict[str, dict[str, Any]] = {}

    def cls(title: str) -> dict[str, Any]:
        return classes.setdefault(title, {"title": title, "denoms": [], "measurements": []})

    analyses: list[dict[str, Any]] = []
    if "mean change" in cols or "mean difference" in cols:
        value = "mean change" if "mean change" in cols else "mean difference"
        out |= {"paramType": "MEAN", "dispersionType": "CONFIDENCE_INTERVAL_95"}
        for r in rows:
            c = cls(_text(r["visit"]))
            gid = g.id("OG", str(r["arm"]))
            c["denoms"].append({"groupId": gid, "value": _text(r["n"])})
            m = {"groupId": gid, "value": _text(r[value]) if r[value] is not None else "NA"}
            if r[value] is None:
                m["comment"] = "No participant had values at both visits"
            if r.get("lower") is not None:
                m |= {"lowerLimit": _text(r["lower"]), "upperLimit": _text(r["upper"])}
            c["measurements"].append(m)
            p = r.get("p") if "p" in cols else r.get("t p")
            if p is not None:
                method = _text(r.get("method")) or "Paired t-test"
                analyses.append(
                    {
                        "groupIds": [gid],
                        "nonInferiorityType": "OTHER",
                        "groupDescription": f"{r['arm']}, {r['visit']}: {value} against 0",
                        "pValue": _text(p),
                        "statisticalMethod": method,
                        "paramType": "Mean Difference (Final Values)",
                        "paramValue": _text(r[value]),
                        "ciPctValue": "95",
                        "ciNumSides": "TWO_SIDED",
                        "ciLowerLimit": _text(r.get("lower")),
                        "ciUpperLimit": _text(r.get("upper")),
                    }
                )
    elif "participants" in cols or "responders" in cols:
        count, denom = ("participants", "N") if "participants" in cols else ("responders", "n")
        out |= {"paramType": "COUNT_OF_PARTICIPANTS", "unitOfMeasure": "Participants"}
        skipped = {_text(r.get("measure")) for r in rows if r[count] is None}
        if skipped:
            notes.append(
                f"outcome {result.name!r}: " + ", ".join(sorted(skipped)) + " are not counts "
                "of participants; they are in the study report"
            )
        for r in (r for r in rows if r[count] is not None):
            c = cls(_label(cols, r, _STAT_COLUMNS) or "All events")
            gid = g.id("OG", str(r["arm"]))
            c["denoms"].append({"groupId": gid, "value": _text(r[denom])})
            c["measurements"].append({"groupId": gid, "value": _text(r[count])})
    elif result.type == "time_to_first_event":
        out |= {"paramType": "MEDIAN", "dispersionType": "CONFIDENCE_INTERVAL_95"}
        out["unitOfMeasure"] = "days"
        c = cls("")
        for arm, d in result.details.get("median", {}).items():
            gid = g.id("OG", arm)
            c["denoms"].append({"groupId": gid, "value": _text(d["n"])})
            m = {"groupId": gid, "value": _text(d["median"]) if d["median"] is not None else "NA"}
            if d["median"] is None:
                m["comment"] = "The median was not reached"
            m |= {"lowerLimit": _text(d["median_lower"]) or "NA"}
            m |= {"upperLimit": _text(d["median_upper"]) or "NA"}
            c["measurements"].append(m)
    else:
        return None
    arms_n: dict[str, int] = {}
    for c in classes.values():
        for d in c["denoms"]:
            arms_n[d["groupId"]] = max(arms_n.get(d["groupId"], 0), int(d["value"] or 0))
    out["denoms"] = [
        {
            "units": "Participants",
            "counts": [{"groupId": k, "value": str(v)} for k, v in arms_n.items()],
        }
    ]
    out["classes"] = [
        {
            **({"title": c["title"]} if c["title"] else {}),
            "denoms": [{"units": "Participants", "counts": c["denoms"]}],
            "categories": [{"measurements": c["measurements"]}],
        }
        for c in classes.values()
    ]
    if analyses:
        out["analyses"] = analyses
    return out


def _outcomes(study: Study, tidy: TidyData, g: _Groups, notes: list[str]) -> list[dict[str, Any]]:
    out = []
    items = study.items()
    for outcome in study.outcomes:
        if not outcome.endpoints:
            continue
        results = analyse(outcome.endpoints, tidy, arm_order=[a.id for a in study.arms])
        for spec, result in zip(outcome.endpoints, results, strict=True):
            head: dict[str, Any] = {
                "type": OUTCOME_TYPES[outcome.kind],
                "title": result.name,
                "description": outcome.description
                + (f" ({outcome.method})" if outcome.method else ""),
                "timeFrame": outcome.timepoint or "",
            }
            item = items.get(getattr(spec, "item", None) or "")
            if item is not None:
                head["unitOfMeasure"] = item.unit or "units on a scale"
            if result.status != "computed":
                notes.append(f"outcome {result.name!r}: {result.status} ({result.reason})")
                continue
            measure = _measure(result, g, head, notes)
            if measure is None:
                notes.append(
                    f"outcome {result.name!r} ({result.type}) has no ClinicalTrials.gov "
                    "outcome-measure shape; it is in the study report"
                )
                continue
            out.append(measure)
    return out


def _incidence(tidy: TidyData, by: list[str], study: Study) -> list[dict[str, Any]]:
    spec = AdverseEventIncidence.model_validate(
        {"name": "adverse events", "type": "adverse_event_incidence", "by": by}
    )
    (result,) = analyse([spec], tidy, arm_order=[a.id for a in study.arms])
    if result.status != "computed":
        return []
    return [dict(zip(result.columns, r, strict=True)) for r in result.rows]


def _adverse_events(study: Study, tidy: TidyData, g: _Groups, n: dict[str, int]) -> dict[str, Any]:
    serious = {(r["arm"], r["serious"]): r for r in _incidence(tidy, ["arm", "serious"], study)}
    worst = _incidence(tidy, ["arm", "grade"], study)
    deaths: dict[str, int] = defaultdict(int)
    for r in worst:
        if r["worst grade"] == 5:
            deaths[r["arm"]] += int(r["participants"])
    groups = []
    for base in g.groups("EG"):
        arm = g.arms[int(base["id"][2:])]
        at_risk = n[arm]
        groups.append(
            base
            | {
                "deathsNumAffected": deaths[arm],
                "deathsNumAtRisk": at_risk,
                "seriousNumAffected": int(serious.get((arm, "yes"), {}).get("participants", 0)),
                "seriousNumAtRisk": at_risk,
                "otherNumAffected": int(serious.get((arm, "no"), {}).get("participants", 0)),
                "otherNumAtRisk": at_risk,
            }
        )
    events: dict[str, dict[tuple[str, str], dict[str, Any]]] = {"yes": {}, "no": {}}
    for r in _incidence(tidy, ["arm", "organ_system", "term", "serious"], study):
        if r["serious"] is None:  # an arm's row of no event at all
            continue
        key = (r["term"], r["organ system"])
        entry = events[r["serious"]].setdefault(
            key, {"term": key[0], "organSystem": key[1], "stats": []}
        )
        entry["stats"].append(
            {
                "groupId": g.id("EG", r["arm"]),
                "numEvents": int(r["events"]),
                "numAffected": int(r["participants"]),
                "numAtRisk": int(r["N"]),
            }
        )
    return {
        "frequencyThreshold": "0",
        "timeFrame": "From the first dose to the end of follow-up",
        "description": f"Graded with {study.safety.grading}; treatment-emergent events only",
        "eventGroups": groups,
        "seriousEvents": list(events["yes"].values()),
        "otherEvents": list(events["no"].values()),
    }


def write_ctgov_results(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """Write ``results.json`` (the results modules) into ``out``."""
    cut = cut_of(extract)
    tables = extract.analysis_tables() if cut is None else analysis_tables_of(extract)
    tidy, study = tables.data, extract.study
    result = ExportResult("ctgov-results", participants=len(extract.people))
    arms = order_arms(
        {p.arm for p in extract.people} | {o.arm for o in tidy.observations},
        [a.id for a in study.arms],
    )
    g = _Groups(study, arms)
    n = {a: sum(1 for p in extract.people if p.arm == a) for a in arms}
    notes = list(tables.notes)
    if cut is not None:
        notes.insert(
            0, f"results as of {cut:%Y-%m-%d}: the data as they stood at the end of that day"
        )
    section = {
        "participantFlowModule": _flow(extract, g),
        "baselineCharacteristicsModule": _baseline(tidy, g, n),
        "outcomeMeasuresModule": {"outcomeMeasures": _outcomes(study, tidy, g, notes)},
        "adverseEventsModule": _adverse_events(study, tidy, g, n),
    }
    path = out / "results.json"
    path.write_text(
        json.dumps({"resultsSection": section}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    progress(1, 1)
    result.files.append(path)
    result.values = len(tidy.observations) + len(tidy.adverse_events)
    result.notes += notes
    return result
