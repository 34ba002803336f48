"""A participant's adverse events: entering one, listing them with their grades and clocks.

An adverse event is a row of the study's adverse-event form (the form whose item group holds
``ae_grade``, see :mod:`trialkit.services.safety`). :func:`record_adverse_event` enters one
event as a new instance of that form at a visit, through the one validated, audited form save
(:func:`trialkit.services.forms.save_in`), so everything a form save does happens, in the same
transaction: the edit checks, the grade computed from the visit's measured values and its
override (:mod:`trialkit.services.grades`), the serious-event clock, and the stopping rules
(:func:`trialkit.services.safety.after_change`). It returns the pauses that the event made fire,
as the user may see them (:func:`trialkit.services.safety.site_pause_record`: a blinded reader
of a masked study sees no arm, a reader at some sites no participant of the others).

:func:`adverse_event_form` gives what an entry form needs (the items of the adverse-event group with
their code lists, the visits that collect the form, the participant's dose group when the user
may see it); :func:`preview_grade` the grade the visit's values give to a CTCAE term before
anything is saved; :func:`adverse_events` the participant's events with the computed, entered
and effective grades and the serious-event clock of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from trialkit.errors import NotFound, ValidationFailed
from trialkit.protocol import Item, Study
from trialkit.schedule import VisitState
from trialkit.services import forms, lookups, safety, schedule, studies
from trialkit.services.access import Permission, sees_allocation, visible_sites
from trialkit.services.context import Context
from trialkit.services.grades import (
    AE_CTCAE_TERM,
    BASELINE_VISIT,
    GRADED_TERMS,
    AeGrade,
    RowGrade,
    ae_grades,
    grade_row,
    visit_values,
)
from trialkit.services.safety import AE_MARKER, PauseRecord, SeriousReport
from trialkit.services.values import typed
from trialkit.store import Database, canonical
from trialkit.store.tables import form_instance, safety_pause

__all__ = [
    "AdverseEvent",
    "AeEntry",
    "AeRecorded",
    "adverse_event_form",
    "list_adverse_events",
    "preview_grade",
    "record_adverse_event",
]


@dataclass(frozen=True)
class AeEntry:
    """What entering an adverse event needs: the form and its group, the group's items (with
    the codes of each coded item), the visits it can be entered at (key, name, the date done
    or else planned, and whether it is done), and the
    participant's dose group (``arm``/``arm_name``: None for a blinded user, or before
    allocation)."""

    form_id: str
    group_id: str
    items: tuple[Item, ...]
    codes: dict[str, tuple[tuple[str, str], ...]]
    graded_terms: tuple[str, ...]
    visits: tuple[tuple[str, str, date | None, bool], ...]
    arm: str | None
    arm_name: str | None
    blind: bool
    report_hours: int


@dataclass(frozen=True)
class AdverseEvent:
    """One adverse-event row of the participant: where it was entered, its values as typed
    Python values, its grades (None until saved through the services), its serious-event
    clock (None when not serious) and the code list label of each coded value."""

    event_key: str
    visit: str
    instance_no: int
    row: int | None
    values: dict[str, Any]
    grade: AeGrade | None
    report: SeriousReport | None
    labels: dict[str, str]


@dataclass(frozen=True)
class AeRecorded:
    """An adverse event entered: its key, visit and form instance, its grades, the stopping-rule
    pauses it made fire (as the user may see them) and its serious-event clock."""

    event_key: str
    visit: str
    instance_no: int
    grade: AeGrade | None
    fired: tuple[PauseRecord, ...]
    report: SeriousReport | None
    notes: tuple[str, ...]


def _ae_form(study_def: Study, study_code: str) -> tuple[str, str]:
    """(form id, item group id) of the study's adverse-event form."""
    for form in study_def.forms:
        for group in form.groups:
            if AE_MARKER in {i.name for i in group.items}:
                return form.id, group.id
    raise NotFound(
        f"study {study_code} has no adverse-event form (an item group with {AE_MARKER})",
        code="SAFETY.E050",
        hint=f"add the adverse-event form to the study definition (items ae_term ... "
        f"{AE_MARKER}); see docs/safety.md",
    )


def _blind(conn: sa.Connection, ctx: Context, p: lookups.Participant) -> bool:
    masked = lookups.masked(conn, p.protocol_version_id)
    return not sees_allocation(ctx.principal, p.study, masked, p.site)


