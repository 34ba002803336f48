"""Stopping rules on the database: evaluated on every safety-relevant change, enforced everywhere.

**When.** :func:`after_change` runs inside the transaction of every save of a form that holds
adverse events (an item group with ``ae_grade``), so a rule fires in the same transaction as the
record that reached it. It reads every adverse-event row of the study's allocated participants,
evaluates the newest protocol version's ``safety.stopping_rules`` with
:func:`trialkit.safety.evaluate`, and records each new firing as an active ``safety_pause``
row whose ``trigger`` holds the firing with the events that reached it (audited, like every
write).

**What is new.** A firing is identified by (rule, scope, target). One that already has an active
pause adds nothing. One whose pause the safety board lifted fires again only when an event has
been added since (a new key among its triggers): the board's decision covers what it saw.

**Never silently undone.** A pause stays active when the data that caused it change (a grade
corrected from 3 to 2): only a safety-board decision (:func:`lift_pause`, with its reason) lifts
it. The data changes are in the audit trail for the board to weigh.

**Enforced.** :func:`ensure_enrolment_open` is called by enrolment and allocation,
:func:`ensure_dosing_allowed` by every dose record: a refusal names the rule, its text, when it
fired and who may resume (``SAFETY.E010``/``SAFETY.E011``).

**The serious-event clock.** The same save also keeps one ``serious_report`` row per serious
adverse event (a row with ``ae_serious`` yes): its report is due ``safety.serious_report_hours``
after the site became aware of it (``ae_aware_at`` as entered, else the time the row was
recorded). :func:`serious_reports` lists them, :func:`overdue_reports` the open ones past due
(per study and site), :func:`record_serious_report` records when the report was made. A row
corrected to not serious withdraws its open clock; a corrected awareness time moves its due time
(both audited).

Participant codes are stored in the audited ``trigger`` record; nothing here writes to a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from trialkit.errors import ConflictError, NotFound, TransitionError, ValidationFailed
from trialkit.protocol import Form, Study
from trialkit.safety import Firing, SafetyEvent, evaluate, event_from_values, what_is_paused
from trialkit.services import locks, studies
from trialkit.services.access import Permission, require, sees_allocation, visible_sites
from trialkit.services.context import Context, naive
from trialkit.services.grades import (
    BASELINE_VISIT,
    RowGrade,
    effective_grade,
    grade_row,
    visit_values,
)
from trialkit.services.records import write
from trialkit.services.values import typed
from trialkit.store import Database, canonical
from trialkit.store.tables import (
    ae_grade,
    form_instance,
    participant,
    safety_decision,
    safety_pause,
    serious_report,
    site,
    study,
)

__all__ = [
    "AE_AWARE",
    "AE_MARKER",
    "PauseRecord",
    "SafetyStatus",
    "SeriousReport",
    "active_pauses",
    "ae_form_ids",
    "after_change",
    "ensure_dosing_allowed",
    "ensure_enrolment_open",
    "evaluate_study",
    "group_rows",
    "lift_pause",
    "overdue_reports",
    "pause_record",
    "paused_arms",
    "record_serious_report",
    "safety_status",
    "serious_reports",
    "site_pause_record",
    "study_events",
]

#: The item that marks an item group as an adverse-event record.
AE_MARKER = "ae_grade"
#: The item holding when the site became aware of a serious adverse event.
AE_AWARE = "ae_aware_at"


def _is_ae_form(form: Form) -> bool:
    return any(AE_MARKER in {i.name for i in g.items} for g in form.groups)


def ae_form_ids(study_def: Study) -> frozenset[str]:
    """The ids of the study's forms that hold adverse events."""
    return frozenset(f.id for f in study_def.forms if _is_ae_form(f))


def group_rows(content: Any) -> list[tuple[int | None, dict[str, Any]]]:
    """(row number, row) of a stored item group: numbered rows of a repeating group, or the one
    unnumbered row of a plain group."""
    if isinstance(content, list):
        return [(i, r) for i, r in enumerate(content, start=1) if isinstance(r, dict)]
    return [(None, content)] if isinstance(content, dict) else []


