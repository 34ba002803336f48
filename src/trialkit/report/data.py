"""Everything the study report shows, read through the services as one user.

The endpoints come from :func:`trialkit.analysis.analyse` on the services' analysis tables
(:func:`trialkit.services.tidy_extract`), exactly what ``trialkit analyse --db`` prints; the
flow of participants from their lifecycle (:func:`trialkit.services.history`) and the status
matrix; exposure from the recorded doses; completeness from the matrix; queries from
:func:`trialkit.services.list_queries`; the audit verification from
:func:`trialkit.store.verify_all`. The report computes counts and descriptive statistics of
baseline values only; every estimate, interval and test is the analysis's.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import sqlalchemy as sa

from trialkit.analysis import (
    AdverseEvent,
    DoseSelection,
    DoseSelectionRule,
    EndpointResult,
    OperatingCharacteristics,
    TidyData,
    analyse,
    exact_operating_characteristics,
)
from trialkit.protocol import Study
from trialkit.services import (
    BLINDED,
    Context,
    history,
    list_queries,
    safety_status,
    tidy_extract,
)
from trialkit.services.matrix import given_doses, status_matrix
from trialkit.store import Database, verify_all
from trialkit.store.tables import protocol_version
from trialkit.store.tables import study as study_table

__all__ = [
    "AdverseEventRow",
    "ArmFlow",
    "BaselineRow",
    "Flow",
    "Operating",
    "ReportData",
    "collect",
]

_BASELINE_ITEMS = (
    "age",
    "sex",
    "weight",
    "bsa_percent",
    "pasi",
    "cdai",
    "mayo_score",
    "ses_cd",
    "sf36_pcs",
    "sf36_mcs",
)


@dataclass(frozen=True)
class ArmFlow:
    arm: str
    allocated: int
    received: int
    not_received: int
    completed: int
    ongoing: int
    withdrawn: int
    lost: int
    analysed: int


@dataclass(frozen=True)
class Flow:
    """The CONSORT flow: assessed, excluded (with reasons), then per arm."""

    assessed: int
    excluded: dict[str, int]
    in_screening: int
    arms: list[ArmFlow]

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


@dataclass(frozen=True)
class BaselineRow:
    item: str
    cells: dict[str, str]  # arm -> text


@dataclass(frozen=True)
class AdverseEventRow:
    term: str
    cells: dict[str, tuple[int, int, int]]  # arm -> (participants, events, worst grade)


@dataclass(frozen=True)
class Operating:
    """Operating characteristics of the protocol's dose-selection rule: Pr(select) per dose
    under ``truth`` (dose -> (Pr efficacy, Pr toxicity), independent) with ``n`` per dose."""

    endpoint: str
    truth: dict[str, tuple[float, float]]
    n: int
    result: OperatingCharacteristics


@dataclass
class ReportData:
    study: Study
    as_of: datetime
    versions: list[tuple[str, datetime, str, str]]  # version, loaded at, by, sha256
    flow: Flow
    recruitment: list[tuple[date, str]]  # (day, "screened" | "enrolled")
    arms: list[str]
    arm_n: dict[str, int]
    baseline: list[BaselineRow]
    exposure: dict[str, dict[str, int]]
    deviations: Counter[str]
    endpoints: list[EndpointResult]
    data_notes: tuple[str, ...]
    tidy: TidyData
    ae_terms: list[AdverseEventRow]
    ae_by_grade: dict[str, Counter[int]]
    ae_serious: dict[str, int]
    ae_related: dict[str, int]
    completeness: dict[str, int]
    queries: dict[str, int]
    query_days: float | None
    pauses: list[str]
    audit_entries: int
    audit_ok: bool
    audit_problem: str | None
    operating: Operating | None = None


def _versions(db: Database, code: str) -> list[tuple[str, datetime, str, str]]:
    # The protocol versions a study has loaded (no service lists them; a read of the
    # definition tables only, no participant data).
    q = (
        sa.select(
            protocol_version.c.version,
            protocol_version.c.loaded_at,
            protocol_version.c.loaded_by,
            protocol_version.c.sha256,
        )
        .join(study_table, study_table.c.id == protocol_version.c.study_id)
        .where(study_table.c.code == code)
        .order_by(protocol_version.c.id)
    )
    with db.read() as conn:
        return [(r.version, r.loaded_at, r.loaded_by, r.sha256) for r in conn.execute(q)]


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None


def _baseline(tidy: TidyData, study: Study, arms: list[str]) -> list[BaselineRow]:
    """Each baseline item per arm: mean (SD) and range of numbers, counts of codes; the value
    of the screening visit, or of the first visit that has one."""
    order = [v.id for v in study.timeline.visits]
    first: dict[tuple[str, str], tuple[int, str, str]] = {}
    for o in tidy.observations:
        if o.item not in _BASELINE_ITEMS or o.visit not in order or o.instance:
            continue
        key = (o.participant, o.item)
        rank = order.index(o.visit)
        if key not in first or rank < first[key][0]:
            first[key] = (rank, o.arm, o.value)
    rows = []
    for item in _BASELINE_ITEMS:
        by_arm: dict[str, list[str]] = defaultdict(list)
        for (_, it), (_, arm, value) in first.items():
            if it == item:
                by_arm[arm].append(value)
        if not by_arm:
            continue
        cells = {}
        for arm in arms:
            values = by_arm.get(arm, [])
            numbers = [n for n in (_number(v) for v in values) if n is not None]
            if values and len(numbers) == len(values):
                floats = [float(n) for n in numbers]
                sd = statistics.stdev(floats) if len(floats) > 1 else 0.0
                cells[arm] = (
                    f"{statistics.fmean(floats):.1f} ({sd:.1f}); "
                    f"{min(numbers)}–{max(numbers)}; n = {len(values)}"
                )
            elif values:
                counts = Counter(values)
                cells[arm] = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
            else:
                cells[arm] = "—"
        rows.append(BaselineRow(item, cells))
    return rows


def _ae_tables(
    events: tuple[AdverseEvent, ...], arms: list[str]
) -> tuple[list[AdverseEventRow], dict[str, Counter[int]], dict[str, int], dict[str, int]]:
    per: dict[str, dict[str, list[AdverseEvent]]] = defaultdict(lambda: defaultdict(list))
    grades: dict[str, Counter[int]] = {a: Counter() for a in arms}
    serious: Counter[str] = Counter()
    related: Counter[str] = Counter()
    for e in events:
        per[e.term][e.arm].append(e)
        grades.setdefault(e.arm, Counter())[e.grade] += 1
        serious[e.arm] += e.serious
        related[e.arm] += e.related
    rows = []
    for term in sorted(per):
        cells = {}
        for arm in arms:
            found = per[term].get(arm, [])
            cells[arm] = (
                len({e.participant for e in found}),
                len(found),
                max((e.grade for e in found), default=0),
            )
        rows.append(AdverseEventRow(term, cells))
    return rows, grades, dict(serious), dict(related)


def _operating(study: Study) -> Operating | None:
    """Under the true rates of the study's default simulation scenario, when it has one and a
    dose-selection endpoint (the shipped protocols state no operating scenarios of their own)."""
    from trialkit.errors import NotFound
    from trialkit.simulate.scenario import default_scenario

    spec = next(
        (ep for o in study.outcomes for ep in o.endpoints if isinstance(ep, DoseSelection)), None
    )
    if spec is None:
        return None
    try:
        scenario = default_scenario(study.id)
    except NotFound:
        return None
    if not set(spec.doses) <= set(scenario.arms):
        return None
    truth = {d: (scenario.arms[d].response, scenario.arms[d].toxicity) for d in spec.doses}
    rows = [[e * (1 - t), (1 - e) * (1 - t), e * t, (1 - e) * t] for e, t in truth.values()]
    cohorts = study.design.cohorts
    n = cohorts.cohort_size if cohorts is not None else 4
    # the rule as the endpoint states it (trialkit.analysis.endpoints builds the same one)
    rule = DoseSelectionRule(
        phi_t=Fraction(spec.phi_t),
        c_t=Fraction(spec.c_t),
        phi_e=Fraction(spec.phi_e),
        c_e=Fraction(spec.c_e),
        utilities=tuple(Fraction(u) for u in spec.utilities),  # type: ignore[arg-type]
        prior=tuple(Fraction(a) for a in spec.prior),  # type: ignore[arg-type]
    )
    result = exact_operating_characteristics(spec.doses, rows, n_per_arm=n, rule=rule)
    return Operating(spec.name, truth, n, result)


def collect(db: Database, ctx: Context, study_code: str) -> ReportData:
    """Read the report's content as ``ctx`` (who needs READ and ANALYSE in the study)."""
    extract = tidy_extract(db, ctx, study_code)
    study = extract.study
    tidy = extract.data
    specs = [ep for outcome in study.outcomes for ep in outcome.endpoints]
    endpoints = analyse(specs, tidy)
    arms = [a.id for a in study.arms]
    in_tidy = tidy.participants()
    matrix = status_matrix(db, ctx, study_code, ctx.as_of.date())
    excluded: Counter[str] = Counter()
    recruitment: list[tuple[date, str]] = []
    flows: dict[str, Counter[str]] = {a: Counter() for a in arms}
    exposure: dict[str, dict[str, int]] = {a: Counter() for a in arms}
    deviations: Counter[str] = Counter()
    in_screening = 0
    completeness: Counter[str] = Counter()
    for row in matrix.rows:
        events = history(db, ctx, study_code, row.participant)
        for ev in events:
            if ev["step"] == "consent":
                recruitment.append((ev["at"].date(), "screened"))
            if ev["step"] == "enrol":
                recruitment.append((ev["at"].date(), "enrolled"))
        status = row.status.value
        if not any(ev["step"] == "enrol" for ev in events):
            if status == "screen_failed":
                reason = next((ev["reason"] for ev in events if ev["step"] == "screen_fail"), None)
                excluded[f"not eligible: {reason or 'no reason given'}"] += 1
            elif status == "withdrawn":
                reason = next((ev["reason"] for ev in events if ev["step"] == "withdraw"), "")
                why = (reason or "").removeprefix("not enrolled:").split(";")[0].split("(")[0]
                excluded[f"not enrolled: {why.strip()[:60]}"] += 1
            else:
                in_screening += 1
            continue
        arm = row.arm or BLINDED  # a blinded reader of a masked study sees no arm
        flows.setdefault(arm, Counter())
        exposure.setdefault(arm, Counter())
        doses = given_doses(db, ctx, study_code, row.participant)
        flows[arm]["allocated"] += 1
        flows[arm]["received" if doses else "not_received"] += 1
        flows[arm][status] += 1
        flows[arm]["analysed"] += row.participant in in_tidy
        exposure[arm]["participants dosed"] += bool(doses)
        exposure[arm]["doses given"] += len(doses)
        for d in doses:
            for dev in d.deviations:
                deviations[dev] += 1
                exposure[arm]["deviations"] += 1
        for cell in row.cells.values():
            completeness["visits planned"] += cell.state.value != "not_planned"
            completeness[f"visits {cell.state.value}"] += 1
            for state in cell.forms.values():
                completeness[f"forms {state}"] += 1
    arm_flows = [
        ArmFlow(
            arm,
            c["allocated"],
            c["received"],
            c["not_received"],
            c["completed"],
            c["on_study"] + c["enrolled"],
            c["withdrawn"],
            c["lost_to_follow_up"],
            c["analysed"],
        )
        for arm, c in flows.items()
    ]
    queries = list_queries(db, ctx, study_code, status=None)
    q_counts = Counter(q.status for q in queries)
    q_counts["total"] = len(queries)
    answered = []
    for q in queries:
        from trialkit.services import query_history

        full = query_history(db, ctx, study_code, q.id)
        first_answer = next((e.at for e in full.events if e.action == "answer"), None)
        if first_answer is not None:
            answered.append((first_answer - q.opened_at).total_seconds() / 86400)
    safety = safety_status(db, ctx, study_code)
    pauses = [
        f"{p.rule_id} fired {p.fired_at:%Y-%m-%d}: {p.trigger.get('text', '')}"
        for p in safety.pauses
    ]
    with db.read() as conn:
        verified = verify_all(conn)
    problem = None if verified.problem is None else str(verified.problem)
    arm_n = Counter(in_tidy.values())
    ae_rows, grades, serious, related = _ae_tables(tidy.adverse_events, arms)
    return ReportData(
        study=study,
        as_of=ctx.as_of,
        versions=_versions(db, study_code),
        flow=Flow(
            assessed=len(matrix.rows),
            excluded=dict(excluded),
            in_screening=in_screening,
            arms=arm_flows,
        ),
        recruitment=sorted(recruitment),
        arms=arms,
        arm_n={a: arm_n.get(a, 0) for a in arms},
        baseline=_baseline(tidy, study, arms),
        exposure={a: dict(v) for a, v in exposure.items()},
        deviations=deviations,
        endpoints=endpoints,
        data_notes=extract.notes,
        tidy=tidy,
        ae_terms=ae_rows,
        ae_by_grade=grades,
        ae_serious=serious,
        ae_related=related,
        completeness=dict(completeness),
        queries=dict(q_counts),
        query_days=statistics.median(answered) if answered else None,
        pauses=pauses,
        audit_entries=verified.entries,
        audit_ok=verified.ok,
        audit_problem=problem,
        operating=_operating(study),
    )
