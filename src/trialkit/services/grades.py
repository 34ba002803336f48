"""Adverse-event grades computed from the measured values, not typed.

An adverse-event row names the CTCAE term it is graded by (``ae_ctcae_term``, a code of the
``CTCAE_GRADED`` list: ``alt_increased``, ``fever``, ``hypertension`` ...). Its grade is then
computed by the instruments library (``trialkit.instruments``, CTCAE v5.0) from the values
captured at the same visit: the laboratory value of the lab form with the study's reference
range (ULN or LLN) and, for the liver tests and creatinine, the baseline value (the screening
visit's); the temperature, or the systolic and diastolic pressure, of the vital-signs form.
Nothing is entered twice.

``ae_grade`` is then the investigator's **override**: left empty, the computed grade is the
grade; entered and different from the computed one, it needs ``ae_grade_reason``. Both grades
and the reason are kept in the audited ``ae_grade`` table (one row per adverse-event row,
updated when they change) and shown by :func:`ae_grades`; the stopping rules count the
**effective** grade (:func:`effective_grade`). A row whose term is not graded from values, or
whose values are missing, takes ``ae_grade`` as entered (required then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.errors import TrialkitError
from trialkit.instruments import INSTRUMENTS
from trialkit.protocol import ReferenceRange, Study
from trialkit.services import lookups
from trialkit.services.access import Permission
from trialkit.services.context import Context
from trialkit.services.values import typed
from trialkit.store import Database, canonical
from trialkit.store.tables import form_instance

__all__ = [
    "AE_CTCAE_TERM",
    "AE_GRADE_REASON",
    "BASELINE_VISIT",
    "GRADED_TERMS",
    "AeGrade",
    "RowGrade",
    "ae_grades",
    "effective_grade",
    "grade_row",
    "visit_values",
]

#: The item naming the CTCAE term an adverse-event row is graded by.
AE_CTCAE_TERM = "ae_ctcae_term"
#: The item giving the reason of an overriding grade.
AE_GRADE_REASON = "ae_grade_reason"
#: The visit whose laboratory values are the baseline of the liver tests and creatinine.
BASELINE_VISIT = "SCR"

#: CTCAE term code -> (instrument, the study items it reads).
GRADED_TERMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "alt_increased": ("ctcae_alt_increased", ("alt",)),
    "ast_increased": ("ctcae_ast_increased", ("ast",)),
    "alp_increased": ("ctcae_alp_increased", ("alkaline_phosphatase",)),
    "bilirubin_increased": ("ctcae_bilirubin_increased", ("total_bilirubin",)),
    "creatinine_increased": ("ctcae_creatinine_increased", ("creatinine",)),
    "anemia": ("ctcae_anemia", ("hemoglobin",)),
    "neutrophil_count_decreased": ("ctcae_neutrophil_count_decreased", ("neutrophils",)),
    "lymphocyte_count_decreased": ("ctcae_lymphocyte_count_decreased", ("lymphocytes",)),
    "platelet_count_decreased": ("ctcae_platelet_count_decreased", ("platelets",)),
    "white_blood_cell_decreased": ("ctcae_white_blood_cell_count_decreased", ("wbc",)),
    "fever": ("ctcae_fever", ("temperature",)),
    "hypertension": ("ctcae_hypertension", ("systolic_bp", "diastolic_bp")),
}
_COUNT_UNITS = {"10^9/L": "10*9/L", "10*9/L": "10*9/L", "/mm3": "/mm3"}


@dataclass(frozen=True)
class RowGrade:
    """The grades of one adverse-event row: ``computed`` from values (None: not graded from
    values, or values missing, ``why``), ``entered`` (the override), ``effective`` (what the
    stopping rules count) and the ``problem`` that makes the row invalid, if any."""

    term: str | None
    computed: int | None
    why: str | None
    inputs: dict[str, Any]
    entered: int | None
    reason: str | None
    effective: int | None
    problem: str | None


def _range(study_def: Study, item: str, sex: str | None) -> ReferenceRange | None:
    ranges = [r for r in study_def.reference_ranges if r.item == item]
    return next((r for r in ranges if r.sex == sex), None) or next(
        (r for r in ranges if r.sex is None), None
    )


def _inputs(
    study_def: Study,
    term: str,
    at_visit: Mapping[str, Any],
    baseline: Mapping[str, Any],
    sex: str | None,
) -> tuple[dict[str, Any] | None, str | None]:
    instrument, items = GRADED_TERMS[term]
    missing = [i for i in items if at_visit.get(i) is None]
    if term == "hypertension":
        if len(missing) == 2:
            return None, "systolic_bp and diastolic_bp are not entered at this visit"
        return {
            "systolic": at_visit.get("systolic_bp"),
            "diastolic": at_visit.get("diastolic_bp"),
        }, None
    if missing:
        return None, f"{missing[0]} is not entered at this visit"
    item = items[0]
    value = at_visit[item]
    if term == "fever":
        return {"temperature": value}, None
    ref = _range(study_def, item, sex)
    unit = study_def.items()[item].unit if item in study_def.items() else None
    if instrument.endswith("_increased"):
        if ref is None or ref.upper is None:
            return None, f"the study states no upper limit of normal for {item}"
        out: dict[str, Any] = {"value": value, "uln": ref.upper}
        base = baseline.get(item)
        if term == "creatinine_increased":
            if base is not None:
                out["baseline"] = base
        elif base is None:
            return None, f"the baseline {item} (visit {BASELINE_VISIT}) is not entered"
        else:
            out["baseline"] = base
        return out, None
    if ref is None or ref.lower is None:
        return None, f"the study states no lower limit of normal for {item}"
    if term == "anemia":
        return {"hemoglobin": value, "lln": ref.lower, "unit": unit}, None
    code = _COUNT_UNITS.get(unit or "")
    if code is None:
        return None, f"{item} is in {unit or 'no unit'}, which CTCAE counts are not graded in"
    return {"value": value, "lln": ref.lower, "unit": code}, None


def _int(value: Any) -> int | None:
    if value is None:
        return None
    return int(str(value))


def grade_row(
    study_def: Study,
    row: Mapping[str, Any],
    at_visit: Mapping[str, Any],
    baseline: Mapping[str, Any],
    sex: str | None = None,
) -> RowGrade:
    """The grades of one adverse-event row of typed values (see the module docstring)."""
    term = row.get(AE_CTCAE_TERM)
    entered = _int(row.get("ae_grade"))
    reason = row.get(AE_GRADE_REASON)
    reason = str(reason).strip() if reason not in (None, "") else None
    computed: int | None = None
    why: str | None = None
    inputs: dict[str, Any] = {}
    if isinstance(term, str) and term in GRADED_TERMS:
        instrument = INSTRUMENTS[GRADED_TERMS[term][0]]
        values, why = _inputs(study_def, term, at_visit, baseline, sex)
        if values is not None:
            inputs = {k: None if v is None else str(v) for k, v in values.items()}
            inputs["instrument"] = instrument.name
            inputs["version"] = instrument.version
            try:
                result = instrument.score({k: v for k, v in values.items() if v is not None})
            except TrialkitError as exc:
                why = exc.message
            else:
                computed = None if result.value is None else int(result.value)
                why = result.reason
    problem: str | None = None
    if computed is None:
        effective = entered
        if entered is None:
            problem = (
                f"ae_grade is required: no grade is computed ({why})"
                if why
                else "ae_grade is required (the term is not graded from measured values)"
            )
    elif entered is None:
        effective = computed if computed >= 1 else None
        if computed == 0:
            problem = (
                f"the measured values give CTCAE grade 0 for {term}, which is not an adverse "
                "event of that term; correct the term, or enter ae_grade with ae_grade_reason"
            )
    else:
        effective = entered
        if entered != computed and reason is None:
            problem = (
                f"ae_grade {entered} overrides the computed grade {computed} for {term}; "
                "give the reason in ae_grade_reason"
            )
    return RowGrade(
        term if isinstance(term, str) else None,
        computed,
        why,
        inputs,
        entered,
        reason,
        effective,
        problem,
    )


def effective_grade(grade: RowGrade) -> int | None:
    """The grade the stopping rules count (None: not countable)."""
    return grade.effective


def visit_values(
    conn: sa.Connection, participant_ids: list[int]
) -> dict[tuple[int, str], dict[str, Any]]:
    """(participant id, visit key) -> typed values of the plain (not repeating) item groups of
    every form entered at that visit, for the items CTCAE grading reads (and ``sex``)."""
    wanted = {i for _, items in GRADED_TERMS.values() for i in items} | {"sex"}
    out: dict[tuple[int, str], dict[str, Any]] = {}
    if not participant_ids:
        return out
    rows = conn.execute(
        sa.select(form_instance.c.participant_id, form_instance.c.visit_key, form_instance.c.data)
        .where(
            form_instance.c.participant_id.in_(participant_ids),
            form_instance.c.status == "entered",
        )
        .order_by(form_instance.c.id)
    )
    for r in rows:
        values = out.setdefault((int(r.participant_id), r.visit_key), {})
        for content in (canonical.loads(r.data) or {}).values():
            if not isinstance(content, dict):
                continue
            for name, entry in content.items():
                if name in wanted and isinstance(entry, dict):
                    values[name] = typed(entry)
    return out


@dataclass(frozen=True)
class AeGrade:
    """One adverse-event row's grades as stored (see :func:`ae_grades`)."""

    event_key: str
    visit: str
    term: str | None
    computed: int | None
    computed_why: str | None
    inputs: dict[str, Any]
    entered: int | None
    reason: str | None
    effective: int | None
    updated_at: datetime


def ae_grades(db: Database, ctx: Context, study_code: str, code: str) -> list[AeGrade]:
    """The participant's adverse-event rows with the computed, the entered (overriding) and the
    effective grade, oldest first."""
    from trialkit.store.tables import ae_grade

    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.READ)
        rows = conn.execute(
            sa.select(ae_grade).where(ae_grade.c.participant_id == p.id).order_by(ae_grade.c.id)
        )
        return [
            AeGrade(
                r.event_key,
                r.visit_key,
                r.term,
                r.computed,
                r.computed_why,
                canonical.loads(r.inputs),
                r.entered,
                r.reason,
                r.effective,
                r.updated_at,
            )
            for r in rows
        ]