@dataclass(frozen=True)
class _AeRow:
    key: str
    form_instance_id: int
    participant_id: int
    participant: str
    arm: str | None
    visit: str
    updated_at: datetime
    path: str
    values: dict[str, Any]
    grade: RowGrade


def _ae_rows(conn: sa.Connection, study_id: int, study_def: Study) -> list[_AeRow]:
    """Every adverse-event row of the study's participants with its grades
    (:mod:`trialkit.services.grades`)."""
    forms = sorted(ae_form_ids(study_def))
    if not forms:
        return []
    rows = conn.execute(
        sa.select(
            form_instance.c.id,
            form_instance.c.data,
            form_instance.c.visit_key,
            form_instance.c.updated_at,
            form_instance.c.participant_id,
            participant.c.code,
            participant.c.arm,
        )
        .join(participant, participant.c.id == form_instance.c.participant_id)
        .where(
            participant.c.study_id == study_id,
            form_instance.c.status == "entered",
            form_instance.c.form_id.in_(forms),
        )
        .order_by(form_instance.c.id)
    ).all()
    ae_groups = {
        g.id for f in study_def.forms for g in f.groups if AE_MARKER in {i.name for i in g.items}
    }
    measured = visit_values(conn, sorted({int(r.participant_id) for r in rows}))
    out: list[_AeRow] = []
    for r in rows:
        pid = int(r.participant_id)
        at_visit = measured.get((pid, r.visit_key), {})
        baseline = measured.get((pid, BASELINE_VISIT), {})
        sex = measured.get((pid, BASELINE_VISIT), {}).get("sex")
        for group, content in sorted((canonical.loads(r.data) or {}).items()):
            for row_no, row in group_rows(content):
                if group not in ae_groups:
                    continue
                values = {k: typed(v) for k, v in row.items() if isinstance(v, dict)}
                suffix = "" if row_no is None else f"/{row_no}"
                out.append(
                    _AeRow(
                        f"form_instance:{r.id}/{group}{suffix}",
                        int(r.id),
                        pid,
                        r.code,
                        r.arm,
                        r.visit_key,
                        r.updated_at,
                        group if row_no is None else f"{group}[{row_no}]",
                        values,
                        grade_row(study_def, values, at_visit, baseline, sex),
                    )
                )
    return out


def study_events(conn: sa.Connection, study_id: int, study_def: Study) -> list[SafetyEvent]:
    """Every adverse-event row of the study's allocated participants, as safety events.

    Keys are ``form_instance:<id>/<group>[/<row>]``. The grade counted is the row's effective
    grade: computed from the measured values, or the investigator's (overriding) grade
    (:mod:`trialkit.services.grades`). Rows without an effective grade are not countable and
    left out (:func:`trialkit.safety.event_from_values`).
    """
    events: list[SafetyEvent] = []
    for row in _ae_rows(conn, study_id, study_def):
        if row.arm is None:
            continue
        values = {**row.values, AE_MARKER: effective_grade(row.grade)}
        event = event_from_values(row.key, row.participant, row.arm, values)
        if event is not None:
            events.append(event)
    return events


def _sync_grades(conn: sa.Connection, ctx: Context, study_id: int) -> None:
    """Keep the audited ``ae_grade`` rows in step; refuse the save that just wrote a row whose
    grade is invalid (an override without its reason, no grade at all)."""
    code = conn.execute(sa.select(study.c.code).where(study.c.id == study_id)).scalar_one()
    newest = studies.protocol(conn, code)
    rows = _ae_rows(conn, study_id, newest.study)
    problems = {
        f"{r.path}/ae_grade": [r.grade.problem]
        for r in rows
        if r.grade.problem is not None and r.updated_at == ctx.as_of
    }
    if problems:
        raise ValidationFailed(
            f"{len(problems)} adverse event(s) without a valid grade; nothing was saved",
            code="SAFETY.E040",
            errors={k: [m for m in v if m] for k, v in problems.items()},
            hint="leave ae_grade empty to take the computed grade, or give ae_grade_reason",
        )
    known = {
        r.event_key: r
        for r in conn.execute(sa.select(ae_grade).where(ae_grade.c.study_id == study_id))
    }
    for r in rows:
        g = r.grade
        values = {
            "visit_key": r.visit,
            "term": g.term,
            "computed": g.computed,
            "computed_why": g.why,
            "inputs": canonical.dumps(g.inputs),
            "entered": g.entered,
            "reason": g.reason,
            "effective": g.effective,
        }
        old = known.get(r.key)
        if old is None:
            write(
                conn,
                ctx,
                table=ae_grade,
                action="ae_grade",
                values={
                    **values,
                    "study_id": study_id,
                    "participant_id": r.participant_id,
                    "event_key": r.key,
                    "updated_at": ctx.as_of,
                    "version": 1,
                },
                json_columns=("inputs",),
                protocol_version=newest.version,
            )
            continue
        changed = {k: v for k, v in values.items() if getattr(old, k) != v}
        if changed:
            write(
                conn,
                ctx,
                table=ae_grade,
                row_id=int(old.id),
                action="ae_grade_change",
                values={**changed, "updated_at": ctx.as_of},
                json_columns=("inputs",) if "inputs" in changed else (),
                expected_version=int(old.version),
                protocol_version=newest.version,
                reason=g.reason or "the adverse event or its measured values changed",
            )


