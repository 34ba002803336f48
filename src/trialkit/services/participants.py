"""Participants: registration with a per-study id, consent, screening verdict and lifecycle.

Every step is one transaction through the one write path; the lifecycle table is in
:mod:`trialkit.services.lifecycle`. Participant identifiers are never written to a log.
"""

from __future__ import annotations

import re
import string
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from trialkit.errors import ConflictError, DefinitionError, NotFound, TransitionError
from trialkit.protocol import Study
from trialkit.services import allocation, forms, locks, safety, studies
from trialkit.services.access import Permission, require
from trialkit.services.anchors import anchors_set_by, set_anchor
from trialkit.services.context import Context
from trialkit.services.lifecycle import Status, Step, next_status
from trialkit.services.lookups import Participant, load, load_checked, masked, shown
from trialkit.services.records import FieldChange, StaleVersion, write
from trialkit.services.values import screening_values
from trialkit.store import Database, canonical
from trialkit.store.tables import (
    form_instance,
    participant,
    participant_event,
    site,
)

__all__ = [
    "Participant",
    "complete",
    "consent",
    "enrol",
    "format_participant_id",
    "get",
    "history",
    "load",
    "load_checked",
    "lose",
    "masked",
    "move_to_version",
    "register",
    "screen",
    "screen_fail",
    "shown",
    "start",
    "withdraw",
]


def format_participant_id(pattern: str, site_code: str, seq: int) -> str:
    """The participant id from the study's pattern, e.g. ``PAE-{site}-{seq:03d}``."""
    fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    if not fields <= {"site", "seq"} or "seq" not in fields:
        raise DefinitionError(
            f"participant id pattern {pattern!r} may use only {{site}} and {{seq}}, and needs "
            "{seq}",
            code="PART.E001",
            hint='e.g. "PAE-{site}-{seq:03d}"',
        )
    try:
        code = pattern.format(site=site_code, seq=seq)
    except (ValueError, IndexError) as exc:
        raise DefinitionError(
            f"participant id pattern {pattern!r} cannot be formatted: {exc}", code="PART.E001"
        ) from exc
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", code):
        raise DefinitionError(
            f"participant id pattern {pattern!r} gives {code!r}; ids may hold letters, digits, "
            "'-', '_' and '.' only",
            code="PART.E002",
        )
    return code


def get(db: Database, ctx: Context, study_code: str, code: str) -> Participant:
    with db.read() as conn:
        return shown(conn, ctx, load_checked(conn, ctx, study_code, code, Permission.READ))


def register(db: Database, ctx: Context, study_code: str, site_code: str) -> Participant:
    """A new participant in screening, with the next id of the study's pattern at ``site``."""
    require(ctx.principal, Permission.ENROL, study_code, site_code)
    with db.write() as conn:
        ref = studies.protocol(conn, study_code)
        srow = conn.execute(
            sa.select(site.c.id, site.c.next_seq)
            .where(site.c.study_id == ref.study_id, site.c.code == site_code)
            .with_for_update()
        ).first()
        if srow is None:
            raise NotFound(
                f"study {study_code}: no site {site_code!r}",
                code="PART.E004",
                hint="add the site first",
            )
        locks.ensure_unlocked(conn, ref.study_id)
        code = format_participant_id(ref.study.participant_id_pattern, site_code, srow.next_seq)
        write(
            conn,
            ctx,
            table=site,
            row_id=srow.id,
            action="allocate_id",
            values={"next_seq": srow.next_seq + 1},
            protocol_version=ref.version,
        )
        write(
            conn,
            ctx,
            table=participant,
            action="register",
            values={
                "study_id": ref.study_id,
                "site_id": srow.id,
                "code": code,
                "status": Status.SCREENING.value,
                "protocol_version_id": ref.id,
                "arm": None,
                "eligibility": None,
                "created_at": ctx.as_of,
                "version": 1,
            },
            protocol_version=ref.version,
        )
        return shown(conn, ctx, load(conn, study_code, code))


