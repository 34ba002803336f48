"""Participants' calendars on the database: visits done or missed, unscheduled visits, forms
expected / entered / not required / missed at each visit, and overdue visits on any date.

The calendar is planned by :mod:`trialkit.schedule` from the participant's current anchors. A
visit done or missed keeps the window it was planned with when it was recorded, so moving an
anchor later re-plans only what is still to come; the past stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from trialkit.errors import ConflictError, NotFound, ValidationFailed
from trialkit.schedule import PlannedDose, PlannedVisit, VisitState, plan_doses, plan_visits
from trialkit.schedule import visit_state as _state
from trialkit.services import lookups, studies
from trialkit.services.access import Permission, visible_sites
from trialkit.services.anchors import current_anchors
from trialkit.services.context import Context
from trialkit.services.doses import blinded_deviations
from trialkit.services.lifecycle import Status
from trialkit.services.locks import ensure_unlocked
from trialkit.services.records import write
from trialkit.store import Database, canonical
from trialkit.store.tables import (
    dose_record,
    form_instance,
    participant,
    site,
    study,
    visit_record,
)

__all__ = [
    "ACTIVE",
    "Calendar",
    "CalendarVisit",
    "OverdueVisit",
    "calendar",
    "miss_visit",
    "overdue",
    "record_visit",
    "unscheduled_visit",
]

#: Participants whose visits are expected.
ACTIVE = (Status.CONSENTED, Status.ENROLLED, Status.ON_STUDY)


@dataclass(frozen=True)
class CalendarVisit:
    key: str
    name: str
    target: date | None
    earliest: date | None
    latest: date | None
    state: VisitState
    on_date: date | None
    forms: dict[str, str]  # form id -> expected | entered | not_required | missed


@dataclass(frozen=True)
class Calendar:
    participant: str
    status: Status
    visits: list[CalendarVisit]
    doses: list[PlannedDose]
    given: dict[str, Any]  # dosing event id -> {"given_at", "kit", "deviations"}


def _planned_json(pv: PlannedVisit) -> str:
    return canonical.dumps({"target": pv.target, "earliest": pv.earliest, "latest": pv.latest})


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _build(
    conn: sa.Connection, p: lookups.Participant, as_of: date, *, blind: bool = False
) -> Calendar:
    ref = studies.protocol_by_id(conn, p.protocol_version_id)
    anchors = current_anchors(conn, p.id)
    records = {
        r.visit_key: r
        for r in conn.execute(sa.select(visit_record).where(visit_record.c.participant_id == p.id))
    }
    forms: dict[tuple[str, str], str] = {}
    for r in conn.execute(
        sa.select(form_instance.c.visit_key, form_instance.c.form_id, form_instance.c.status).where(
            form_instance.c.participant_id == p.id
        )
    ):
        forms[(r.visit_key, r.form_id)] = r.status
    visits: list[CalendarVisit] = []
    for pv in plan_visits(ref.study, anchors):
        rec = records.get(pv.id)
        target, earliest, latest = pv.target, pv.earliest, pv.latest
        on = None
        if rec is not None:
            kept = canonical.loads(rec.planned)
            target, earliest, latest = (
                _day(kept["target"]),
                _day(kept["earliest"]),
                _day(kept["latest"]),
            )
            on = rec.on_date
            state = _state(
                PlannedVisit(pv.visit, target, earliest, latest, True),
                as_of,
                done_on=on if rec.status == "done" else None,
                missed=rec.status == "missed",
            )
        else:
            state = _state(pv, as_of)
            if state is VisitState.OVERDUE and p.status not in ACTIVE:
                state = VisitState.NOT_PLANNED
        visits.append(
            CalendarVisit(
                pv.id,
                pv.visit.name,
                target,
                earliest,
                latest,
                state,
                on,
                {f: _form_state(forms.get((pv.id, f)), state) for f in pv.visit.forms},
            )
        )
    for key, rec in sorted(records.items()):
        if rec.unscheduled_seq is None:
            continue
        visits.append(
            CalendarVisit(
                key,
                f"Unscheduled visit {rec.unscheduled_seq}",
                rec.on_date,
                rec.on_date,
                rec.on_date,
                VisitState.DONE,
                rec.on_date,
                {f: status for (k, f), status in forms.items() if k == key},
            )
        )
    given = {
        r.dosing_event_id: {
            "given_at": r.given_at,
            "kit": next(iter(canonical.loads(r.vials)), None),
            "deviations": blinded_deviations(canonical.loads(r.deviations), blind),
        }
        for r in conn.execute(sa.select(dose_record).where(dose_record.c.participant_id == p.id))
    }
    return Calendar(p.code, p.status, visits, plan_doses(ref.study, anchors), given)


def _form_state(stored: str | None, visit: VisitState) -> str:
    if stored == "entered":
        return "entered"
    if stored == "not_required":
        return "not_required"
    if visit in (VisitState.MISSED, VisitState.OVERDUE):
        return "missed"
    return "expected"


def calendar(db: Database, ctx: Context, study_code: str, code: str, as_of: date) -> Calendar:
    """The participant's calendar as it stands on ``as_of``."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.READ)
        blind = p.arm is not None and lookups.shown(conn, ctx, p).arm is None
        return _build(conn, p, as_of, blind=blind)