def _pauses(firing: Firing) -> dict[str, Any]:
    p = what_is_paused([firing])
    return {
        "enrolment": p.enrolment_paused,
        "dosing": p.dosing_paused,
        "arms": sorted(p.arms),
        "participants": sorted(p.participants),
    }


def evaluate_study(conn: sa.Connection, study_id: int) -> list[Firing]:
    """The firings of the study's newest protocol version's rules over its events now."""
    return _evaluate(conn, study_id)[0]


def _evaluate(conn: sa.Connection, study_id: int) -> tuple[list[Firing], str]:
    """(firings, newest protocol version) of the study."""
    code = conn.execute(sa.select(study.c.code).where(study.c.id == study_id)).scalar_one()
    newest = studies.protocol(conn, code)
    rules = newest.study.safety.stopping_rules
    if not rules:
        return [], newest.version
    return evaluate(rules, study_events(conn, study_id, newest.study)), newest.version


def after_change(conn: sa.Connection, ctx: Context, study_id: int) -> list[int]:
    """Re-evaluate the study's stopping rules and record new firings (returns the new pause
    ids); keep the serious-event clocks in step with the adverse-event rows."""
    _sync_grades(conn, ctx, study_id)
    _serious_clocks(conn, ctx, study_id)
    firings, version = _evaluate(conn, study_id)
    if not firings:
        return []
    known: dict[tuple[str, str, str | None], list[Any]] = {}
    for row in conn.execute(
        sa.select(safety_pause)
        .where(safety_pause.c.study_id == study_id)
        .order_by(safety_pause.c.id)
    ):
        known.setdefault((row.rule_id, row.scope, row.target), []).append(row)
    created: list[int] = []
    for firing in firings:
        previous = known.get(firing.identity, [])
        if any(p.status == "active" for p in previous):
            continue
        if previous:
            seen = set(canonical.loads(previous[-1].trigger).get("event_keys", []))
            if set(firing.event_keys) <= seen:
                continue  # the board lifted this pause having seen these very events
        record = {
            **firing.record(),
            "event_keys": list(firing.event_keys),
            "pauses": _pauses(firing),
        }
        created.append(
            write(
                conn,
                ctx,
                table=safety_pause,
                action="stopping_rule_fired",
                values={
                    "study_id": study_id,
                    "rule_id": firing.rule_id,
                    "action": firing.action,
                    "scope": firing.scope,
                    "target": firing.target,
                    "trigger": canonical.dumps(record),
                    "fired_at": ctx.as_of,
                    "status": "active",
                    "lifted_by": None,
                    "lifted_at": None,
                    "lift_reason": None,
                },
                json_columns=("trigger",),
                protocol_version=version,
            )
        )
    return created


def _active(conn: sa.Connection, study_id: int) -> list[tuple[Any, dict[str, Any]]]:
    """The study's active pauses, each with what it pauses (parsed once)."""
    rows = conn.execute(
        sa.select(safety_pause)
        .where(safety_pause.c.study_id == study_id, safety_pause.c.status == "active")
        .order_by(safety_pause.c.id)
    )
    return [(row, canonical.loads(row.trigger).get("pauses", {})) for row in rows]