def _transition(
    conn: sa.Connection,
    ctx: Context,
    p: Participant,
    step: Step,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Participant:
    target = next_status(p.status, step)
    locks.ensure_unlocked(conn, None, p.id)
    values: dict[str, Any] = {"status": target.value, **(extra or {})}
    changes = [FieldChange("status", p.status.value, target.value)]
    changes += [FieldChange(k, getattr(p, k, None), v) for k, v in (extra or {}).items()]
    try:
        write(
            conn,
            ctx,
            table=participant,
            row_id=p.id,
            action=step.value,
            values=values,
            changes=changes,
            reason=reason,
            protocol_version=p.protocol_version,
            expected_version=p.version,
        )
    except StaleVersion as exc:
        raise ConflictError(
            f"participant changed meanwhile (now version {p.version + 1} or later)",
            code="PART.E005",
            hint="reload the participant and try again",
        ) from exc
    _event(conn, ctx, p, step.value, p.status, target, reason, data or {})
    return shown(conn, ctx, load(conn, p.study, p.code))


def _event(
    conn: sa.Connection,
    ctx: Context,
    p: Participant,
    step: str,
    before: Status,
    after: Status,
    reason: str | None,
    data: dict[str, Any],
) -> None:
    write(
        conn,
        ctx,
        table=participant_event,
        values={
            "participant_id": p.id,
            "step": step,
            "from_status": before.value,
            "to_status": after.value,
            "at": ctx.as_of,
            "actor": ctx.actor,
            "reason": reason,
            "data": canonical.dumps(data),
        },
        json_columns=("data",),
        reason=reason,
        protocol_version=p.protocol_version,
    )


def consent(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    *,
    on: date,
    form_version: str,
    obtained_by: str,
) -> Participant:
    """Record informed consent (form version, date, by whom); sets the consent anchor and fills
    the protocol's consent form from the same values, through the same audited write path, in
    the same transaction: they are entered once."""
    if not form_version.strip() or not obtained_by.strip():
        raise TransitionError(
            "consent needs the consent form version and who obtained it",
            code="PART.E006",
        )
    with db.write() as conn:
        p = load_checked(conn, ctx, study_code, code, Permission.ENROL)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        data = {"date": on, "form_version": form_version, "obtained_by": obtained_by}
        p = _transition(conn, ctx, p, Step.CONSENT, data=data)
        for anchor_id in anchors_set_by(ref.study, "consent"):
            set_anchor(
                conn, ctx, p.id, anchor_id, datetime.combine(on, time()), "consent", ref.version
            )
        _fill_consent_form(conn, ctx, p, ref.study, on, form_version, obtained_by)
        return p


def _fill_consent_form(
    conn: sa.Connection,
    ctx: Context,
    p: Participant,
    study_def: Study,
    on: date,
    form_version: str,
    obtained_by: str,
) -> None:
    """The consent form (the form stating ``consent:``) filled at the first visit listing it."""
    form = next((f for f in study_def.forms if f.consent is not None), None)
    if form is None or form.consent is None:
        return
    visit = next((v.id for v in study_def.timeline.visits if form.id in v.forms), None)
    if visit is None:  # pragma: no cover - `study check` refuses it (CONSENT.E003)
        return
    found = conn.execute(
        sa.select(form_instance.c.version, form_instance.c.data).where(
            form_instance.c.participant_id == p.id,
            form_instance.c.visit_key == visit,
            form_instance.c.form_id == form.id,
            form_instance.c.instance_no == 1,
        )
    ).first()
    stored = None if found is None else int(found.version)
    values: dict[str, Any] = {}
    for group_id, content in (canonical.loads(found.data) if found is not None else {}).items():
        if isinstance(content, list):  # the form's other items, as they were entered
            values[group_id] = [{k: e["raw"] for k, e in row.items()} for row in content]
        else:
            values |= {k: e["raw"] for k, e in content.items()}
    items = form.consent
    values |= {
        items.date: on.isoformat(),
        items.form_version: form_version,
        items.obtained_by: obtained_by,
    }
    forms.save_in(
        conn,
        ctx,
        p.study,
        p.code,
        visit=visit,
        form_id=form.id,
        values=values,
        expected_version=stored,
        reason=None if stored is None else "consent recorded",
        consent=True,
    )


def screen(db: Database, ctx: Context, study_code: str, code: str) -> Participant:
    """Evaluate eligibility from the screening visit's forms with the protocol version's bound
    evaluator; store the verdict (eligible, not eligible or undecided) and its explanation."""
    with db.write() as conn:
        p = load_checked(conn, ctx, study_code, code, Permission.ENROL)
        if p.status not in (Status.SCREENING, Status.CONSENTED):
            raise TransitionError(
                f"participant is {p.status.value}: eligibility is assessed only while screening",
                code="STATE.E002",
            )
        locks.ensure_unlocked(conn, None, p.id)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        values = screening_values(conn, p.id, ref.study)
        if values is None:
            raise NotFound(
                f"participant has no {ref.study.screening_form} (screening) form entered",
                code="PART.E007",
                hint="enter the screening form first",
            )
        result = ref.ports.eligibility.evaluate(ref.study, values, ctx.as_of.date())
        verdict: dict[str, Any] = {
            "status": "evaluated",
            "eligible": result.eligible,
            "explanation": result.explanation,
            "protocol_version": ref.version,
            "as_of": ctx.as_of.date(),
        }
        text = canonical.dumps(verdict)
        write(
            conn,
            ctx,
            table=participant,
            row_id=p.id,
            action="eligibility",
            values={"eligibility": text, "version": p.version + 1},
            changes=[FieldChange("eligibility", p.eligibility, canonical.loads(text))],
            protocol_version=ref.version,
        )
        _event(conn, ctx, p, "eligibility", p.status, p.status, None, verdict)
        return shown(conn, ctx, load(conn, study_code, code))


def enrol(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    *,
    arm: str | None = None,
    investigator_override: str | None = None,
    allocation_override: str | None = None,
) -> Participant:
    """Enrol a consented participant whose stored verdict is eligible, and allocate them.

    A study that allocates (randomisation or sequential cohorts) gives the arm at this moment
    (:mod:`trialkit.services.allocation`); ``arm`` may then be given only by the operator with
    ``allocation_override`` (records carried over from paper). A study that does not allocate
    takes ``arm``, or its only arm.

    A verdict of not eligible or undecided is always refused. ``investigator_override`` (the
    investigator's reason, audited) confirms only a verdict stored as "not evaluated", which
    records kept from before the evaluators were always bound may hold; :func:`screen` never
    stores one.
    """
    with db.write() as conn:
        p = load_checked(conn, ctx, study_code, code, Permission.ENROL)
        next_status(p.status, Step.ENROL)  # refuse a wrong state before anything else
        locks.ensure_unlocked(conn, None, p.id)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        v = p.eligibility or {}
        confirmed = v.get("status") == "not_evaluated" and bool(investigator_override)
        if not (v.get("eligible") is True or confirmed):
            state = (
                "no eligibility verdict"
                if not v
                else "not eligible"
                if v.get("eligible") is False
                else "eligibility undecided"
                if v.get("status") == "evaluated"
                else "eligibility not evaluated"
            )
            raise TransitionError(
                f"participant cannot be enrolled: {state}",
                code="STATE.E003",
                hint="complete the screening form and assess eligibility; a participant who is "
                "not eligible is a screen failure",
            )
        arms = [a.id for a in ref.study.arms]
        if arm is not None and arm not in arms:
            raise TransitionError(
                f"arm {arm!r} is not one of the study's arms",
                code="STATE.E004",
                hint="arms: " + ", ".join(arms),
            )
        blind = masked(conn, p.protocol_version_id)
        safety.ensure_enrolment_open(conn, ref.study_id, None)
        data: dict[str, Any] = {"investigator_override": investigator_override}
        if allocation.allocates(ref.study) is None:
            chosen = arm or (arms[0] if len(arms) == 1 else None)
            if chosen is None:
                raise TransitionError(
                    "choose an arm", code="STATE.E004", hint="arms: " + ", ".join(arms)
                )
        else:
            given = allocation.assign(
                conn,
                ctx,
                study_id=ref.study_id,
                study_def=ref.study,
                protocol_version=ref.version,
                participant_id=p.id,
                site_code=p.site,
                chosen=arm,
                override=allocation_override,
            )
            chosen = given.arm
            data["allocation"] = {"number": given.number, "method": given.method}
        safety.ensure_enrolment_open(conn, ref.study_id, chosen, name_arm=not blind)
        data["arm"] = chosen
        enrolled = _transition(
            conn,
            ctx,
            p,
            Step.ENROL,
            reason=investigator_override,
            data=data,
            extra={"arm": chosen},
        )
        safety.after_change(conn, ctx, ref.study_id)  # events recorded before allocation count
        return enrolled


def _simple(
    db: Database, ctx: Context, study_code: str, code: str, step: Step, reason: str | None
) -> Participant:
    with db.write() as conn:
        p = load_checked(conn, ctx, study_code, code, Permission.ENROL)
        return start_in(conn, ctx, p, step, reason)


def start_in(
    conn: sa.Connection, ctx: Context, p: Participant, step: Step, reason: str | None
) -> Participant:
    return _transition(conn, ctx, p, step, reason=reason, data={})


def start(db: Database, ctx: Context, study_code: str, code: str) -> Participant:
    return _simple(db, ctx, study_code, code, Step.START, None)


def complete(db: Database, ctx: Context, study_code: str, code: str) -> Participant:
    return _simple(db, ctx, study_code, code, Step.COMPLETE, None)


def _need_reason(step: str, reason: str) -> None:
    if not reason.strip():
        raise TransitionError(f"{step} needs a reason", code="STATE.E005")


def withdraw(db: Database, ctx: Context, study_code: str, code: str, reason: str) -> Participant:
    _need_reason("withdrawal", reason)
    return _simple(db, ctx, study_code, code, Step.WITHDRAW, reason)


def lose(db: Database, ctx: Context, study_code: str, code: str, reason: str) -> Participant:
    _need_reason("lost to follow-up", reason)
    return _simple(db, ctx, study_code, code, Step.LOSE, reason)


def screen_fail(db: Database, ctx: Context, study_code: str, code: str, reason: str) -> Participant:
    _need_reason("screen failure", reason)
    return _simple(db, ctx, study_code, code, Step.SCREEN_FAIL, reason)


def move_to_version(
    conn: sa.Connection, ctx: Context, p: Participant, ref: studies.ProtocolRef, reason: str
) -> Participant:
    """Move ``p`` (checked by the caller) to the protocol version ``ref`` inside the caller's
    transaction: refused while the participant's records are locked; audited with ``reason``.

    The use case is :func:`trialkit.services.amendments.apply_version`, which first refuses a
    version whose ethics approval is not recorded; nothing else moves a participant."""
    locks.ensure_unlocked(conn, None, p.id)
    write(
        conn,
        ctx,
        table=participant,
        row_id=p.id,
        action="amend",
        values={"protocol_version_id": ref.id, "version": p.version + 1},
        changes=[FieldChange("protocol_version", p.protocol_version, ref.version)],
        reason=reason,
        protocol_version=ref.version,
    )
    return shown(conn, ctx, load(conn, p.study, p.code))


def history(db: Database, ctx: Context, study_code: str, code: str) -> list[dict[str, Any]]:
    """The participant's lifecycle events, oldest first (the arm hidden from blinded roles)."""
    with db.read() as conn:
        p = load_checked(conn, ctx, study_code, code, Permission.READ)
        blind = shown(conn, ctx, p).arm is None and p.arm is not None
        rows = conn.execute(
            sa.select(participant_event)
            .where(participant_event.c.participant_id == p.id)
            .order_by(participant_event.c.id)
        ).mappings()
        events = []
        for r in rows:
            data = canonical.loads(r["data"])
            if blind and isinstance(data, dict) and "arm" in data:
                data = {**data, "arm": None}
            events.append({**dict(r), "data": data})
        return events
