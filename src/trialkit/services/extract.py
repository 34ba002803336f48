"""Every captured value of a study, streamed in one read transaction: what the exports write.

:func:`open_extract` checks that the caller may analyse and export the study (the
``ANALYSE`` permission) and at which sites, opens one read transaction (one snapshot for the
whole export) and returns an :class:`Extract`, whose :meth:`Extract.values` yields one
:class:`Value` per item value, ordered by participant, visit, form and instance. Memory stays
bounded: the participants and protocol versions are held (small), the form instances are
streamed from the database, never all held.

* **Who**: the participants of the caller's sites who were ever enrolled (an arm assigned),
  whatever their status now. ``arm`` is the assigned arm, or :data:`BLINDED` for a caller who
  may not see the allocation of a masked study at that site.
* **What**: every item of every entered form instance (as canonical text, the same text the
  analysis reads: decimals exactly as stored, dates ISO 8601, booleans ``true``/``false``), the
  derived scores (``derived`` true; a score that could not be computed has an empty value and
  its reason as ``missing_reason``), an item saved empty with a missing-data reason (empty, the
  reason as ``missing_reason``), and every form marked "not required": one row per item of
  the form, empty, with ``missing_reason`` ``not required: <reason given>``.
* **As of** a time (``as_of``): the data as they stood then, rebuilt from the audit trail for
  every form instance changed since (the current row is used where nothing changed), only the
  participants registered and enrolled by then, and the caller's memberships in force then.

``unit`` is the item's UCUM code (from :mod:`trialkit.protocol.units`). Beside the values the
extract reads, in the same snapshot, the audit history of form instances, the signatures in
force, the doses given and the effective adverse-event grades. Why not
:func:`trialkit.services.tidy.tidy_tables`: it holds the whole study in memory, needs the
permission at every site, and has no site, form, unit, missing reason or protocol version.
Nothing here logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

import sqlalchemy as sa

from trialkit.errors import StorageError, ValidationFailed
from trialkit.protocol import Form, Study, units
from trialkit.services import studies
from trialkit.services.access import Permission, sees_allocation, visible_sites
from trialkit.services.context import Context, naive
from trialkit.services.safety import group_rows
from trialkit.services.tidy import BLINDED, TidyExtract, tidy_extract_in
from trialkit.store import Database, canonical
from trialkit.store.stream import stream
from trialkit.store.tables import (
    ae_grade,
    audit_log,
    dose_record,
    form_instance,
    participant,
    participant_event,
    protocol_version,
    signature,
    site,
    visit_record,
)

__all__ = [
    "BLINDED",
    "Cell",
    "Dose",
    "Entry",
    "Extract",
    "Layout",
    "Person",
    "Record",
    "Signed",
    "Value",
    "open_extract",
]

_BATCH = 2_000  # form instances fetched at a time (a server-side cursor's round trip)
_LAYOUTS = 10_000  # the most layouts held at once (a study whose instances all differ: bounded)
_STR_ONLY = frozenset({str})
_VALUE_OF = itemgetter("value")  # of a stored item entry
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A stored item entry as canonical JSON writes it: an object of scalar members, one of them
# "value", a text without escapes (anything else: no match, and the JSON decoder reads it).
_TEXT = r'"[^"\\\x00-\x1f]*"'
_SCALAR = _TEXT + r"|null|true|false|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_MEMBER = r'"(?!value")[^"\\\x00-\x1f]*":(?:' + _SCALAR + ")"
_ENTRY = r"\{(?:" + _MEMBER + r',)*"value":"([^"\\\x00-\x1f]*)"(?:,' + _MEMBER + r")*\}"
_SCANNERS = 4  # the most shapes of one form and instance number scanned for
_PLAIN_NAME = re.compile(r'[^"\\\x00-\x1f]*')
_UNSEEN: Any = object()  # a shape not seen yet (None is a shape the fast read cannot take)
#: the scanner of canonical.loads's decoder (its ``decode`` strips white space around it first)
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_float=Decimal
).scan_once


@dataclass(frozen=True)
class Person:
    """One exported participant: code, site code, arm (or :data:`BLINDED`), protocol version."""

    code: str
    site: str
    arm: str
    protocol_version: str
    status: str


class Value(NamedTuple):
    """One item value (or one documented absence of a value); a tuple, cheap to make."""

    participant: str
    site: str
    arm: str
    visit: str
    visit_date: str  # ISO 8601, empty when the visit date is not recorded
    form: str
    instance: str
    group: str
    item: str
    value: str
    unit: str
    missing_reason: str
    protocol_version: str
    derived: bool = False
    record: int = 0  # the form instance's id (for its audit history and signatures)


#: One value of a :class:`Record`: ``(instance, group, item, value, unit, missing_reason)``,
#: the six fields of :class:`Value` that change within a form instance (a plain tuple: the
#: lean read builds one per value, so it must cost no more than a tuple).
Cell = tuple[str, str, str, str, str, str]


class Layout(NamedTuple):
    """Everything but the values of a form instance's cells: one per shape of stored data.

    ``cells`` holds, for each value in order, ``(instance, group, item, unit, missing_reason)``
    (a :data:`Cell` without its value); the first ``plain`` are item values, the rest derived
    scores. A **shared** layout is the one of every entered instance stored in the same shape
    (the same protocol version, form, instance number and groups with the same items, in the
    stored order, each item's value a text, no derived score): the read makes it once and hands
    the same object (the same ``id``) to each such instance, so a writer may prepare its output
    once per layout (ids are never reused within one extract). An instance in any other shape
    gets a layout of its own (``shared`` false, ``id`` -1), which a writer should not prepare
    anything for.
    """

    id: int
    cells: tuple[tuple[str, str, str, str, str], ...]
    plain: int
    shared: bool


class Record(NamedTuple):
    """One form instance and its values: the lean read (:meth:`Extract.records`).

    Everything that is the same for every value of the instance (the participant with site and
    arm, the visit and its date, the form, the protocol version) is here once; the values are
    ``texts``, one per cell of ``layout`` (the instance, group, item, unit and missing-data
    reason of each). :attr:`cells` and :attr:`derived` give them as :data:`Cell` tuples, in
    the order :meth:`Extract.values` yields them
    (``Value(*head, *cell, protocol_version, derived, record)``, :meth:`Record.values`).
    ``status`` is the instance's state (``entered``, ``not_required``; an instance in any other
    state has no cells) and ``definition`` its form in its protocol version (None for a form
    that version does not define).
    """

    person: Person
    visit: str
    visit_date: str
    form: str
    instance: str
    protocol_version: str
    record: int
    status: str
    definition: Form | None
    layout: Layout
    texts: list[str]

    @property
    def cells(self) -> list[Cell]:
        """The item values as :data:`Cell` tuples (derived scores not included)."""
        n = self.layout.plain
        return [
            (s[0], s[1], s[2], t, s[3], s[4])
            for s, t in zip(self.layout.cells[:n], self.texts[:n], strict=True)
        ]

    @property
    def derived(self) -> list[Cell]:
        """The derived scores as :data:`Cell` tuples."""
        n = self.layout.plain
        return [
            (s[0], s[1], s[2], t, s[3], s[4])
            for s, t in zip(self.layout.cells[n:], self.texts[n:], strict=True)
        ]

    def values(self) -> list[Value]:
        """This instance's values as :class:`Value` rows (what :meth:`Extract.values` yields)."""
        p = self.person
        head = (p.code, p.site, p.arm, self.visit, self.visit_date, self.form)
        make = tuple.__new__
        layout = self.layout
        n = layout.plain
        tail = (
            (self.protocol_version, False, self.record),
            (self.protocol_version, True, self.record),
        )
        return [
            make(Value, head + (s[0], s[1], s[2], t, s[3], s[4]) + tail[k >= n])
            for k, (s, t) in enumerate(zip(layout.cells, self.texts, strict=True))
        ]