def adverse_event_form(db: Database, ctx: Context, study_code: str, code: str, on: date) -> AeEntry:
    """What an adverse-event entry form of participant ``code`` shows on ``on`` (WRITE at the
    participant's site): visits that collect the form and have a date (planned, done or
    unscheduled), missed ones left out."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.WRITE)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        study_def = ref.study
        form_id, group_id = _ae_form(study_def, study_code)
        blind = _blind(conn, ctx, p)
        shown = lookups.shown(conn, ctx, p)
    form = study_def.form(form_id)
    assert form is not None
    group = next(g for g in form.groups if g.id == group_id)
    codes: dict[str, tuple[tuple[str, str], ...]] = {}
    for item in group.items:
        if item.codelist is not None:
            cl = study_def.codelist(item.codelist)
            codes[item.name] = tuple((i.code, i.label) for i in cl.items) if cl else ()
    collecting = {v.id for v in study_def.timeline.visits if form_id in v.forms}
    unscheduled = study_def.timeline.unscheduled
    takes_unscheduled = unscheduled.allowed and form_id in unscheduled.forms
    cal = schedule.calendar(db, ctx, study_code, code, on)
    visits = tuple(
        (v.key, v.name, v.on_date or v.target, v.on_date is not None)
        for v in cal.visits
        if (
            v.key in collecting
            or (takes_unscheduled and v.key.startswith(forms.UNSCHEDULED_PREFIX))
        )
        and v.target is not None
        and v.state is not VisitState.MISSED
    )
    arm = study_def.arm(shown.arm) if shown.arm else None
    return AeEntry(
        form_id,
        group_id,
        tuple(group.items),
        codes,
        tuple(sorted(GRADED_TERMS)),
        visits,
        arm.id if arm else None,
        arm.name if arm else None,
        blind,
        study_def.safety.serious_report_hours,
    )


def preview_grade(
    db: Database, ctx: Context, study_code: str, code: str, *, visit: str, term: str
) -> RowGrade:
    """The grade CTCAE ``term`` takes from the values entered at ``visit`` (and the baseline
    visit's), before anything is saved: what saving the event would compute (READ)."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.READ)
        study_def = studies.protocol_by_id(conn, p.protocol_version_id).study
        measured = visit_values(conn, [p.id])
    baseline = measured.get((p.id, BASELINE_VISIT), {})
    return grade_row(
        study_def,
        {AE_CTCAE_TERM: term} if term else {},
        measured.get((p.id, visit), {}),
        baseline,
        baseline.get("sex"),
    )


def _rows(conn: sa.Connection, p: lookups.Participant, form_id: str, group_id: str) -> list[Any]:
    return list(
        conn.execute(
            sa.select(
                form_instance.c.id,
                form_instance.c.visit_key,
                form_instance.c.instance_no,
                form_instance.c.data,
            )
            .where(
                form_instance.c.participant_id == p.id,
                form_instance.c.form_id == form_id,
                form_instance.c.status == "entered",
            )
            .order_by(form_instance.c.id)
        )
    )


def list_adverse_events(
    db: Database, ctx: Context, study_code: str, code: str
) -> list[AdverseEvent]:
    """The participant's adverse events, in the order entered, with their grades and their
    serious-event clocks (READ at the participant's site)."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.READ)
        study_def = studies.protocol_by_id(conn, p.protocol_version_id).study
        form_id, group_id = _ae_form(study_def, study_code)
        rows = _rows(conn, p, form_id, group_id)
    coded = _code_labels(study_def)
    grades = {g.event_key: g for g in ae_grades(db, ctx, study_code, code)}
    reports = {
        r.event_key: r for r in safety.serious_reports(db, ctx, study_code, participant_code=code)
    }
    out: list[AdverseEvent] = []
    for r in rows:
        content = (canonical.loads(r.data) or {}).get(group_id)
        for row_no, row in safety.group_rows(content):
            key = f"form_instance:{r.id}/{group_id}" + ("" if row_no is None else f"/{row_no}")
            values = {k: typed(v) for k, v in row.items() if isinstance(v, dict)}
            out.append(
                AdverseEvent(
                    key,
                    r.visit_key,
                    int(r.instance_no),
                    row_no,
                    values,
                    grades.get(key),
                    reports.get(key),
                    {
                        k: coded[k][v]
                        for k, v in values.items()
                        if k in coded and isinstance(v, str) and v in coded[k]
                    },
                )
            )
    return out


def _code_labels(study_def: Study) -> dict[str, dict[str, str]]:
    """item name -> code -> label, for the coded items of the study's forms."""
    out: dict[str, dict[str, str]] = {}
    for name, item in study_def.items().items():
        cl = study_def.codelist(item.codelist) if item.codelist else None
        if cl is not None:
            out[name] = {i.code: i.label for i in cl.items}
    return out


def record_adverse_event(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    *,
    visit: str,
    values: Mapping[str, str],
) -> AeRecorded:
    """Enter one adverse event (``values``: item name to the text as entered) at ``visit`` as a
    new instance of the study's adverse-event form, and return what it set off (see the module
    docstring). A refused save (:class:`trialkit.services.forms.FormRefused`, or
    ``SAFETY.E040`` for a grade without its reason) writes nothing."""
    if not visit.strip():
        raise ValidationFailed(
            "an adverse event is entered at a visit; none was given",
            code="SAFETY.E051",
            errors={"visit": ["choose the visit at which the event is reported"]},
        )
    with db.write() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.WRITE)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        form_id, group_id = _ae_form(ref.study, study_code)
        taken = conn.execute(
            sa.select(sa.func.max(form_instance.c.instance_no)).where(
                form_instance.c.participant_id == p.id,
                form_instance.c.visit_key == visit,
                form_instance.c.form_id == form_id,
            )
        ).scalar()
        instance_no = int(taken or 0) + 1
        before = conn.execute(
            sa.select(sa.func.max(safety_pause.c.id)).where(safety_pause.c.study_id == ref.study_id)
        ).scalar()
        saved = forms.save_in(
            conn,
            ctx,
            study_code,
            code,
            visit=visit,
            form_id=form_id,
            values={group_id: [dict(values)]},
            instance_no=instance_no,
        )
        blind = _blind(conn, ctx, p)
        sites = visible_sites(ctx.principal, Permission.READ, study_code)
        fired = tuple(
            shown
            for row in conn.execute(
                sa.select(safety_pause)
                .where(
                    safety_pause.c.study_id == ref.study_id,
                    safety_pause.c.id > int(before or 0),
                )
                .order_by(safety_pause.c.id)
            )
            if (shown := safety.site_pause_record(conn, row, blind, sites)) is not None
        )
    key = f"form_instance:{saved.form_instance_id}/{group_id}/1"
    event = next(e for e in list_adverse_events(db, ctx, study_code, code) if e.event_key == key)
    return AeRecorded(key, visit, instance_no, event.grade, fired, event.report, tuple(saved.notes))