def _visit(conn: sa.Connection, p: lookups.Participant, visit_id: str) -> PlannedVisit:
    ref = studies.protocol_by_id(conn, p.protocol_version_id)
    for pv in plan_visits(ref.study, current_anchors(conn, p.id)):
        if pv.id == visit_id:
            return pv
    raise NotFound(
        f"study {study_code_of(ref)}: no visit {visit_id!r}",
        code="SCHED.E201",
        hint="visits: " + ", ".join(v.id for v in ref.study.timeline.visits),
    )


def study_code_of(ref: studies.ProtocolRef) -> str:
    return ref.study.id


def _record(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    visit_id: str,
    status: str,
    on: date | None,
    reason: str | None,
) -> CalendarVisit:
    with db.write() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.WRITE)
        ensure_unlocked(conn, None, p.id)
        pv = _visit(conn, p, visit_id)
        if status == "done" and pv.target is None:
            raise ValidationFailed(
                f"visit {visit_id} cannot be done yet: its anchor {pv.visit.anchor} has no date",
                code="SCHED.E202",
                hint="record the event that sets the anchor (consent or the dose) first",
            )
        taken = conn.execute(
            sa.select(visit_record.c.status).where(
                visit_record.c.participant_id == p.id, visit_record.c.visit_key == visit_id
            )
        ).scalar()
        if taken is not None:
            raise ConflictError(
                f"visit {visit_id} is already recorded as {taken}", code="SCHED.E203"
            )
        write(
            conn,
            ctx,
            table=visit_record,
            action=status,
            values={
                "participant_id": p.id,
                "visit_key": visit_id,
                "visit_id": visit_id,
                "unscheduled_seq": None,
                "status": status,
                "on_date": on,
                "planned": _planned_json(pv),
                "reason": reason,
                "protocol_version_id": p.protocol_version_id,
                "recorded_at": ctx.as_of,
            },
            json_columns=("planned",),
            reason=reason,
            protocol_version=p.protocol_version,
        )
        cal = _build(conn, p, ctx.as_of.date())
        return next(v for v in cal.visits if v.key == visit_id)


def record_visit(
    db: Database, ctx: Context, study_code: str, code: str, visit_id: str, on: date
) -> CalendarVisit:
    """Record that a scheduled visit took place on ``on`` (inside its window or not)."""
    return _record(db, ctx, study_code, code, visit_id, "done", on, None)


def miss_visit(
    db: Database, ctx: Context, study_code: str, code: str, visit_id: str, reason: str
) -> CalendarVisit:
    """Declare a scheduled visit missed, with the reason."""
    if not reason.strip():
        raise ValidationFailed("a missed visit needs a reason", code="SCHED.E204")
    return _record(db, ctx, study_code, code, visit_id, "missed", None, reason)


def unscheduled_visit(
    db: Database, ctx: Context, study_code: str, code: str, on: date, reason: str
) -> str:
    """Record an unscheduled visit, with the reason for it; returns its key (``UNS-001``...)
    for entering its forms."""
    if not reason.strip():
        raise ValidationFailed(
            "an unscheduled visit needs its reason",
            code="SCHED.E206",
            errors={"reason": ["say why the participant came (e.g. a rash to review)"]},
        )
    with db.write() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.WRITE)
        ensure_unlocked(conn, None, p.id)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        if not ref.study.timeline.unscheduled.allowed:
            raise ValidationFailed(
                f"study {study_code} does not allow unscheduled visits", code="SCHED.E205"
            )
        seq = (
            conn.execute(
                sa.select(sa.func.max(visit_record.c.unscheduled_seq)).where(
                    visit_record.c.participant_id == p.id
                )
            ).scalar()
            or 0
        ) + 1
        key = f"UNS-{seq:03d}"
        write(
            conn,
            ctx,
            table=visit_record,
            action="unscheduled",
            values={
                "participant_id": p.id,
                "visit_key": key,
                "visit_id": None,
                "unscheduled_seq": seq,
                "status": "done",
                "on_date": on,
                "planned": canonical.dumps({"target": on, "earliest": on, "latest": on}),
                "reason": reason.strip(),
                "protocol_version_id": p.protocol_version_id,
                "recorded_at": ctx.as_of,
            },
            json_columns=("planned",),
            reason=reason.strip(),
            protocol_version=p.protocol_version,
        )
        return key


@dataclass(frozen=True)
class OverdueVisit:
    participant: str
    visit: str
    latest: date
    days_overdue: int


def overdue(db: Database, ctx: Context, study_code: str, as_of: date) -> list[OverdueVisit]:
    """Visits whose window closed before ``as_of`` and that are neither done nor missed, at the
    sites ``ctx`` may read."""
    out: list[OverdueVisit] = []
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        q = (
            sa.select(participant.c.code)
            .join(study, study.c.id == participant.c.study_id)
            .join(site, site.c.id == participant.c.site_id)
            .where(
                study.c.code == study_code,
                participant.c.status.in_([s.value for s in ACTIVE]),
            )
            .order_by(participant.c.code)
        )
        if sites is not None:
            q = q.where(site.c.code.in_(sorted(sites)))
        codes = conn.execute(q).scalars().all()
        for code in codes:
            cal = _build(conn, lookups.load(conn, study_code, code), as_of)
            for v in cal.visits:
                if v.state is VisitState.OVERDUE and v.latest is not None:
                    out.append(OverdueVisit(code, v.key, v.latest, (as_of - v.latest).days))
    return out
