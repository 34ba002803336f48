"""The trial-records database as the analysis tables: captured values and adverse events.

:func:`tidy_tables` reads one study's records in one read transaction and returns the
:class:`~trialkit.analysis.data.TidyData` that :func:`trialkit.analysis.analyse` takes, the same
tables ``trialkit analyse --data`` reads from CSV:

* **Who**: only participants who were enrolled (an arm was assigned at the ``enrol`` step;
  whatever their status now: on study, completed, withdrawn or lost). Candidates still in
  screening, consented but not enrolled, and screen failures are left out.
* **Captured values**: one row per item value of every *entered* form instance (status
  ``entered``; one marked "not required", or in any other state, is not read), with the
  participant's code and arm, the visit key, the CDISC study day of the visit (the recorded
  visit date against the origin anchor of the participant's protocol version: day 1 is the
  origin date, no day 0; blank when the visit date or the origin date is not recorded), the
  item name and the value as canonical text (decimals
  exactly as stored, e.g. ``3.20``; integers; dates ISO 8601; booleans ``true``/``false``;
  codes; instrument items kept as entered). Derived scores (``pasi``, ``cdai`` ...) are items
  too, when computed. Rows of a repeating item group carry ``instance`` (the row number; for a
  repeating form ``<instance>.<row>``); their ``role`` is the row's value of a role item, i.e.
  the ``role_item`` of the study's ``within_patient_difference`` endpoints (``lesion_role``).
* **Adverse events**: every row of an item group that holds ``ae_grade`` (the adverse-event
  forms of the shipped studies: ``ae_term``, ``ae_onset``, ``ae_end``, ``ae_grade``,
  ``ae_serious``, ``ae_relation``). ``related`` is yes for the relation codes ``possible``,
  ``probable`` and ``definite`` and no for ``not_related`` and ``unlikely`` (the codes of
  :mod:`trialkit.safety`, re-exported here). ``onset_day`` is the study day of ``ae_onset``.
  An event that starts before day 1 (before the origin, i.e.
  not treatment-emergent), one of a participant without an origin date, one missing grade,
  onset, seriousness or relation, or one with another relation code is left out and counted in
  the notes. ``last_day`` is the participant's last contact day: the latest of their recorded
  visit dates and their events' onset and end dates.

Nothing here writes to a log, and the notes count records without naming participants.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from trialkit.analysis.data import AdverseEvent, Observation, TidyData
from trialkit.errors import StorageError
from trialkit.protocol import Study
from trialkit.protocol.endpoints import WithinPatientDifference
from trialkit.safety import NOT_RELATED_CODES, RELATED_CODES
from trialkit.schedule import study_day
from trialkit.services import studies
from trialkit.services.access import Permission, require, sees_allocation
from trialkit.services.context import Context
from trialkit.services.grades import AE_CTCAE_TERM
from trialkit.services.safety import AE_MARKER, group_rows
from trialkit.services.values import typed
from trialkit.store import Database, canonical
from trialkit.store.tables import ae_grade, anchor, form_instance, participant, visit_record

__all__ = [
    "BLINDED",
    "NOT_RELATED_CODES",
    "RELATED_CODES",
    "TidyExtract",
    "role_items",
    "tidy_extract",
    "tidy_extract_in",
    "tidy_tables",
]


#: The arm shown to a blinded reader of a masked study.
BLINDED = "BLINDED"


@dataclass(frozen=True)
class TidyExtract:
    """The tables, the study's newest loaded protocol version, and notes on what was left out
    (counts only, no participant ids)."""

    data: TidyData
    study: Study
    notes: tuple[str, ...] = ()


def role_items(study: Study) -> frozenset[str]:
    """The items that say a repeating row's role: the within-patient endpoints' ``role_item``."""
    return frozenset(
        ep.role_item
        for outcome in study.outcomes
        for ep in outcome.endpoints
        if isinstance(ep, WithinPatientDifference) and ep.role_item
    )


def _text(entry: Any) -> str | None:
    """The canonical text of a stored item entry (None when nothing was entered)."""
    if not isinstance(entry, dict):
        return None
    value = entry.get("value")
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class _Person:
    code: str
    arm: str
    origin: date | None
    days: dict[str, int]  # visit key -> study day of the recorded visit date


def _day(on: date | None, origin: date | None) -> int | None:
    if on is None or origin is None:
        return None
    return study_day(on, origin)


def _instance(form_repeating: bool, instance_no: int, row: int | None) -> str | None:
    head = str(instance_no) if form_repeating or instance_no != 1 else None
    if row is None:
        return head
    return f"{head}.{row}" if head is not None else str(row)


class _Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, what: str) -> None:
        self.counts[what] += 1

    def notes(self) -> tuple[str, ...]:
        return tuple(f"{n} adverse event(s) left out: {what}" for what, n in self.counts.items())


def _adverse_event(
    person: _Person, row: dict[str, Any], skipped: _Counter
) -> tuple[AdverseEvent | None, list[int]]:
    """The event of one AE row (row number set later) and the days it shows contact on."""
    values = {name: typed(entry) for name, entry in row.items() if isinstance(entry, dict)}
    onset, end = values.get("ae_onset"), values.get("ae_end")
    contact = [d for d in (_day(onset, person.origin), _day(end, person.origin)) if d is not None]
    grade, serious = values.get("ae_grade"), values.get("ae_serious")
    relation = values.get("ae_relation")
    if not isinstance(grade, int) or not isinstance(onset, date) or not isinstance(serious, bool):
        skipped.add("grade, onset date or seriousness not entered")
        return None, contact
    if relation in RELATED_CODES:
        related = True
    elif relation in NOT_RELATED_CODES:
        related = False
    else:
        skipped.add(
            "relation not entered or not one of "
            + ", ".join(sorted(RELATED_CODES | NOT_RELATED_CODES))
        )
        return None, contact
    if person.origin is None:
        skipped.add("no origin (first dose) date recorded for the participant")
        return None, contact
    onset_day = study_day(onset, person.origin)
    if onset_day < 1:
        skipped.add("onset before day 1 (not treatment-emergent)")
        return None, contact
    term = values.get("ae_term")
    event = AdverseEvent(
        0,
        person.code,
        person.arm,
        "" if term is None else str(term),
        grade,
        serious,
        related,
        onset_day,
    )
    return event, contact


def _people(conn: sa.Connection, study_id: int, blind: bool) -> dict[int, _Person]:
    rows = conn.execute(
        sa.select(
            participant.c.id,
            participant.c.code,
            participant.c.arm,
            participant.c.protocol_version_id,
        )
        .where(participant.c.study_id == study_id, participant.c.arm.is_not(None))
        .order_by(participant.c.code)
    ).all()
    origins: dict[int, str] = {}
    for r in rows:
        origins[r.id] = studies.protocol_by_id(conn, r.protocol_version_id).study.timeline.origin
    anchors: dict[int, date] = {}
    for a in conn.execute(
        sa.select(anchor.c.participant_id, anchor.c.anchor_id, anchor.c.at)
        .join(participant, participant.c.id == anchor.c.participant_id)
        .where(participant.c.study_id == study_id, anchor.c.superseded_at.is_(None))
    ):
        if origins.get(a.participant_id) == a.anchor_id:
            anchors[a.participant_id] = a.at.date()
    people = {
        r.id: _Person(r.code, BLINDED if blind else r.arm, anchors.get(r.id), {}) for r in rows
    }
    for v in conn.execute(
        sa.select(visit_record.c.participant_id, visit_record.c.visit_key, visit_record.c.on_date)
        .join(participant, participant.c.id == visit_record.c.participant_id)
        .where(
            participant.c.study_id == study_id,
            visit_record.c.status == "done",
            visit_record.c.on_date.is_not(None),
        )
    ):
        person = people.get(v.participant_id)
        day = None if person is None else _day(v.on_date, person.origin)
        if person is not None and day is not None:
            person.days[v.visit_key] = day
    return people


def tidy_extract_in(conn: sa.Connection, ctx: Context, study_code: str) -> TidyExtract:
    """:func:`tidy_extract` read in the caller's open transaction ``conn`` (one snapshot with
    whatever else the caller reads in it, as :meth:`trialkit.services.extract.Extract.
    analysis_tables` does). Needs the permission to analyse the study at every site."""
    require(ctx.principal, Permission.ANALYSE, study_code, None)
    newest = studies.protocol(conn, study_code)
    roles = role_items(newest.study)
    masked = newest.study.design.masking.level != "none"
    blind = not sees_allocation(ctx.principal, study_code, masked, None)
    people = _people(conn, newest.study_id, blind)
    effective = {
        r.event_key: r.effective
        for r in conn.execute(
            sa.select(ae_grade.c.event_key, ae_grade.c.effective).where(
                ae_grade.c.study_id == newest.study_id
            )
        )
    }
    forms = conn.execute(
        sa.select(
            form_instance.c.id,
            form_instance.c.participant_id,
            form_instance.c.visit_key,
            form_instance.c.form_id,
            form_instance.c.instance_no,
            form_instance.c.protocol_version_id,
            form_instance.c.data,
            form_instance.c.derived,
        )
        .join(participant, participant.c.id == form_instance.c.participant_id)
        .where(
            participant.c.study_id == newest.study_id,
            participant.c.arm.is_not(None),
            form_instance.c.status == "entered",
        )
        .order_by(
            participant.c.code,
            form_instance.c.visit_key,
            form_instance.c.form_id,
            form_instance.c.instance_no,
        )
    ).all()
    observations: list[Observation] = []
    events: list[AdverseEvent] = []
    contact: dict[str, list[int]] = {p.code: list(p.days.values()) for p in people.values()}
    skipped = _Counter()
    for f in forms:
        person = people[f.participant_id]
        form = studies.protocol_by_id(conn, f.protocol_version_id).study.form(f.form_id)
        repeating = form is not None and form.repeating
        day = person.days.get(f.visit_key)

        cells: list[tuple[str, str, str | None, str | None]] = []

        for group, content in (canonical.loads(f.data) or {}).items():
            for row_no, row in group_rows(content):
                instance = _instance(repeating, f.instance_no, row_no)
                role = None
                if row_no is not None:
                    role = next((_text(row.get(r)) for r in sorted(roles) if r in row), None)
                for name in sorted(row):
                    text = _text(row[name])
                    if text is not None:
                        cells.append((name, text, role, instance))
                if AE_MARKER in row or AE_CTCAE_TERM in row:
                    # The grade counted is the effective one (computed, or the override).
                    key = f"form_instance:{f.id}/{group}" + ("" if row_no is None else f"/{row_no}")
                    if effective.get(key) is not None:
                        row = {**row, AE_MARKER: {"type": "integer", "value": effective[key]}}
                    event, days = _adverse_event(person, row, skipped)
                    contact[person.code].extend(days)
                    if event is not None:
                        events.append(event)
        for name, d in sorted((canonical.loads(f.derived) or {}).items()):
            if isinstance(d, dict) and d.get("value") is not None:
                cells.append(
                    (name, str(d["value"]), None, _instance(repeating, f.instance_no, None))
                )
        for item, value, role, instance in cells:
            observations.append(
                Observation(
                    len(observations) + 2,
                    person.code,
                    person.arm,
                    f.visit_key,
                    day,
                    item,
                    value,
                    role,
                    instance,
                )
            )
    last = {code: max(days) for code, days in contact.items() if days}
    numbered = tuple(
        AdverseEvent(
            i,
            e.participant,
            e.arm,
            e.term,
            e.grade,
            e.serious,
            e.related,
            e.onset_day,
            last.get(e.participant),
        )
        for i, e in enumerate(events, start=2)
    )
    return TidyExtract(TidyData(tuple(observations), numbered), newest.study, skipped.notes())


def tidy_extract(db: Database, ctx: Context, study_code: str) -> TidyExtract:
    """The analysis tables of ``study_code`` and notes on adverse events left out.

    Needs the permission to analyse the study at every site. A blinded reader of a masked
    study gets every participant's arm as :data:`BLINDED` (pooled, blinded data review).
    """
    require(ctx.principal, Permission.ANALYSE, study_code, None)
    try:
        with db.read() as conn:
            return tidy_extract_in(conn, ctx, study_code)
    except sa.exc.DBAPIError as exc:
        raise StorageError(
            f"the database could not be read: {exc.orig}",
            code="TIDY.E001",
            hint="check the database URL; run `trialkit db upgrade` on a database made by an "
            "older trialkit",
        ) from exc


def tidy_tables(db: Database, ctx: Context, study_code: str) -> TidyData:
    """The captured-values and adverse-event tables of ``study_code`` (see the module doc)."""
    return tidy_extract(db, ctx, study_code).data
