"""The lean read of the REDCap record export: flat rows built straight from the stored forms.

:func:`flat_rows` reads the form instances of the participants an :class:`Extract` may export
(its sites; its arms, :data:`BLINDED` for a reader who may not see the allocation) in the
extract's one read transaction, with the fewest columns, ordered by participant, visit, form
and instance, streamed from the database (bounded memory: one visit of one participant is
held). Each instance's stored JSON is decoded once, numbers kept as their text; each value goes
to its column through a plan worked out once per form (the field's column, how its stored value
becomes REDCap's text: raw or label), and each flat row is a list of strings in the export's
column order, ready for ``csv.writer``.

What a value is follows :mod:`trialkit.services.extract` (which :mod:`trialkit.exports` reads):
the canonical text, ``true``/``false`` booleans as REDCap's ``1``/``0``, an item saved empty with
a missing-data reason as the reason's code, a derived score that could not be computed empty,
and a form marked not required as an empty instrument whose ``<form>_complete`` is 0. The
administration form's dose amount and basis are left out for a blinded reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from trialkit.errors import StorageError
from trialkit.protocol import Study
from trialkit.protocol.forms import DataType
from trialkit.services.extract import BLINDED, Extract, Signed
from trialkit.services.forms import MISSING_REASONS
from trialkit.store.tables import form_instance, participant
from trialkit.web.redcap.mapping import (
    STATUS_COMPLETE,
    STATUS_INCOMPLETE,
    STATUS_UNVERIFIED,
    UNSCHEDULED,
    UNSCHEDULED_STEP,
    Field,
    Instrument,
    ProjectMap,
    label_of,
    raw_of,
)

__all__ = ["Layout", "flat_rows", "signed_sets"]

_BATCH = 1000
_PLAIN = (-1, 0)  # the key of a visit's plain row
#: canonical JSON with every number kept as its text (what str(Decimal(text)) gives back)
_decoder = json.JSONDecoder(parse_float=str, parse_int=str)
_scan: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> Any:
    """Stored canonical JSON (no white space around it: the C scanner reads it at once)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        value, end = None, -1
    return value if end == len(text) else _decoder.decode(text)


_STATUS_LABEL = {
    STATUS_INCOMPLETE: "Incomplete",
    STATUS_UNVERIFIED: "Unverified",
    STATUS_COMPLETE: "Complete",
}
_MISSING = frozenset(MISSING_REASONS)
Convert = Callable[[Any], str]
#: a slot's converter: None where the stored text is REDCap's raw value
Slot = tuple[int, Convert | None]


def _text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return value if type(value) is str else str(value)


def _cell(
    value: Any, entry: dict[str, Any], to: Convert | None, missing_codes: Container[str]
) -> str:
    """A stored entry's REDCap text, past the common case (a text kept as it is): an empty
    value shows its missing-data code (or nothing), any other value its converted text."""
    if value is None:
        reason = entry.get("missing")
        return reason if type(reason) is str and reason in missing_codes else ""
    return _text(value) if to is None else to(value)


def _converter(study: Study, f: Field, as_label: bool) -> Convert | None:
    """How a stored value of ``f`` (a JSON value) becomes its REDCap text."""
    item = f.item
    if as_label:
        return lambda value: label_of(study, item, raw_of(item, _text(value)))
    if item.data_type is DataType.BOOLEAN:
        return lambda value: "1" if value is True or value == "true" else "0"
    if item.data_type is DataType.DATETIME:
        return lambda value: _text(value).replace("T", " ")
    return None  # raw_of changes only booleans and date-times


@dataclass
class _Part:
    """Where the values of one instrument of a form go on the flat row."""

    instrument: Instrument
    order: int  # the instrument's place in the project (rows of a visit are in this order)
    slots: dict[str, Slot] = field(default_factory=dict)  # wanted items
    known: set[str] = field(default_factory=set)  # items with a field (a row exists)
    status: int = -1  # the column of <instrument>_complete, -1 when not exported
    plain_row: bool = False  # its values go on the visit's plain row (it does not repeat)

    def __post_init__(self) -> None:
        self.plain_row = not self.instrument.repeating


