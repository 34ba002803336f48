"""Allocation on the database: the pure algorithms of :mod:`trialkit.allocation` under a row lock.

A participant is allocated at the moment of enrolment (:func:`trialkit.services.enrol` calls
:func:`assign` when the study allocates): not before, so the next assignment stays concealed
until the participant is consented, eligible and enrolled.

* **Randomised studies** (``design.randomisation``): the study's ``allocation_state`` row is
  locked (``SELECT ... FOR UPDATE`` on PostgreSQL, inside the ledger's write lock on both
  databases), the whole history of the study's allocations is read in order, the participant's
  factor levels are read from their screening values and site, and
  :func:`trialkit.allocation.allocate` decides from the study's secret seed. The seed is made
  by :func:`trialkit.allocation.new_seed` at the first allocation (or set beforehand by a
  platform administrator with :func:`set_seed`, e.g. the trial statistician's seed for a sealed
  list) and is never returned by any service.
* **Sequential cohorts** (``design.cohorts``): :func:`trialkit.allocation.require_cohort` from
  the counts per arm, each participant's last dose, the safety board's decisions to open a
  cohort (:func:`open_cohort`) and the arms paused by stopping rules.

Each allocation is an ``allocation`` row (number, arm, method, stratum, factor levels and the
algorithm's detail: block, position, imbalance scores, random draws) written through the one
audited write path; ``(study, number)`` and the participant are unique, so two allocations can
never take the same slot. An arm chosen by hand in a study that allocates is refused, except by
the operator with a stated reason (records carried over from a paper trial), which is recorded
as a manual allocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from trialkit.allocation import (
    Assignment,
    CohortStatus,
    allocate,
    candidate_from_values,
    cohort_status,
    new_seed,
    require_cohort,
)
from trialkit.errors import AccessDenied, ConflictError, TransitionError, ValidationFailed
from trialkit.protocol import Study
from trialkit.services import locks, safety, studies
from trialkit.services.access import Permission, require, require_admin
from trialkit.services.context import Context
from trialkit.services.records import FieldChange, write
from trialkit.services.values import screening_values
from trialkit.store import Database, canonical
from trialkit.store.tables import (
    allocation,
    allocation_state,
    dose_record,
    participant,
    safety_decision,
)

__all__ = [
    "AllocationResult",
    "allocates",
    "assign",
    "cohorts",
    "open_cohort",
    "set_seed",
]


@dataclass(frozen=True)
class AllocationResult:
    """The arm given and how: ``number`` in the study's allocation order, the method's detail."""

    arm: str
    number: int
    method: str
    stratum: str | None
    detail: dict[str, Any]


# What the audit trail records of a seed: that it was made or set, never its value.
_SEED_MADE = [FieldChange("seed", None, "made by trialkit (secret)")]
_SEED_SET = [FieldChange("seed", None, "set by a platform administrator (secret)")]


def _created(study_id: int, method: str, ctx: Context) -> list[FieldChange]:
    """The first entries of a study's allocation state: whose it is, how and by whom made."""
    return [
        FieldChange("study_id", None, study_id),
        FieldChange("method", None, method),
        FieldChange("created_by", None, ctx.actor),
        FieldChange("created_at", None, ctx.as_of),
    ]


def allocates(study_def: Study) -> str | None:
    """The study's allocation method, or None when arms are chosen (a single arm, say)."""
    design = study_def.design
    if design.randomisation is not None:
        return design.randomisation.method
    if design.cohorts is not None:
        return "sequential_cohorts"
    return None


def _state(conn: sa.Connection, study_id: int) -> Any:
    return conn.execute(
        sa.select(allocation_state).where(allocation_state.c.study_id == study_id).with_for_update()
    ).first()


def _ensure_state(conn: sa.Connection, ctx: Context, study_id: int, method: str) -> Any:
    row = _state(conn, study_id)
    if row is None:
        write(
            conn,
            ctx,
            table=allocation_state,
            action="allocation_setup",
            values={
                "study_id": study_id,
                "method": method,
                "seed": new_seed(),
                "allocated": 0,
                "created_by": ctx.actor,
                "created_at": ctx.as_of,
                "version": 1,
            },
            # The seed is secret: the audit trail records that one was made, not its value.
            changes=[*_created(study_id, method, ctx), *_SEED_MADE],
        )
        row = _state(conn, study_id)
    return row


