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

Participant codes are stored in the audited ``trigger`` record; nothing here writes to a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.errors import ConflictError, NotFound, TransitionError, ValidationFailed
from trialkit.protocol import Form, Study
from trialkit.safety import Firing, SafetyEvent, evaluate, event_from_values, what_is_paused
from trialkit.services import locks, studies
from trialkit.services.access import Permission, require, sees_allocation
from trialkit.services.context import Context
from trialkit.services.records import write
from trialkit.services.values import typed
from trialkit.store import Database, canonical
from trialkit.store.tables import (
    form_instance,
    participant,
    safety_decision,
    safety_pause,
    study,
)

__all__ = [
    "AE_MARKER",
    "PauseRecord",
    "SafetyStatus",
    "ae_form_ids",
    "after_change",
    "ensure_dosing_allowed",
    "ensure_enrolment_open",
    "evaluate_study",
    "group_rows",
    "lift_pause",
    "paused_arms",
    "safety_status",
    "study_events",
]

#: The item that marks an item group as an adverse-event record.
AE_MARKER = "ae_grade"


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


def study_events(conn: sa.Connection, study_id: int, study_def: Study) -> list[SafetyEvent]:
    """Every adverse-event row of the study's allocated participants, as safety events.

    Keys are ``form_instance:<id>/<group>[/<row>]``. Rows without a grade are not countable
    and left out (:func:`trialkit.safety.event_from_values`).
    """
    forms = sorted(ae_form_ids(study_def))
    if not forms:
        return []
    rows = conn.execute(
        sa.select(
            form_instance.c.id,
            form_instance.c.data,
            participant.c.code,
            participant.c.arm,
        )
        .join(participant, participant.c.id == form_instance.c.participant_id)
        .where(
            participant.c.study_id == study_id,
            participant.c.arm.is_not(None),
            form_instance.c.status == "entered",
            form_instance.c.form_id.in_(forms),
        )
        .order_by(form_instance.c.id)
    ).all()
    events: list[SafetyEvent] = []
    for r in rows:
        for group, content in sorted((canonical.loads(r.data) or {}).items()):
            for row_no, row in group_rows(content):
                if AE_MARKER not in row:
                    continue
                values = {k: typed(v) for k, v in row.items() if isinstance(v, dict)}
                key = f"form_instance:{r.id}/{group}" + ("" if row_no is None else f"/{row_no}")
                event = event_from_values(key, r.code, r.arm, values)
                if event is not None:
                    events.append(event)
    return events


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
    """Re-evaluate the study's stopping rules; record new firings. Returns new pause ids."""
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
    """``record`` without arms, for a blinded reader of a masked study."""
    pauses = dict(record.get("pauses", {}))
    if pauses.get("arms"):
        pauses["arms"] = ["(blinded)"]
    events = [{**e, "arm": None} for e in record.get("events", [])]
    target = None if record.get("scope") == "arm" else record.get("target")
    return {**record, "events": events, "pauses": pauses, "target": target}


def safety_status(db: Database, ctx: Context, study_code: str) -> SafetyStatus:
    """What is paused now, every firing, and the safety decisions taken.

    Blinded readers of a masked study see no arm (a paused arm shows as ``(blinded)``);
    participant codes appear only for readers of every site.
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
        records.append(
            PauseRecord(
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
        )
    return SafetyStatus(
        enrolment,
        dosing,
        ("(blinded)",) if blind and arms else tuple(sorted(arms)),
        tuple(sorted(people)),
        tuple(records),
        tuple(decisions),
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