class Entry(NamedTuple):
    """One audit entry of a form item: when, who, what kind of change, why, the new value."""

    seq: int
    at: datetime
    actor: str
    action: str
    reason: str | None
    value: str | None  # canonical text; None when the value was removed


@dataclass(frozen=True)
class Signed:
    """A signature in force: its scope (form, visit or casebook) and who signed when."""

    participant: str
    scope: str
    visit: str | None
    record: int | None
    meaning: str
    username: str
    name: str
    at: datetime


@dataclass(frozen=True)
class Dose:
    """One dose given: who, which dosing event, when, how much (None for a blinded reader)."""

    participant: str
    event: str
    given_at: datetime
    amount: str | None
    unit: str | None
    product_lot: str | None


#: A shared layout with the form definition, protocol version and instance its instances share.
_Shared = tuple[Layout, Form | None, str, str]


@dataclass
class _Snapshot:
    people: dict[int, Person]
    #: the ids of ``people`` as a query (in the same snapshot), for the reads that filter by
    #: them: a bound ``IN`` list would pass SQLite's 32,766 parameters at a large study
    ids: sa.Select[Any]
    versions: dict[int, tuple[str, Study]]
    #: the reads of the visits' dates and of the not-required forms' reasons, made the first
    #: time they are asked for (in the same read transaction, so the same snapshot): an export
    #: that uses neither, such as the REDCap record export, does not pay for them
    read_dates: Callable[[], dict[tuple[int, str], str]]
    read_reasons: Callable[[], dict[int, str]]
    _dates: dict[tuple[int, str], str] | None = None
    _reasons: dict[int, str] | None = None

    @property
    def visit_dates(self) -> dict[tuple[int, str], str]:
        """(participant id, visit) -> the visit's ISO date, for the visits recorded done."""
        if self._dates is None:
            self._dates = self.read_dates()
        return self._dates

    @property
    def reasons(self) -> dict[int, str]:
        """Form instance id -> the reason it was marked not required."""
        if self._reasons is None:
            self._reasons = self.read_reasons()
        return self._reasons