def set_seed(db: Database, ctx: Context, study_code: str, seed: str) -> None:
    """Set the study's allocation seed before its first allocation (platform administrators)."""
    require_admin(ctx.principal, "set a study's allocation seed")
    if len(seed.strip()) < 16:
        raise ValidationFailed(
            "an allocation seed needs at least 16 characters",
            code="ALLOC.E050",
            errors={"seed": ["at least 16 characters; `trialkit.allocation.new_seed()` makes one"]},
        )
    with db.write() as conn:
        ref = studies.protocol(conn, study_code)
        method = allocates(ref.study)
        if method is None or method == "sequential_cohorts":
            raise ValidationFailed(
                f"study {study_code} is not randomised: it has no seed",
                code="ALLOC.E051",
            )
        row = _state(conn, ref.study_id)
        if row is not None and row.allocated:
            raise ConflictError(
                f"study {study_code} has allocated {row.allocated} participant(s); its seed "
                "can no longer change",
                code="ALLOC.E052",
            )
        values = {"method": method, "seed": seed.strip(), "created_by": ctx.actor}
        if row is None:
            write(
                conn,
                ctx,
                table=allocation_state,
                action="allocation_setup",
                values={
                    **values,
                    "study_id": ref.study_id,
                    "allocated": 0,
                    "created_at": ctx.as_of,
                    "version": 1,
                },
                changes=[*_created(ref.study_id, method, ctx), *_SEED_SET],
            )
        else:
            write(
                conn,
                ctx,
                table=allocation_state,
                row_id=int(row.id),
                action="allocation_seed",
                values={**values, "version": int(row.version) + 1},
                changes=[
                    *(
                        FieldChange(k, row._mapping[k], values[k])
                        for k in ("method", "created_by")
                        if row._mapping[k] != values[k]
                    ),
                    *_SEED_SET,
                ],
            )


def _history(conn: sa.Connection, study_id: int) -> list[Assignment]:
    rows = conn.execute(
        sa.select(allocation.c.arm, allocation.c.factors, allocation.c.seq)
        .where(allocation.c.study_id == study_id)
        .order_by(allocation.c.seq)
    ).all()
    return [Assignment(r.arm, canonical.loads(r.factors) or {}, int(r.seq)) for r in rows]


def _cohort_inputs(
    conn: sa.Connection, study_id: int, study_def: Study
) -> tuple[dict[str, int], dict[str, list[date | None]], set[str], set[str]]:
    assert study_def.design.cohorts is not None
    order = study_def.design.cohorts.order
    last_event = study_def.timeline.dosing[-1].id if study_def.timeline.dosing else None
    people = conn.execute(
        sa.select(participant.c.id, participant.c.arm).where(
            participant.c.study_id == study_id, participant.c.arm.in_(order)
        )
    ).all()
    given: dict[int, date] = {}
    if last_event is not None and people:
        for r in conn.execute(
            sa.select(dose_record.c.participant_id, dose_record.c.given_at).where(
                dose_record.c.participant_id.in_([p.id for p in people]),
                dose_record.c.dosing_event_id == last_event,
            )
        ):
            given[int(r.participant_id)] = r.given_at.date()
    allocated: dict[str, int] = {}
    last: dict[str, list[date | None]] = {}
    for p in people:
        allocated[p.arm] = allocated.get(p.arm, 0) + 1
        last.setdefault(p.arm, []).append(given.get(int(p.id)))
    opened = set(
        conn.execute(
            sa.select(safety_decision.c.target).where(
                safety_decision.c.study_id == study_id, safety_decision.c.kind == "open_cohort"
            )
        ).scalars()
    )
    return allocated, last, opened, safety.paused_arms(conn, study_id)


def assign(
    conn: sa.Connection,
    ctx: Context,
    *,
    study_id: int,
    study_def: Study,
    protocol_version: str,
    participant_id: int,
    site_code: str,
    chosen: str | None,
    override: str | None,
) -> AllocationResult:
    """Allocate one participant inside the caller's write transaction (see the module doc).

    ``chosen`` is an arm given by hand: refused unless it is what the method gives, or the
    operator states ``override``.
    """
    method = allocates(study_def)
    assert method is not None
    require(ctx.principal, Permission.ALLOCATE, study_def.id, site_code)
    state = _ensure_state(conn, ctx, study_id, method)
    history = _history(conn, study_id)
    number = len(history) + 1
    levels: dict[str, str] = {}
    stratum: str | None = None
    if chosen is not None and override:
        if not ctx.principal.operator:
            raise AccessDenied(
                f"study {study_def.id} allocates by {method}; an arm cannot be chosen by hand",
                code="ALLOC.E053",
                hint="enrol without an arm: the study's method allocates one",
            )
        arm, detail = chosen, {"method": "manual", "override": override, "number": number}
    elif method == "sequential_cohorts":
        assert study_def.design.cohorts is not None
        allocated, last, opened, paused = _cohort_inputs(conn, study_id, study_def)
        joined = require_cohort(
            study_def.design.cohorts, allocated, last, opened, paused, ctx.as_of.date()
        )
        arm, detail = joined.arm, {**joined.detail, "number": number}
    else:
        spec = study_def.design.randomisation
        assert spec is not None
        values = screening_values(conn, participant_id, study_def) or {}
        candidate = candidate_from_values(spec, values, site_code)
        decision = allocate(
            spec, [a.id for a in study_def.arms], str(state.seed), history, candidate
        )
        arm, detail, stratum = decision.arm, dict(decision.detail), decision.stratum
        levels = dict(candidate.levels)
    if chosen is not None and not override and chosen != arm:
        raise TransitionError(
            f"study {study_def.id} allocates by {method}; the arm is not chosen by hand",
            code="ALLOC.E054",
            hint="enrol without an arm: the method allocates one",
        )
    write(
        conn,
        ctx,
        table=allocation,
        action="allocate",
        values={
            "study_id": study_id,
            "participant_id": participant_id,
            "seq": number,
            "arm": arm,
            "method": str(detail.get("method", method)),
            "stratum": stratum,
            "factors": canonical.dumps(levels),
            "detail": canonical.dumps(detail),
            "allocated_by": ctx.actor,
            "allocated_at": ctx.as_of,
        },
        json_columns=("factors", "detail"),
        reason=override,
        protocol_version=protocol_version,
    )
    write(
        conn,
        ctx,
        table=allocation_state,
        row_id=int(state.id),
        action="allocation_count",
        values={"allocated": number},
        expected_version=int(state.version),
    )
    return AllocationResult(arm, number, str(detail.get("method", method)), stratum, detail)