def paused_arms(conn: sa.Connection, study_id: int) -> set[str]:
    """The arms an active pause stops (enrolment into them and dosing in them)."""
    return {arm for _, pauses in _active(conn, study_id) for arm in pauses.get("arms", [])}


def _refusal(rows: Sequence[Any], what: str, code: str) -> TransitionError:
    parts = []
    for row in rows:
        record = canonical.loads(row.trigger)
        parts.append(
            f"stopping rule {row.rule_id} fired on {row.fired_at:%Y-%m-%d %H:%M} "
            f"({record.get('text', '')}); resumed by {record.get('resumed_by', 'the board')}"
        )
    return TransitionError(
        f"{what} is paused: " + "; ".join(parts),
        code=code,
        hint="the safety board reviews the events and lifts the pause (`lift_pause`) if it "
        "decides to resume",
    )


def ensure_enrolment_open(
    conn: sa.Connection, study_id: int, arm: str | None, *, name_arm: bool = True
) -> None:
    """Refuse enrolment (into ``arm``) while a stopping rule pauses it; ``name_arm`` False keeps
    the arm out of the message (a masked study)."""
    blocking = [
        row
        for row, pauses in _active(conn, study_id)
        if pauses.get("enrolment") or (arm is not None and arm in pauses.get("arms", []))
    ]
    if blocking:
        arm_paused = arm is not None and arm in paused_arms(conn, study_id)
        what = (
            "enrolment"
            if not arm_paused
            else f"enrolment into arm {arm}"
            if name_arm
            else "enrolment into the allocated arm"
        )
        raise _refusal(blocking, what, "SAFETY.E010")


def ensure_dosing_allowed(
    conn: sa.Connection,
    study_id: int,
    participant_code: str,
    arm: str | None,
    *,
    blind: bool = False,
) -> None:
    """Refuse a dose while a stopping rule pauses dosing in the study, the arm or for the
    participant. ``blind`` (a blinded caller of a masked study): the refusal names no rule, so
    that whether an arm's rule or another one holds the dose back is not told."""
    blocking = [
        row
        for row, pauses in _active(conn, study_id)
        if pauses.get("dosing")
        or (arm is not None and arm in pauses.get("arms", []))
        or participant_code in pauses.get("participants", [])
    ]
    if blocking and blind:
        raise TransitionError(
            "dosing of this participant is paused by the study's stopping rules",
            code="SAFETY.E011",
            hint="the safety board reviews the events and decides whether to resume",
        )
    if blocking:
        raise _refusal(blocking, "dosing of this participant", "SAFETY.E011")


@dataclass(frozen=True)
class PauseRecord:
    """A stopping rule's firing as stored; ``trigger`` is hidden in part from blinded readers."""

    id: int
    rule_id: str
    action: str
    scope: str
    target: str | None
    status: str
    fired_at: datetime
    trigger: dict[str, Any]
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None


@dataclass(frozen=True)
class SafetyStatus:
    enrolment_paused: bool
    dosing_paused: bool
    paused_arms: tuple[str, ...]
    stopped_participants: tuple[str, ...]
    pauses: tuple[PauseRecord, ...]
    decisions: tuple[dict[str, Any], ...]


def _study_id(conn: sa.Connection, study_code: str) -> int:
    return studies.protocol(conn, study_code).study_id