@dataclass
class _FormPlan:
    plain: _Part | None
    groups: dict[str, _Part]
    derived: dict[str, int]  # derived score name -> column (wanted)
    derived_known: frozenset[str]


class Layout:
    """The export's columns and, per form, where each stored value goes (worked out once)."""

    def __init__(
        self, pm: ProjectMap, columns: list[str], as_label: bool, hidden: frozenset[str]
    ) -> None:
        self.pm = pm
        self.columns = columns
        self.as_label = as_label
        self.hidden = hidden
        self._plans: dict[tuple[str, bool], _FormPlan | None] = {}
        at = {c: n for n, c in enumerate(columns)}
        self._at = at
        self._convert = {
            f.name: _converter(pm.study, f, as_label) for f in pm.fields if f.name in at
        }
        self.event_label = {unique: name for unique, _, name in pm.events}
        self.status_text = dict(_STATUS_LABEL) if as_label else {s: s for s in _STATUS_LABEL}

    def plan(self, form_id: str, blind: bool) -> _FormPlan | None:
        key = (form_id, blind)
        if key in self._plans:
            return self._plans[key]
        pm, at = self.pm, self._at
        hidden = self.hidden if blind else frozenset()
        plan: _FormPlan | None = None
        insts = pm.instruments_of.get(form_id)
        if insts:
            order = {i.name: n for n, i in enumerate(pm.instruments)}
            parts = {
                i.name: _Part(i, order[i.name], status=at.get(f"{i.name}_complete", -1))
                for i in insts
            }
            derived: dict[str, int] = {}
            derived_known: set[str] = set()
            for f in pm.fields:
                if f.form.id != form_id or f.item.name in hidden:
                    continue
                part = parts[f.instrument]
                if f.item.derived:
                    derived_known.add(f.item.name)
                    if f.name in at:
                        derived[f.item.name] = at[f.name]
                    continue
                part.known.add(f.item.name)
                if f.name in at:
                    part.slots[f.item.name] = (at[f.name], self._convert[f.name])
            # a row for an instrument only where it is exported (a field or its status), or
            # for any where only record_id is (REDCap's one row per record and event)
            only_ids = len(self.columns) == 4
            plain = next((p for p in parts.values() if p.instrument.group is None), None)
            for p in parts.values():
                scored = bool(derived) if p is plain else False
                if not (p.slots or p.status >= 0 or scored or only_ids):
                    p.known.clear()
                    if p is plain:
                        derived_known.clear()
            groups = {
                p.instrument.group.id: p for p in parts.values() if p.instrument.group is not None
            }
            plan = _FormPlan(plain, groups, derived, frozenset(derived_known))
        self._plans[key] = plan
        return plan


def signed_sets(signed: list[Signed]) -> tuple[set[int], set[tuple[str, str]], set[str]]:
    """The signatures in force as the form instances, visits and casebooks they cover."""
    forms, visits, books = set(), set(), set()
    for s in signed:
        if s.scope == "form" and s.record is not None:
            forms.add(s.record)
        elif s.scope == "visit" and s.visit is not None:
            visits.add((s.participant, s.visit))
        elif s.scope == "casebook":
            books.add(s.participant)
    return forms, visits, books


def _query(extract: Extract, records: set[str], visits: set[str]) -> sa.Select[Any]:
    q = (
        sa.select(
            form_instance.c.participant_id,
            form_instance.c.visit_key,
            form_instance.c.form_id,
            form_instance.c.instance_no,
            form_instance.c.status,
            form_instance.c.data,
            form_instance.c.derived,
            form_instance.c.id,
        )
        .join(participant, participant.c.id == form_instance.c.participant_id)
        .where(participant.c.study_id == extract.study_id, participant.c.arm.is_not(None))
        .order_by(
            participant.c.code,
            form_instance.c.visit_key,
            form_instance.c.form_id,
            form_instance.c.instance_no,
        )
    )
    if records:
        q = q.where(participant.c.code.in_(sorted(records)))
    if visits:
        wanted: list[sa.ColumnElement[bool]] = [
            form_instance.c.visit_key.in_(sorted(visits - {UNSCHEDULED}))
        ]
        if UNSCHEDULED in visits:
            wanted.append(form_instance.c.visit_key.startswith(UNSCHEDULED))
        q = q.where(sa.or_(*wanted))
    return q