def cohorts(db: Database, ctx: Context, study_code: str) -> list[CohortStatus]:
    """Each dose cohort's state today (``ctx.as_of``): open, full, awaiting review, review due,
    opened; with the earliest review date."""
    require(ctx.principal, Permission.READ, study_code, None)
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)
        spec = ref.study.design.cohorts
        if spec is None:
            raise ValidationFailed(
                f"study {study_code} has no sequential cohorts", code="ALLOC.E055"
            )
        allocated, last, opened, paused = _cohort_inputs(conn, ref.study_id, ref.study)
        return cohort_status(spec, allocated, last, opened, paused, ctx.as_of.date())


def open_cohort(db: Database, ctx: Context, study_code: str, arm: str, reason: str) -> None:
    """The safety board opens the next dose cohort after reviewing the previous one.

    Refused unless ``arm`` is the next cohort and the previous one's review is due (all dosed,
    ``review_after_days`` passed); recorded with the cohorts' state the board decided on.
    """
    require(ctx.principal, Permission.SAFETY_DECISION, study_code, None)
    if not reason.strip():
        raise ValidationFailed(
            "opening a cohort needs the board's decision in words",
            code="ALLOC.E056",
            errors={"reason": ["state the review's conclusion"]},
        )
    with db.write() as conn:
        ref = studies.protocol(conn, study_code)
        spec = ref.study.design.cohorts
        if spec is None:
            raise ValidationFailed(
                f"study {study_code} has no sequential cohorts", code="ALLOC.E055"
            )
        locks.ensure_unlocked(conn, ref.study_id)  # a locked study takes no more decisions
        allocated, last, opened, paused = _cohort_inputs(conn, ref.study_id, ref.study)
        status = cohort_status(spec, allocated, last, opened, paused, ctx.as_of.date())
        target = next((s for s in status if s.arm == arm), None)
        if target is None:
            raise ValidationFailed(
                f"arm {arm!r} is not a cohort of study {study_code}",
                code="ALLOC.E057",
                hint="cohorts: " + ", ".join(spec.order),
            )
        if arm in opened or target.position == 1:
            raise ConflictError(f"cohort {arm} is open already", code="ALLOC.E058")
        prev = status[target.position - 2]
        if prev.review_from is None or ctx.as_of.date() < prev.review_from:
            when = (
                f"on {prev.review_from.isoformat()}"
                if prev.review_from
                else "once all its participants are dosed"
            )
            raise TransitionError(
                f"cohort {arm} cannot open yet: cohort {prev.arm}'s review is due {when} "
                f"({prev.allocated} of {prev.size} allocated, {prev.dosed} dosed)",
                code="ALLOC.E059",
                hint=f"{spec.review} ({spec.review_after_days} days after the last dose)",
            )
        if prev.arm in paused:
            raise TransitionError(
                f"cohort {prev.arm} is paused by a stopping rule; lift the pause first",
                code="ALLOC.E060",
            )
        write(
            conn,
            ctx,
            table=safety_decision,
            action="safety_decision",
            values={
                "study_id": ref.study_id,
                "kind": "open_cohort",
                "target": arm,
                "pause_id": None,
                "text": reason.strip(),
                "data": canonical.dumps(
                    {
                        "cohorts": [
                            {
                                "arm": s.arm,
                                "state": s.state.value,
                                "allocated": s.allocated,
                                "dosed": s.dosed,
                                "last_dose": s.last_dose,
                                "review_from": s.review_from,
                            }
                            for s in status
                        ]
                    }
                ),
                "decided_by": ctx.actor,
                "decided_at": ctx.as_of,
            },
            json_columns=("data",),
            reason=reason.strip(),
            protocol_version=ref.version,
        )