class Extract:
    """An open export read: the study, its participants, and the values as a stream."""

    def __init__(
        self,
        conn: sa.Connection,
        study_id: int,
        study: Study,
        snap: _Snapshot,
        cut: datetime | None,
        now: datetime,
        ctx: Context | None = None,
    ) -> None:
        #: the time of the export (the caller's context), written into the files that say it
        self.now = now
        self._conn = conn
        self._study_id = study_id
        self.study = study
        self._snap = snap
        self._cut = cut
        self._unit_cache: dict[tuple[int, str], tuple[Form | None, dict[str, str]]] = {}
        #: the shared layouts, by shape: (version id, form, instance number, the groups and
        #: their items in the stored order); None for a shape the fast read cannot take
        self._layouts: dict[tuple[Any, ...], _Shared | None] = {}
        self._layout_ids = 0  # never reused (the cache is cleared when full; ids are not)
        #: by (version id, form, instance number): the scanners of the last few shared layouts
        #: (_SCANNERS), each taking the value texts straight out of text of exactly its shape
        self._scanners: dict[tuple[int, str, int], list[tuple[Callable[[str], Any], _Shared]]] = {}
        self._ctx = ctx

    @property
    def connection(self) -> sa.Connection:
        """The read's connection (one snapshot: what the export reads beside the values, such
        as the analysis tables as of the cut, must read it here)."""
        return self._conn

    @property
    def study_id(self) -> int:
        """The exported study's row id."""
        return self._study_id

    @property
    def cut(self) -> datetime | None:
        """The export's as-of time (``None``: the data as it is now)."""
        return self._cut

    @property
    def context(self) -> Context | None:
        """Who exports (``None`` for the operator's own read)."""
        return self._ctx

    @property
    def people(self) -> tuple[Person, ...]:
        """The exported participants, by code."""
        return tuple(sorted(self._snap.people.values(), key=lambda p: p.code))

    @property
    def versions(self) -> dict[str, Study]:
        """Every protocol version the exported values were captured under, by version."""
        return dict(self._snap.versions.values())

    def _forms(self) -> sa.Select[Any]:
        q = sa.select(
            form_instance.c.id,
            form_instance.c.participant_id,
            form_instance.c.visit_key,
            form_instance.c.form_id,
            form_instance.c.instance_no,
            form_instance.c.protocol_version_id,
            form_instance.c.status,
            form_instance.c.data,
            form_instance.c.derived,
        ).where(form_instance.c.participant_id.in_(self._snap.ids))
        if self._cut is not None:
            # only an export as of a cut needs the time of the last change (parsing a stored
            # time costs as much as decoding the instance's values)
            q = q.add_columns(form_instance.c.updated_at)
            q = q.where(form_instance.c.created_at <= self._cut)
        return q

    def form_count(self) -> int:
        """How many form instances :meth:`values` reads (for a progress bar)."""
        sub = self._forms().subquery()
        return int(self._conn.execute(sa.select(sa.func.count()).select_from(sub)).scalar_one())

    def values(self) -> Iterator[Value]:
        """Every value, by participant, visit, form and instance; streamed from the database."""
        for rec in self.records():
            yield from rec.values()

    def form_batches(self) -> Iterator[list[Value]]:
        """The values of each form instance, one list per instance, streamed."""
        for rec in self.records():
            yield rec.values()

    def records(self) -> Generator[Record, None, None]:
        """Every form instance with its values (:class:`Record`), by participant, visit, form
        and instance; streamed. The lean read: the sites, the blinding, the missing-data
        reasons and the not-required forms are applied once per instance, the stored JSON is
        decoded once per instance, and each value is one plain tuple."""
        order = (
            participant.c.code,
            form_instance.c.visit_key,
            form_instance.c.form_id,
            form_instance.c.instance_no,
        )
        q = self._forms().join(participant, participant.c.id == form_instance.c.participant_id)
        cut = self._cut
        record = self._record
        # straight from the driver's cursor where it may be (no Row per row), else Core's
        partitions: Iterable[Any] | None = None
        if cut is None:
            partitions = stream(self._conn, q.order_by(*order), _BATCH)
        if partitions is None:
            result = self._conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
                q.order_by(*order)
            )
            partitions = result.partitions()
        for partition in partitions:
            if cut is None:  # the row's nine columns are _record's arguments
                for f in partition:
                    yield record(*f)
                continue
            rows = list(partition)
            changed = [r.id for r in rows if r.updated_at > cut]
            past = self._rebuild(changed) if changed else {}
            for f in rows:
                if past and f[0] in past:
                    status, data, derived = past[f[0]]
                else:
                    status, data, derived = f[6], f[7], f[8]
                yield record(f[0], f[1], f[2], f[3], f[4], f[5], status, data, derived)

    def history(self, records: list[int]) -> dict[tuple[int, str], list[Entry]]:
        """The audit entries of form instances (up to the cut), by (instance id, entry path):
        ``GROUP/item``, ``GROUP[n]/item``, ``derived/name``, ``status``; oldest first."""
        out: dict[tuple[int, str], list[Entry]] = {}
        if not records:
            return out
        q = sa.select(
            audit_log.c.seq,
            audit_log.c.entity_id,
            audit_log.c.path,
            audit_log.c.at,
            audit_log.c.actor,
            audit_log.c.action,
            audit_log.c.reason,
            audit_log.c.new,
        ).where(
            audit_log.c.entity == "form_instance",
            audit_log.c.entity_id.in_([str(i) for i in records]),
        )
        if self._cut is not None:
            q = q.where(audit_log.c.at <= self._cut.isoformat(timespec="microseconds"))
        for e in self._conn.execute(q.order_by(audit_log.c.seq)):
            new = None if e.new is None else canonical.loads(e.new)
            value = new.get("value") if isinstance(new, dict) else new
            out.setdefault((int(e.entity_id), e.path), []).append(
                Entry(
                    e.seq,
                    datetime.fromisoformat(e.at),
                    e.actor,
                    e.action,
                    e.reason,
                    None if value is None else _plain(value),
                )
            )
        return out

    def signatures(self) -> list[Signed]:
        """The signatures in force (not voided, made by the cut) of the exported participants."""
        by_id = self._snap.people
        q = sa.select(
            signature.c.participant_id,
            signature.c.scope,
            signature.c.visit_key,
            signature.c.form_instance_id,
            signature.c.meaning,
            signature.c.signed_by,
            signature.c.signer_name,
            signature.c.signed_at,
        ).where(signature.c.participant_id.in_(sorted(by_id) or [-1]))
        if self._cut is None:
            q = q.where(signature.c.voided_at.is_(None))
        else:
            q = q.where(
                signature.c.signed_at <= self._cut,
                sa.or_(signature.c.voided_at.is_(None), signature.c.voided_at > self._cut),
            )
        return [
            Signed(
                by_id[r.participant_id].code,
                r.scope,
                r.visit_key,
                r.form_instance_id,
                r.meaning,
                r.signed_by,
                r.signer_name,
                r.signed_at,
            )
            for r in self._conn.execute(q.order_by(signature.c.id))
        ]

    def doses(self) -> list[Dose]:
        """The doses given to the exported participants (by the cut), by participant and time.

        A blinded reader (one whose participants' arms are :data:`BLINDED`) gets no amount and
        no product lot: in a study whose arms differ by dose, either would reveal the arm."""
        by_id = self._snap.people
        q = sa.select(
            dose_record.c.participant_id,
            dose_record.c.dosing_event_id,
            dose_record.c.given_at,
            dose_record.c.given_amount,
            dose_record.c.given_unit,
            dose_record.c.product_lot,
        ).where(dose_record.c.participant_id.in_(sorted(by_id) or [-1]))
        if self._cut is not None:
            q = q.where(dose_record.c.recorded_at <= self._cut)
        out = []
        for r in self._conn.execute(q):
            person = by_id[r.participant_id]
            blind = person.arm == BLINDED
            out.append(
                Dose(
                    person.code,
                    r.dosing_event_id,
                    r.given_at,
                    None if blind else r.given_amount,
                    None if blind else r.given_unit,
                    None if blind else r.product_lot,
                )
            )
        return sorted(out, key=lambda d: (d.participant, d.given_at))

    def analysis_tables(self) -> TidyExtract:
        """The analysis tables (:func:`trialkit.services.tidy.tidy_extract`) read in this
        export's snapshot: the whole study as of now, so the caller needs the permission to
        analyse at every site, and an export ``--as-of`` a date cannot have them."""
        if self._cut is not None or self._ctx is None:
            raise ValidationFailed(
                "the analysis tables are of the study as it stands now, not as of a date",
                code="EXPORT.E005",
                hint="export results without --as-of",
            )
        return tidy_extract_in(self._conn, self._ctx, self.study.id)

    @property
    def visit_dates(self) -> dict[tuple[str, str], str]:
        """The recorded visit dates (ISO 8601) of the exported participants, by (code, visit)."""
        people = self._snap.people
        return {(people[p].code, v): on for (p, v), on in self._snap.visit_dates.items()}

    def events(self) -> list[tuple[str, str, datetime, str | None]]:
        """The lifecycle steps (consent, enrol, complete, withdraw, ...) of the exported
        participants, made by the cut: (code, step, when, reason), by participant and time."""
        people = self._snap.people
        q = sa.select(
            participant_event.c.participant_id,
            participant_event.c.step,
            participant_event.c.at,
            participant_event.c.reason,
        ).where(participant_event.c.participant_id.in_(self._snap.ids))
        if self._cut is not None:
            q = q.where(participant_event.c.at <= self._cut)
        rows = [
            (people[r.participant_id].code, r.step, r.at, r.reason)
            for r in self._conn.execute(q.order_by(participant_event.c.id))
        ]
        return sorted(rows, key=lambda e: (e[0], e[2]))

    def effective_grades(self) -> dict[str, int]:
        """The effective grade (computed, or the override) of each adverse-event row, by event
        key (``form_instance:<id>/<group>[/<row>]``)."""
        q = sa.select(ae_grade.c.event_key, ae_grade.c.effective).where(
            ae_grade.c.study_id == self._study_id, ae_grade.c.effective.is_not(None)
        )
        if self._cut is not None:
            q = q.where(ae_grade.c.updated_at <= self._cut)
        return {r.event_key: int(r.effective) for r in self._conn.execute(q)}

    def _rebuild(self, ids: list[int]) -> dict[int, tuple[str, Any, Any]]:
        """The status, data and derived scores of form instances as of the cut, from the trail."""
        out: dict[int, tuple[str, dict[str, Any], dict[str, Any]]] = {
            i: ("entered", {}, {}) for i in ids
        }
        # the trail's stamps are ISO 8601 to the microsecond, so text order is time order
        cut = self._cut.isoformat(timespec="microseconds") if self._cut is not None else ""
        entries = self._conn.execute(
            sa.select(audit_log.c.entity_id, audit_log.c.path, audit_log.c.new)
            .where(
                audit_log.c.entity == "form_instance",
                audit_log.c.entity_id.in_([str(i) for i in ids]),
                audit_log.c.at <= cut,
            )
            .order_by(audit_log.c.seq)
        )
        for e in entries:
            _, data, derived = out[int(e.entity_id)]
            new = None if e.new is None else canonical.loads(e.new)
            if e.path == "status":
                out[int(e.entity_id)] = (str(new), data, derived)
            elif e.path.startswith("derived/"):
                _put(derived, e.path.removeprefix("derived/"), new)
            elif "/" in e.path:
                group, _, name = e.path.partition("/")
                if group.endswith("]"):
                    gid, _, n = group[:-1].partition("[")
                    rows = data.setdefault(gid, [])
                    while len(rows) < int(n):
                        rows.append({})
                    _put(rows[int(n) - 1], name, new)
                else:
                    _put(data.setdefault(group, {}), name, new)
        return {i: (s, canonical.dumps(d), canonical.dumps(v)) for i, (s, d, v) in out.items()}

    def _units(self, protocol_version_id: int, form_id: str) -> tuple[Form | None, dict[str, str]]:
        """The form and the UCUM code of each of its items' units (cached per version)."""
        key = (protocol_version_id, form_id)
        found = self._unit_cache.get(key)
        if found is None:
            form = self._snap.versions[protocol_version_id][1].form(form_id)
            codes = {
                i.name: units.ucum(i.unit) if i.unit else ""
                for i in (form.items() if form is not None else ())
            }
            found = self._unit_cache[key] = (form, codes)
        return found

    def _record(
        self,
        record: int,
        participant_id: int,
        visit: str,
        form_id: str,
        instance_no: int,
        version_id: int,
        status: str,
        data: Any,
        derived: Any,
    ) -> Record:
        """One stored form instance (its columns, as :meth:`_forms` selects them) as a
        :class:`Record`; ``status``, ``data`` and ``derived`` may be rebuilt as of the cut.

        The fast read: an entered instance without derived scores whose groups are all plain
        (one row) and whose item values are all texts has its values taken out of the decoded
        JSON in one step per group (no Python step per value) and gets the shared layout of its
        shape, made the first time the shape is seen by the general read (:meth:`_cells`) and
        kept only if that read gives exactly these values in this order (each group's items
        stored in name order, as canonical JSON stores them). Text stored in exactly the shape
        of a shared layout seen before for the form is not even decoded: the layout's scanner
        (:meth:`_scan_for`) takes the value texts out of it. Anything else takes the general
        read."""
        snap = self._snap
        if status == "entered" and (derived == "{}" or derived == {}):
            if type(data) is str:
                for scan, shared in self._scanners.get((version_id, form_id, instance_no), ()):
                    found = scan(data)
                    if found is not None:  # exactly the shape: its texts without decoding
                        scanned = list(found.groups())
                        return self._new_record(
                            shared, participant_id, visit, form_id, record, status, scanned
                        )
            decoded = _loads(data)
            if type(decoded) is dict:
                texts: list[str] = []
                shape: list[tuple[str, tuple[str, ...]]] = []
                try:
                    for group, content in decoded.items():
                        if type(content) is not dict:
                            raise TypeError("a repeating group")
                        shape.append((group, tuple(content)))
                        texts += map(_VALUE_OF, content.values())
                except (KeyError, TypeError):  # not an item entry, no value, or rows
                    pass
                else:
                    if _STR_ONLY.issuperset(map(type, texts)):
                        key = (version_id, form_id, instance_no, tuple(shape))
                        known = self._layouts.get(key, _UNSEEN)
                        if known is _UNSEEN:
                            known = self._shared_layout(
                                key, record, version_id, form_id, instance_no, data, texts
                            )
                        if known is not None:
                            if type(data) is str:
                                self._scan_for(version_id, form_id, instance_no, key[3], known)
                            return self._new_record(
                                known, participant_id, visit, form_id, record, status, texts
                            )
        cells, scores = self._cells(record, version_id, form_id, instance_no, status, data, derived)
        both = cells + scores
        own: _Shared = (
            Layout(-1, tuple((c[0], c[1], c[2], c[4], c[5]) for c in both), len(cells), False),
            self._units(version_id, form_id)[0],
            snap.versions[version_id][0],
            str(instance_no),
        )
        return self._new_record(
            own, participant_id, visit, form_id, record, status, [c[3] for c in both]
        )

    def _shared_layout(
        self,
        key: tuple[Any, ...],
        record: int,
        version_id: int,
        form_id: str,
        instance_no: int,
        data: Any,
        texts: list[str],
    ) -> _Shared | None:
        """The shared layout of a new shape (None if the fast read cannot take it), kept with
        what else its instances share: the form, the protocol version, the instance number."""
        cells, _ = self._cells(record, version_id, form_id, instance_no, "entered", data, "{}")
        in_order = all(list(names) == sorted(names) for _, names in key[3])
        known = None
        if in_order and [c[3] for c in cells] == texts:
            self._layout_ids += 1
            layout = Layout(
                self._layout_ids,
                tuple((c[0], c[1], c[2], c[4], c[5]) for c in cells),
                len(cells),
                True,
            )
            definition = self._units(version_id, form_id)[0]
            known = (layout, definition, self._snap.versions[version_id][0], str(instance_no))
        if len(self._layouts) >= _LAYOUTS:  # a study whose shapes all differ: bounded memory
            self._layouts.clear()
        self._layouts[key] = known
        return known

    def _new_record(
        self,
        shared: _Shared,
        participant_id: int,
        visit: str,
        form_id: str,
        record: int,
        status: str,
        texts: list[str],
    ) -> Record:
        """A :class:`Record` of ``texts`` under a layout (a shared one, or the instance's own)
        with its form, protocol version and instance number."""
        snap = self._snap
        layout, definition, version, instance = shared
        return tuple.__new__(
            Record,
            (
                snap.people[participant_id],
                visit,
                snap.visit_dates.get((participant_id, visit), ""),
                form_id,
                instance,
                version,
                record,
                status,
                definition,
                layout,
                texts,
            ),
        )

    def _scan_for(
        self,
        version_id: int,
        form_id: str,
        instance_no: int,
        shape: tuple[tuple[str, tuple[str, ...]], ...],
        known: _Shared,
    ) -> None:
        """Keep a scanner for a shared layout's shape (unless it is the one kept already): a
        regular expression that matches only the canonical JSON text of exactly these groups
        and items, in this order, each entry an object of scalar members with one "value"
        text without escapes, and captures those texts. What it matches, the JSON decoder
        reads as a dict of this shape with these texts as the values, so the fast read gives
        the same record either way; any other text does not match and is decoded."""
        at = (version_id, form_id, instance_no)
        if at not in self._scanners and len(self._scanners) >= _LAYOUTS:  # bounded memory
            self._scanners.clear()
        kept = self._scanners.setdefault(at, [])
        if any(shared is known for _, shared in kept):
            return
        names = [g for g, _ in shape] + [i for _, items in shape for i in items]
        if not all(_PLAIN_NAME.fullmatch(n) for n in names):
            return  # a name JSON would escape: no scanner
        groups = ",".join(
            '"'
            + re.escape(g)
            + r'":\{'
            + ",".join('"' + re.escape(i) + '":' + _ENTRY for i in items)
            + r"\}"
            for g, items in shape
        )
        if len(kept) >= _SCANNERS:
            del kept[0]
        kept.append((re.compile(r"\{" + groups + r"\}").fullmatch, known))

    def _cells(
        self,
        record: int,
        version_id: int,
        form_id: str,
        instance_no: int,
        status: str,
        data: Any,
        derived: Any,
    ) -> tuple[list[Cell], list[Cell]]:
        """The general read of one form instance: its item values and its derived scores."""
        snap = self._snap
        form, unit_of = self._units(version_id, form_id)
        head = str(instance_no)
        cells: list[Cell] = []
        scores: list[Cell] = []
        add = cells.append
        unit = unit_of.get
        if status == "not_required":
            why = ("not required: " + snap.reasons.get(record, "")).strip()
            for group in form.groups if form is not None else ():
                for item in group.items:
                    add((head, group.id, item.name, "", unit(item.name, ""), why))
            return cells, scores
        if status != "entered":
            return cells, scores
        for group, content in (_loads(data) or {}).items():
            # a plain group's one row (what group_rows gives for it, without making a list)
            rows = ((None, content),) if type(content) is dict else group_rows(content)
            for row_no, row in rows:
                instance = head if row_no is None else f"{head}.{row_no}"
                for name, entry in sorted(row.items()):  # names are unique: never the entries
                    value = entry.get("value") if type(entry) is dict else None
                    if type(value) is str:  # the common case: canonical text
                        add((instance, group, name, value, unit(name, ""), ""))
                    elif value is None:
                        missing = entry.get("missing") if isinstance(entry, dict) else None
                        if missing:  # saved empty with a missing-data reason (forms.save_form)
                            add((instance, group, name, "", unit(name, ""), str(missing)))
                    elif value is True or value is False:
                        text = "true" if value else "false"
                        add((instance, group, name, text, unit(name, ""), ""))
                    else:
                        add((instance, group, name, str(value), unit(name, ""), ""))
        if derived == "{}":  # no derived score: the common case, nothing to decode
            return cells, scores
        for name, d in sorted((_loads(derived) or {}).items()):
            if not isinstance(d, dict):
                continue
            text = "" if d.get("value") is None else str(d["value"])
            why = "" if text else f"not computed: {d.get('reason') or 'no score'}"
            scores.append((head, "", name, text, unit(name, ""), why))
        return cells, scores


