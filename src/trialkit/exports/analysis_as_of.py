"""The analysis tables of an export read as of a date, for ``ctgov-results --as-of``.

:func:`trialkit.services.tidy.tidy_tables` reads the study as it stands now. An export
``--as-of`` a date needs the tables as they stood then: this module builds them from the
export's :class:`~trialkit.services.extract.Extract`, whose values are already the state at the
cut (every form changed since rebuilt from the audit trail, forms, participants, doses, visit
dates and grades made later left out), with the rules of the analysis tables themselves
(:mod:`trialkit.services.tidy`: which values are observations, the instance and role of a
repeating row, which adverse events count, the effective grade, the study day against the
origin anchor). The origin anchors and the visits done are read in the export's snapshot as
they stood at the cut (an anchor moved later is taken at its earlier value). The
participants' statuses at the cut are replayed from their lifecycle steps.

Run without a cut, :func:`analysis_tables_of` gives exactly what ``tidy_tables`` gives (the
tests check it), so the as-of tables differ from today's only by what changed since.

It reads in the extract's own snapshot (``Extract.connection``, ``cut`` and ``context``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.analysis.data import AdverseEvent, Observation, TidyData
from trialkit.errors import TransitionError
from trialkit.protocol import DataType, Form
from trialkit.services.access import Permission, require
from trialkit.services.extract import Extract, Value
from trialkit.services.grades import AE_CTCAE_TERM
from trialkit.services.lifecycle import Status, Step, next_status
from trialkit.services.safety import AE_MARKER
from trialkit.services.tidy import (
    TidyExtract,
    _adverse_event,
    _Counter,
    _day,
    _instance,
    _Person,
    role_items,
)
from trialkit.store.tables import anchor, participant, visit_record

__all__ = ["analysis_tables_of", "cut_of", "statuses_at"]


def cut_of(extract: Extract) -> datetime | None:
    """The time the extract is read as of (None: now)."""
    cut: datetime | None = extract.cut
    return cut


def analysis_tables_of(extract: Extract) -> TidyExtract:
    """The analysis tables of ``extract``'s participants as of its cut (now without one).

    Needs the permission to analyse the study at every site, as ``tidy_tables`` does."""
    ctx = extract.context
    if ctx is not None:
        require(ctx.principal, Permission.ANALYSE, extract.study.id, None)
    study = extract.study
    roles = role_items(study)
    people = _people(extract)
    grades = extract.effective_grades()
    observations: list[Observation] = []
    events: list[AdverseEvent] = []
    contact: dict[str, list[int]] = {p.code: list(p.days.values()) for p in people.values()}
    skipped = _Counter()
    for batch in extract.form_batches():
        kept = [v for v in batch if not v.missing_reason]
        if not kept:
            continue
        first = kept[0]
        person = people[first.participant]
        form = extract.versions[first.protocol_version].form(first.form)
        repeating = form is not None and form.repeating
        day = person.days.get(first.visit)
        rows: dict[tuple[str, str], list[Value]] = defaultdict(list)
        for v in kept:
            if not v.derived:
                rows[(v.group, v.instance)].append(v)
        cells: list[tuple[str, str, str | None, str | None]] = []
        for (group, inst), values in rows.items():
            head, _, row = inst.partition(".")
            row_no = int(row) if row else None
            instance = _instance(repeating, int(head), row_no)
            names = {v.item: v for v in values}
            role = None
            if row_no is not None:
                role = next((names[r].value for r in sorted(roles) if r in names), None)
            cells += [(v.item, v.value, role, instance) for v in values]
            if AE_MARKER in names or AE_CTCAE_TERM in names:
                key = f"form_instance:{first.record}/{group}" + (
                    "" if row_no is None else f"/{row_no}"
                )
                entries = {n: _entry(form, v) for n, v in names.items()}
                if grades.get(key) is not None:
                    entries[AE_MARKER] = {"type": "integer", "value": grades[key]}
                event, days = _adverse_event(person, entries, skipped)
                contact[person.code].extend(days)
                if event is not None:
                    events.append(event)
        for v in kept:
            if v.derived:
                cells.append((v.item, v.value, None, _instance(repeating, int(v.instance), None)))
        observations += [
            Observation(len(observations) + n, person.code, person.arm, first.visit, day, item,
                        value, role=role, instance=instance)
            for n, (item, value, role, instance) in enumerate(cells, start=2)
        ]  # fmt: skip
    last = {code: max(days) for code, days in contact.items() if days}
    numbered = tuple(
        replace(e, row=i, last_day=last.get(e.participant)) for i, e in enumerate(events, start=2)
    )
    return TidyExtract(TidyData(tuple(observations), numbered), study, skipped.notes())


def _entry(form: Form | None, v: Value) -> dict[str, Any]:
    """The stored shape of a value (type and canonical value) that the analysis rules read."""
    item = next((i for i in form.items() if i.name == v.item), None) if form else None
    dtype = item.data_type if item is not None else DataType.TEXT
    value: Any = v.value
    if dtype is DataType.BOOLEAN:
        value = v.value == "true"
    return {"type": dtype.value, "value": value}


def _people(extract: Extract) -> dict[str, _Person]:
    """The extract's participants with their origin date and the study days of the visits
    done, both as they stood at the cut."""
    conn = extract.connection
    cut = cut_of(extract)
    codes = {p.code: p for p in extract.people}
    ids = {
        r.id: r.code
        for r in conn.execute(
            sa.select(participant.c.id, participant.c.code).where(
                participant.c.study_id == extract.study_id,
                participant.c.code.in_(sorted(codes) or [""]),
            )
        )
    }
    origins = {p.code: extract.versions[p.protocol_version].timeline.origin for p in extract.people}
    q = sa.select(anchor.c.participant_id, anchor.c.anchor_id, anchor.c.at).where(
        anchor.c.participant_id.in_(sorted(ids) or [-1])
    )
    if cut is None:
        q = q.where(anchor.c.superseded_at.is_(None))
    else:
        q = q.where(
            anchor.c.recorded_at <= cut,
            sa.or_(anchor.c.superseded_at.is_(None), anchor.c.superseded_at > cut),
        )
    at: dict[str, Any] = {}
    for a in conn.execute(q):
        code = ids[a.participant_id]
        if origins[code] == a.anchor_id:
            at[code] = a.at.date()
    people = {c: _Person(c, p.arm, at.get(c), {}) for c, p in sorted(codes.items())}
    visits = sa.select(
        visit_record.c.participant_id, visit_record.c.visit_key, visit_record.c.on_date
    ).where(
        visit_record.c.participant_id.in_(sorted(ids) or [-1]),
        visit_record.c.status == "done",
        visit_record.c.on_date.is_not(None),
    )
    if cut is not None:
        visits = visits.where(visit_record.c.recorded_at <= cut)
    for v in conn.execute(visits):
        person = people[ids[v.participant_id]]
        day = _day(v.on_date, person.origin)
        if day is not None:
            person.days[v.visit_key] = day
    return people


def statuses_at(extract: Extract) -> dict[str, str]:
    """Each exported participant's status: as it stands now, or, as of the extract's cut, as
    their lifecycle steps made by then leave it."""
    if cut_of(extract) is None:
        return {p.code: p.status for p in extract.people}
    status = {p.code: Status.SCREENING for p in extract.people}
    for code, step, _, _ in extract.events():
        try:
            status[code] = next_status(status[code], Step(step))
        except (TransitionError, ValueError):
            continue  # a step the lifecycle table does not make (a screening-only step)
    return {code: s.value for code, s in status.items()}