def _rows(conn: sa.Connection, q: sa.Select[Any]) -> Iterator[Any]:
    """The query's rows, streamed: on SQLite straight from the driver's cursor in the read's
    transaction (the plain tuples it makes; Core's result rows cost a third of the read), on
    any other database through Core's server-side cursor (``stream_results``)."""
    if conn.dialect.name != "sqlite":
        yield from conn.execution_options(stream_results=True, yield_per=_BATCH).execute(q)
        return
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None  # a connection in a transaction has one
    cursor = dbapi.cursor()
    try:
        cursor.execute(str(compiled), params)
        while batch := cursor.fetchmany(_BATCH):
            yield from batch
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StorageError(f"the database could not be read: {exc}", code="EXPORT.E001") from exc
    finally:
        cursor.close()


def flat_rows(
    layout: Layout,
    extract: Extract,
    signed: tuple[set[int], set[tuple[str, str]], set[str]],
    visits: set[str],
    records: set[str],
) -> Iterator[list[str]]:
    """The flat rows (lists in ``layout.columns`` order), one visit of one participant at a
    time: the visit's plain row first, then its repeating instruments' rows by instrument and
    instance. ``visits`` (visit ids; :data:`UNSCHEDULED` for every unscheduled visit) and
    ``records`` (participant codes) select, when not empty."""
    if extract.cut is not None:  # pragma: no cover - the endpoint never exports as of a date
        raise ValueError("the REDCap export reads the data as they are now")
    pm = layout.pm
    adm = extract.study.timeline.administration
    adm_form = adm.form if adm is not None else None
    forms_signed, visits_signed, books = signed
    people = {p.code: p for p in extract.people}
    ids = {
        r.id: people[r.code]
        for r in extract.connection.execute(
            sa.select(participant.c.id, participant.c.code).where(
                participant.c.study_id == extract.study_id
            )
        )
        if r.code in people
    }
    width = len(layout.columns)
    blanks = [""] * width
    as_label = layout.as_label
    event_label = layout.event_label
    status_text = layout.status_text
    unverified, complete = status_text[STATUS_UNVERIFIED], status_text[STATUS_COMPLETE]
    incomplete = status_text[STATUS_INCOMPLETE]
    plan_of = layout.plan
    decode = _decode
    missing_codes = _MISSING

    rows: dict[tuple[int, int], list[str]] = {}
    running: dict[str, int] = {}
    head: list[str] = []
    seq = 0
    code, blinded = "", False

    def row_of(key: tuple[int, int], instrument: str, instance: int) -> list[str]:
        row = rows.get(key)
        if row is None:
            row = rows[key] = blanks.copy()
            row[0], row[1] = head[0], head[1]
            if instrument:
                row[2] = instrument
                row[3] = str(instance)
            elif seq:
                row[3] = str(seq)
        return row

    plain_plans: dict[str, _FormPlan | None] = {}
    any_signed = bool(forms_signed or visits_signed or books)
    last_pid, last_visit = -1, ""
    for pid, visit, form_id, instance_no, status, data, derived, record in _rows(
        extract.connection, _query(extract, records, visits)
    ):
        if pid != last_pid or visit != last_visit:
            if rows:
                if len(rows) == 1:
                    yield from rows.values()
                else:
                    for key in sorted(rows):
                        yield rows[key]
                rows.clear()
                running.clear()
            last_pid, last_visit = pid, visit
            person = ids.get(pid)
            if person is None:  # a participant at a site the reader may not export
                head = []
                continue
            where = pm.event_instance(visit)
            if where is None:
                head = []
                continue
            event, seq = where
            code = person.code
            blinded = person.arm == BLINDED
            head = [code, event_label[event] if as_label else event]
        if not head:
            continue
        if form_id == adm_form and blinded:
            plan = plan_of(form_id, True)
        else:
            try:
                plan = plain_plans[form_id]
            except KeyError:
                plan = plain_plans[form_id] = plan_of(form_id, False)
        if plan is None:
            continue
        if status != "entered":
            if status != "not_required":
                continue
            part = plan.plain
            if part is not None and (part.known or plan.derived_known):
                name = part.instrument.label if as_label else part.instrument.name
                repeats = part.instrument.repeating
                row = row_of(
                    (part.order, instance_no) if repeats else (-1, 0),
                    name if repeats else "",
                    _number(seq, instance_no) if repeats else 0,
                )
                if part.status >= 0:
                    row[part.status] = incomplete
            continue
        state = (
            complete
            if any_signed
            and (record in forms_signed or (code, visit) in visits_signed or code in books)
            else unverified
        )
        stored = decode(data) if data else None
        plain_row: list[str] | None = None
        part = plan.plain
        for gid, content in (stored or {}).items():
            if type(content) is dict:
                if part is None:
                    continue
                slots = part.slots
                if plain_row is None:
                    if part.known.isdisjoint(content):
                        continue
                    if part.plain_row:  # a form entered once a visit: the visit's plain row
                        plain_row = rows.get(_PLAIN)
                        if plain_row is None:
                            plain_row = rows[_PLAIN] = blanks.copy()
                            plain_row[0], plain_row[1] = head
                            if seq:
                                plain_row[3] = str(seq)
                        if part.status >= 0:
                            plain_row[part.status] = state
                    else:
                        plain_row = _plain_row(row_of, part, instance_no, seq, as_label, state)
                for name, entry in content.items():
                    slot = slots.get(name)
                    if slot is None or type(entry) is not dict:
                        continue
                    value = entry.get("value")
                    col, to = slot
                    if type(value) is str and to is None:  # the common case: the text as is
                        plain_row[col] = value
                    else:
                        plain_row[col] = _cell(value, entry, to, missing_codes)
            elif type(content) is list:
                group = plan.groups.get(gid)
                if group is None:
                    continue
                inst = group.instrument
                shown = inst.label if as_label else inst.name
                slots, known = group.slots, group.known
                for n, entry_row in enumerate(content, start=1):
                    if type(entry_row) is not dict or known.isdisjoint(entry_row):
                        continue
                    if inst.nested:
                        k = running[inst.name] = running.get(inst.name, 0) + 1
                    else:
                        k = n
                    row = row_of((group.order, k), shown, _number(seq, k))
                    if group.status >= 0:
                        row[group.status] = state
                    for item, entry in entry_row.items():
                        slot = slots.get(item)
                        if slot is None or type(entry) is not dict:
                            continue
                        value = entry.get("value")
                        col, to = slot
                        if type(value) is str and to is None:
                            row[col] = value
                        else:
                            row[col] = _cell(value, entry, to, missing_codes)
        if plan.derived_known and derived and derived != "{}" and part is not None:
            scores = decode(derived)
            if plain_row is None and not plan.derived_known.isdisjoint(scores):
                plain_row = _plain_row(row_of, part, instance_no, seq, as_label, state)
            if plain_row is not None:
                for name, col in plan.derived.items():
                    d = scores.get(name)
                    if type(d) is dict:
                        v = d.get("value")
                        plain_row[col] = "" if v is None else _text(v)
    for key in sorted(rows):
        yield rows[key]


def _number(seq: int, k: int) -> int:
    """A repeating instrument's instance: ``k``, or at unscheduled visit ``seq`` the two in one."""
    return seq * UNSCHEDULED_STEP + k if seq else k


def _plain_row(
    row_of: Callable[[tuple[int, int], str, int], list[str]],
    part: _Part,
    instance_no: int,
    seq: int,
    as_label: bool,
    state: str,
) -> list[str]:
    inst = part.instrument
    if inst.repeating:  # a repeating form's plain instrument
        row = row_of(
            (part.order, instance_no),
            inst.label if as_label else inst.name,
            _number(seq, instance_no),
        )
    else:
        row = row_of((-1, 0), "", 0)
    if part.status >= 0:
        row[part.status] = state
    return row