def _plain(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _put(target: dict[str, Any], name: str, new: Any) -> None:
    if new is None:
        target.pop(name, None)
    else:
        target[name] = new


def _loads(text: Any) -> Any:
    """Stored canonical JSON decoded (:func:`trialkit.store.canonical.loads`)."""
    if isinstance(text, dict):
        return text
    if not text:
        return None
    try:  # canonical text has no white space around the value: scan it at once
        value, end = _scan(text, 0)
    except StopIteration:
        value, end = None, -1
    return value if end == len(text) else canonical.loads(text)


def _snapshot(
    conn: sa.Connection, ctx: Context, code: str, study_id: int, masked: bool, cut: datetime | None
) -> _Snapshot:
    sites = visible_sites(ctx.principal, Permission.ANALYSE, code)
    q = (
        sa.select(
            participant.c.id,
            participant.c.code,
            participant.c.status,
            participant.c.protocol_version_id,
            site.c.code.label("site"),
            participant.c.arm,
            protocol_version.c.version,
        )
        .join(site, site.c.id == participant.c.site_id)
        .join(protocol_version, protocol_version.c.id == participant.c.protocol_version_id)
        .where(participant.c.study_id == study_id, participant.c.arm.is_not(None))
    )
    if sites is not None:
        q = q.where(site.c.code.in_(sorted(sites)))
    if cut is not None:
        enrolled = sa.select(participant_event.c.participant_id).where(
            participant_event.c.step == "enrol", participant_event.c.at <= cut
        )
        q = q.where(participant.c.created_at <= cut, participant.c.id.in_(enrolled))
    ids = q.with_only_columns(participant.c.id)
    people: dict[int, Person] = {}
    blind_at: dict[str, bool] = {}
    for r in conn.execute(q).all():  # one fetch, not one a row
        if r.site not in blind_at:
            blind_at[r.site] = not sees_allocation(ctx.principal, code, masked, r.site)
        arm = BLINDED if blind_at[r.site] else r.arm
        people[r.id] = Person(r.code, r.site, arm, r.version, r.status)
    versions: dict[int, tuple[str, Study]] = {}
    for pv in conn.execute(
        sa.select(protocol_version.c.id).where(protocol_version.c.study_id == study_id)
    ):
        ref = studies.protocol_by_id(conn, pv.id)
        versions[pv.id] = (ref.version, ref.study)
    return _Snapshot(
        people,
        ids,
        versions,
        lambda: _visit_dates(conn, ids, cut),
        lambda: _reasons(conn, study_id),
    )


def _visit_dates(
    conn: sa.Connection, ids: sa.Select[Any], cut: datetime | None
) -> dict[tuple[int, str], str]:
    dates: dict[tuple[int, str], str] = {}
    # The date as the driver gives it (SQLite: the stored text; PostgreSQL: a date): the
    # Date type's own parsing of SQLite's text is most of the cost of this read.
    visits = sa.select(
        visit_record.c.participant_id,
        visit_record.c.visit_key,
        sa.type_coerce(visit_record.c.on_date, sa.String),
    ).where(
        visit_record.c.participant_id.in_(ids),
        visit_record.c.on_date.is_not(None),
    )
    if cut is not None:
        visits = visits.where(visit_record.c.recorded_at <= cut)
    parse = visit_record.c.on_date.type.result_processor(conn.dialect, None)
    fromiso, iso = date.fromisoformat, _ISO_DATE.fullmatch
    # straight from the driver's cursor where it may be (no Row per row), else one fetch
    batches: Iterable[Any] | None = stream(conn, visits, _BATCH * 5)
    for batch in batches if batches is not None else [conn.execute(visits).all()]:
        for pid, key, on in batch:
            if type(on) is str and iso(on):  # YYYY-MM-DD: checked as the Date type reads it,
                fromiso(on)  # and kept (it is its own isoformat())
                dates[(pid, key)] = on
                continue
            if type(on) is str:  # anything else: the Date type parses it
                on = parse(on) if parse is not None else on
            dates[(pid, key)] = on.isoformat()
    return dates


def _reasons(conn: sa.Connection, study_id: int) -> dict[int, str]:
    reasons: dict[int, str] = {}
    for a in conn.execute(
        sa.select(audit_log.c.entity_id, audit_log.c.reason)
        .join(form_instance, sa.cast(form_instance.c.id, sa.String) == audit_log.c.entity_id)
        .join(participant, participant.c.id == form_instance.c.participant_id)
        .where(
            audit_log.c.entity == "form_instance",
            audit_log.c.action == "not_required",
            participant.c.study_id == study_id,
        )
    ):
        reasons[int(a.entity_id)] = a.reason or ""
    return reasons


@contextmanager
def open_extract(
    db: Database, ctx: Context, study_code: str, *, as_of: datetime | None = None
) -> Iterator[Extract]:
    """The values of ``study_code`` visible to ``ctx`` (as of ``as_of``), in one snapshot.

    Needs the permission to analyse and export the study (``AUTH.E0xx`` otherwise); at a subset
    of sites, only those sites' participants are read.
    """
    cut = None if as_of is None else naive(as_of)
    now = ctx.as_of
    if cut is not None:
        ctx = ctx.at(cut)
    visible_sites(ctx.principal, Permission.ANALYSE, study_code)  # refuses at no site
    try:
        with db.read() as conn:
            newest = studies.protocol(conn, study_code)
            masked = newest.study.design.masking.level != "none"
            snap = _snapshot(conn, ctx, study_code, newest.study_id, masked, cut)
            yield Extract(conn, newest.study_id, newest.study, snap, cut, now, ctx)
    except sa.exc.DBAPIError as exc:
        raise StorageError(
            f"the database could not be read: {exc.orig}",
            code="EXPORT.E001",
            hint="check the database URL; run `trialkit db upgrade` on a database made by an "
            "older trialkit",
        ) from exc