def _blind(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` without arms, for a blinded reader of a masked study.

    The events of an arm-scoped firing all come from one arm, so their participants are left
    out too (listing them would tell the reader who shares an arm)."""
    pauses = dict(record.get("pauses", {}))
    if pauses.get("arms"):
        pauses["arms"] = ["(blinded)"]
    arm_scope = record.get("scope") == "arm"
    events = [
        {**e, "arm": None, **({"participant": None} if arm_scope else {})}
        for e in record.get("events", [])
    ]
    target = None if arm_scope else record.get("target")
    return {**record, "events": events, "pauses": pauses, "target": target}


def _blind_decision(decision: dict[str, Any]) -> dict[str, Any]:
    """A safety decision without arms: the trigger it saw blinded, an arm target hidden."""
    data = dict(decision.get("data") or {})
    trigger = data.get("trigger")
    if isinstance(trigger, dict):
        data["trigger"] = _blind(trigger)
    arm_scope = isinstance(trigger, dict) and trigger.get("scope") == "arm"
    return {**decision, "data": data, "target": None if arm_scope else decision.get("target")}


def pause_record(row: Any, blind: bool) -> PauseRecord:
    """A stored ``safety_pause`` row as a reader sees it (``blind``: a blinded reader of a
    masked study, who sees no arm: an arm-scoped pause names no target)."""
    trigger = canonical.loads(row.trigger)
    return PauseRecord(
        int(row.id),
        row.rule_id,
        row.action,
        row.scope,
        None if blind and row.scope == "arm" else row.target,
        row.status,
        row.fired_at,
        _blind(trigger) if blind else trigger,
        row.lifted_by,
        row.lifted_at,
        row.lift_reason,
    )


def site_pause_record(
    conn: sa.Connection, row: Any, blind: bool, sites: frozenset[str] | None
) -> PauseRecord | None:
    """A pause as a reader at ``sites`` (None: every site) sees it on a participant's pages:
    the rule, its text and what it pauses, the participants stopped only those at ``sites``,
    the events that reached it left out (they belong to other sites' participants too); None
    when nothing of it concerns ``sites`` (another site's participant's own stop)."""
    trigger = canonical.loads(row.trigger)
    pauses = dict(trigger.get("pauses", {}))
    people = list(pauses.get("participants", []))
    if people and sites is not None:
        seen = conn.execute(
            sa.select(participant.c.code)
            .join(site, site.c.id == participant.c.site_id)
            .where(
                participant.c.study_id == row.study_id,
                participant.c.code.in_(people),
                site.c.code.in_(sorted(sites)),
            )
        )
        people = sorted(seen.scalars())
    pauses["participants"] = people
    if not (pauses.get("enrolment") or pauses.get("dosing") or pauses.get("arms") or people):
        return None
    kept = {
        k: trigger[k] for k in ("rule", "text", "action", "scope", "resumed_by") if k in trigger
    }
    kept["pauses"] = pauses
    target = row.target
    if (row.scope == "participant" and target not in people) or (blind and row.scope == "arm"):
        target = None
    kept["target"] = target
    return PauseRecord(
        int(row.id),
        row.rule_id,
        row.action,
        row.scope,
        target,
        row.status,
        row.fired_at,
        _blind(kept) if blind else kept,
        row.lifted_by,
        row.lifted_at,
        row.lift_reason,
    )


def active_pauses(
    db: Database, ctx: Context, study_code: str, site_code: str
) -> tuple[PauseRecord, ...]:
    """What the stopping rules pause now, as it concerns a reader at ``site_code`` (READ
    there): enrolment, dosing, the dose groups (no arm for a blinded reader of a masked
    study) and the participants of the user's sites whose dosing is stopped; see
    :func:`site_pause_record`."""
    require(ctx.principal, Permission.READ, study_code, site_code)
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)
        masked = ref.study.design.masking.level != "none"
        blind = not sees_allocation(ctx.principal, study_code, masked, site_code)
        rows = list(
            conn.execute(
                sa.select(safety_pause)
                .where(safety_pause.c.study_id == ref.study_id, safety_pause.c.status == "active")
                .order_by(safety_pause.c.id)
            )
        )
        shown = [site_pause_record(conn, row, blind, sites) for row in rows]
    return tuple(r for r in shown if r is not None)


def safety_status(db: Database, ctx: Context, study_code: str) -> SafetyStatus:
    """What is paused now, every firing, and the safety decisions taken.

    Blinded readers of a masked study see no arm (a paused arm shows as ``(blinded)``, the
    triggers and the decisions' data without arms, an arm-scoped firing's events without their
    participants); participant codes appear only for readers of every site.
    """
    require(ctx.principal, Permission.READ, study_code, None)
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)
        masked = ref.study.design.masking.level != "none"
        blind = not sees_allocation(ctx.principal, study_code, masked, None)
        rows = list(
            conn.execute(
                sa.select(safety_pause)
                .where(safety_pause.c.study_id == ref.study_id)
                .order_by(safety_pause.c.id)
            )
        )
        decisions = [
            {**dict(d._mapping), "data": canonical.loads(d.data)}
            for d in conn.execute(
                sa.select(safety_decision)
                .where(safety_decision.c.study_id == ref.study_id)
                .order_by(safety_decision.c.id)
            )
        ]
    records = []
    enrolment = dosing = False
    arms: set[str] = set()
    people: set[str] = set()
    for row in rows:
        trigger = canonical.loads(row.trigger)
        if row.status == "active":
            pauses = trigger.get("pauses", {})
            enrolment |= bool(pauses.get("enrolment"))
            dosing |= bool(pauses.get("dosing"))
            arms.update(pauses.get("arms", []))
            people.update(pauses.get("participants", []))
        records.append(pause_record(row, blind))
    return SafetyStatus(
        enrolment,
        dosing,
        ("(blinded)",) if blind and arms else tuple(sorted(arms)),
        tuple(sorted(people)),
        tuple(records),
        tuple(_blind_decision(d) for d in decisions) if blind else tuple(decisions),
    )


def lift_pause(db: Database, ctx: Context, study_code: str, pause_id: int, reason: str) -> None:
    """The safety board lifts a pause, giving its decision; recorded with the data it saw."""
    require(ctx.principal, Permission.SAFETY_DECISION, study_code, None)
    if not reason.strip():
        raise ValidationFailed(
            "lifting a pause needs the board's reason",
            code="SAFETY.E020",
            errors={"reason": ["state the decision and its grounds"]},
        )
    with db.write() as conn:
        study_id = _study_id(conn, study_code)
        locks.ensure_unlocked(conn, study_id)  # a locked study takes no more decisions
        row = conn.execute(
            sa.select(safety_pause).where(
                safety_pause.c.id == pause_id, safety_pause.c.study_id == study_id
            )
        ).first()
        if row is None:
            raise NotFound(f"study {study_code}: no safety pause {pause_id}", code="SAFETY.E021")
        if row.status != "active":
            raise ConflictError(
                f"pause {pause_id} was lifted on {row.lifted_at:%Y-%m-%d} by {row.lifted_by}",
                code="SAFETY.E022",
            )
        write(
            conn,
            ctx,
            table=safety_pause,
            row_id=pause_id,
            action="lift_pause",
            values={
                "status": "lifted",
                "lifted_by": ctx.actor,
                "lifted_at": ctx.as_of,
                "lift_reason": reason.strip(),
            },
            reason=reason.strip(),
        )
        write(
            conn,
            ctx,
            table=safety_decision,
            action="safety_decision",
            values={
                "study_id": study_id,
                "kind": "lift_pause",
                "target": row.target,
                "pause_id": pause_id,
                "text": reason.strip(),
                "data": canonical.dumps(
                    {"rule": row.rule_id, "trigger": canonical.loads(row.trigger)}
                ),
                "decided_by": ctx.actor,
                "decided_at": ctx.as_of,
            },
            json_columns=("data",),
            reason=reason.strip(),
        )


# The serious-event clock.


@dataclass(frozen=True)
class SeriousReport:
    """The reporting clock of one serious adverse event.

    ``overdue``: open and past ``due_at`` at the time asked (a report due at 09:00 is not
    overdue at 09:00); ``late``: reported after ``due_at``. ``aware_source`` is ``entered``
    (``ae_aware_at`` on the form) or ``recorded`` (not entered: the time the row was saved).
    """

    id: int
    participant: str
    site: str
    event_key: str
    term: str
    aware_at: datetime
    aware_source: str
    due_at: datetime
    report_hours: int
    status: str
    reported_at: datetime | None
    reported_by: str | None
    reference: str | None
    overdue: bool
    late: bool
    version: int


def _serious_rows(
    conn: sa.Connection, study_id: int, study_def: Study
) -> dict[str, tuple[int, str, datetime | None]]:
    """event key -> (participant id, term, awareness as entered) of every serious AE row."""
    forms = sorted(ae_form_ids(study_def))
    if not forms:
        return {}
    rows = conn.execute(
        sa.select(form_instance.c.id, form_instance.c.data, form_instance.c.participant_id)
        .join(participant, participant.c.id == form_instance.c.participant_id)
        .where(
            participant.c.study_id == study_id,
            form_instance.c.status == "entered",
            form_instance.c.form_id.in_(forms),
        )
    )
    out: dict[str, tuple[int, str, datetime | None]] = {}
    for r in rows:
        for group, content in (canonical.loads(r.data) or {}).items():
            for row_no, row in group_rows(content):
                if AE_MARKER not in row:
                    continue
                serious = row.get("ae_serious")
                if not isinstance(serious, dict) or typed(serious) is not True:
                    continue
                key = f"form_instance:{r.id}/{group}" + ("" if row_no is None else f"/{row_no}")
                aware = row.get(AE_AWARE)
                aware_at = typed(aware) if isinstance(aware, dict) else None
                term = row.get("ae_term")
                out[key] = (
                    int(r.participant_id),
                    "" if not isinstance(term, dict) else str(typed(term) or ""),
                    aware_at if isinstance(aware_at, datetime) else None,
                )
    return out


def _serious_clocks(conn: sa.Connection, ctx: Context, study_id: int) -> None:
    code = conn.execute(sa.select(study.c.code).where(study.c.id == study_id)).scalar_one()
    newest = studies.protocol(conn, code)
    hours = newest.study.safety.serious_report_hours
    found = _serious_rows(conn, study_id, newest.study)
    known = {
        r.event_key: r
        for r in conn.execute(
            sa.select(serious_report).where(serious_report.c.study_id == study_id)
        )
    }
    for key, (participant_id, term, entered) in sorted(found.items()):
        old = known.get(key)
        if old is None:
            aware = naive(entered) if entered is not None else ctx.as_of
            write(
                conn,
                ctx,
                table=serious_report,
                action="serious_event_clock",
                values={
                    "study_id": study_id,
                    "participant_id": participant_id,
                    "event_key": key,
                    "term": term,
                    "aware_at": aware,
                    "aware_source": "entered" if entered is not None else "recorded",
                    "due_at": aware + timedelta(hours=hours),
                    "report_hours": hours,
                    "status": "open",
                    "reported_at": None,
                    "reported_by": None,
                    "reference": None,
                    "created_at": ctx.as_of,
                    "version": 1,
                },
                protocol_version=newest.version,
            )
            continue
        changes: dict[str, Any] = {}
        if old.status == "withdrawn":
            changes["status"] = "open"
        if entered is not None and naive(entered) != old.aware_at and old.status != "reported":
            changes.update(
                aware_at=naive(entered),
                aware_source="entered",
                due_at=naive(entered) + timedelta(hours=int(old.report_hours)),
            )
        if term != old.term:
            changes["term"] = term
        if changes:
            write(
                conn,
                ctx,
                table=serious_report,
                row_id=int(old.id),
                action="serious_event_clock_change",
                values=changes,
                expected_version=int(old.version),
                protocol_version=newest.version,
                reason="the adverse event's record changed",
            )
    for key, old in sorted(known.items()):
        if key not in found and old.status == "open":
            write(
                conn,
                ctx,
                table=serious_report,
                row_id=int(old.id),
                action="serious_event_clock_withdrawn",
                values={"status": "withdrawn"},
                expected_version=int(old.version),
                protocol_version=newest.version,
                reason="the adverse event is no longer recorded as serious",
            )


def _report(row: Any, as_of: datetime) -> SeriousReport:
    return SeriousReport(
        int(row.id),
        row.participant_code,
        row.site_code,
        row.event_key,
        row.term,
        row.aware_at,
        row.aware_source,
        row.due_at,
        int(row.report_hours),
        row.status,
        row.reported_at,
        row.reported_by,
        row.reference,
        row.status == "open" and as_of > row.due_at,
        row.reported_at is not None and row.reported_at > row.due_at,
        int(row.version),
    )


_REPORTS = (
    sa.select(
        serious_report,
        participant.c.code.label("participant_code"),
        site.c.code.label("site_code"),
    )
    .join(participant, participant.c.id == serious_report.c.participant_id)
    .join(site, site.c.id == participant.c.site_id)
    .join(study, study.c.id == serious_report.c.study_id)
)


def serious_reports(
    db: Database,
    ctx: Context,
    study_code: str,
    *,
    site_code: str | None = None,
    participant_code: str | None = None,
    include_withdrawn: bool = False,
) -> list[SeriousReport]:
    """The study's serious-event clocks at the sites the user may read (``site_code``: one
    site; ``participant_code``: one participant), soonest due first; ``overdue`` is judged at
    ``ctx.as_of``."""
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    if site_code is not None:
        require(ctx.principal, Permission.READ, study_code, site_code)
    with db.read() as conn:
        studies.protocol(conn, study_code)  # NotFound for an unknown study
        q = _REPORTS.where(study.c.code == study_code)
        if participant_code is not None:
            q = q.where(participant.c.code == participant_code)
        if sites is not None:
            q = q.where(site.c.code.in_(sorted(sites)))
        if site_code is not None:
            q = q.where(site.c.code == site_code)
        if not include_withdrawn:
            q = q.where(serious_report.c.status != "withdrawn")
        rows = conn.execute(q.order_by(serious_report.c.due_at, serious_report.c.id)).all()
    return [_report(r, ctx.as_of) for r in rows]


def overdue_reports(
    db: Database, ctx: Context, study_code: str, *, site_code: str | None = None
) -> list[SeriousReport]:
    """Serious-event reports still not made ``serious_report_hours`` after awareness, at
    ``ctx.as_of`` (strictly after the due time), most overdue first."""
    return [r for r in serious_reports(db, ctx, study_code, site_code=site_code) if r.overdue]


def record_serious_report(
    db: Database,
    ctx: Context,
    study_code: str,
    report_id: int,
    *,
    reported_at: datetime,
    reference: str,
) -> SeriousReport:
    """Record that the serious-event report ``report_id`` was made at ``reported_at`` (to the
    sponsor, the ethics committee, the regulator: ``reference`` says where, and its number)."""
    reported_at = naive(reported_at)
    if not reference.strip():
        raise ValidationFailed(
            "recording a serious-event report needs its reference (where it went, its number)",
            code="SAFETY.E030",
            errors={"reference": ["e.g. 'sponsor SAE form 2025-014'"]},
        )
    with db.write() as conn:
        row = conn.execute(
            _REPORTS.where(study.c.code == study_code, serious_report.c.id == report_id)
        ).first()
        if row is None:
            studies.protocol(conn, study_code)
            raise NotFound(
                f"study {study_code}: no serious-event report {report_id}",
                code="SAFETY.E031",
                hint="`trialkit safety overdue STUDY` lists the open ones",
            )
        require(ctx.principal, Permission.WRITE, study_code, row.site_code)
        locks.ensure_unlocked(conn, int(row.study_id), int(row.participant_id))
        if row.status != "open":
            raise ConflictError(
                f"serious-event report {report_id} is {row.status}"
                + (f" (reported {row.reported_at:%Y-%m-%d %H:%M})" if row.reported_at else ""),
                code="SAFETY.E032",
            )
        if reported_at > ctx.as_of:
            raise ValidationFailed(
                f"reported at {reported_at:%Y-%m-%d %H:%M} is in the future "
                f"(now {ctx.as_of:%Y-%m-%d %H:%M})",
                code="SAFETY.E033",
                errors={"reported_at": ["give the time the report was made"]},
            )
        if reported_at < row.aware_at:
            raise ValidationFailed(
                f"reported at {reported_at:%Y-%m-%d %H:%M} is before the site became aware "
                f"({row.aware_at:%Y-%m-%d %H:%M})",
                code="SAFETY.E034",
                errors={"reported_at": ["a report follows awareness; check both times"]},
            )
        write(
            conn,
            ctx,
            table=serious_report,
            row_id=report_id,
            action="serious_event_reported",
            values={
                "status": "reported",
                "reported_at": reported_at,
                "reported_by": ctx.actor,
                "reference": reference.strip(),
            },
            expected_version=int(row.version),
        )
        fresh = conn.execute(_REPORTS.where(serious_report.c.id == report_id)).one()
    return _report(fresh, ctx.as_of)
