"""The status matrix of a study: participants × visits, in a fixed number of queries.

One cell per participant and planned visit gives the visit's state (as
:func:`trialkit.services.schedule.calendar` computes it: upcoming, open, overdue, done, done out
of window, missed, not planned), its forms expected / entered / not required / missed, the open
data queries on them, whether every entered form is source-verified (an active whole-form mark)
and signed (the visit, or each entered form, or the casebook), and whether it is locked (the
study, the participant, or every entered form). Unscheduled visits are counted per participant.

The matrix reads the participants at the sites where the user may read (READ), with the arm
only where the user may see allocations (see :mod:`trialkit.services.access`), in nine
queries whatever the number of participants; calendars are planned in memory with
:mod:`trialkit.schedule`, from the same anchors and kept windows as ``calendar`` (one
:class:`~trialkit.schedule.VisitPlanner` per protocol version: each pattern of known anchors is
resolved once, and participants whose anchors fall at the same times share one plan).

A computed matrix is kept for the next calls with the head of the audit trail it was read at
(every table it reads is audited, and every change moves the head in the same transaction), so
paging, sorting and filtering it again costs one query. After a change it is brought up to
date rather than computed again: the audit entries after the kept head name each changed row
by table and id, each row is traced to its participant (directly, or through its form
instance), and only those participants' rows are read again (the same queries, restricted to
their ids) and computed; the other rows are reused as they are, in the same order. A change
that is not one participant's, or that cannot be traced, computes the whole matrix again: see
:func:`status_matrix`. :func:`fresh_matrix` computes it with nothing kept: what the kept
matrix always equals (``tests/services/test_matrix_incremental.py`` holds them equal after
random sequences of changes on both databases).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from fractions import Fraction
from types import MappingProxyType
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import sqlalchemy as sa

from trialkit.protocol import Study
from trialkit.schedule import PlannedVisit, VisitPlanner, VisitState
from trialkit.schedule import visit_state as _state
from trialkit.services import studies
from trialkit.services.access import (
    ROLE_PERMISSIONS,
    Permission,
    sees_allocation,
    visible_sites,
)
from trialkit.services.context import Context
from trialkit.services.lifecycle import Status
from trialkit.services.schedule import ACTIVE
from trialkit.store import Database, canonical
from trialkit.store.audited import AUDITED
from trialkit.store.tables import (
    anchor,
    audit_head,
    audit_log,
    data_query,
    form_instance,
    participant,
    protocol_approval,
    protocol_version,
    record_lock,
    sdv_mark,
    signature,
    site,
    visit_record,
)

__all__ = [
    "Cell",
    "GivenDose",
    "Matrix",
    "MatrixRow",
    "MatrixVisit",
    "StudyCard",
    "fresh_matrix",
    "given_doses",
    "my_studies",
    "status_matrix",
]


class Cell(NamedTuple):
    """One participant's visit. ``forms`` maps each form the visit collects to ``expected``,
    ``entered``, ``not_required`` or ``missed``; it is read-only (cells without a stored form
    share one mapping per visit and state)."""

    visit: str
    state: VisitState
    target: date | None
    earliest: date | None
    latest: date | None
    on_date: date | None
    forms: Mapping[str, str]
    open_queries: int = 0
    verified: bool = False
    signed: bool = False
    locked: bool = False

    @property
    def entered(self) -> int:
        return sum(1 for s in self.forms.values() if s == "entered")

    @property
    def expected(self) -> int:
        return sum(1 for s in self.forms.values() if s in ("expected", "missed"))


@dataclass(frozen=True)
class MatrixRow:
    participant: str
    site: str
    status: Status
    arm: str | None
    cells: dict[str, Cell]
    unscheduled: int = 0


@dataclass(frozen=True)
class MatrixVisit:
    key: str
    name: str


@dataclass(frozen=True)
class Matrix:
    study: str
    title: str
    as_of: date
    visits: list[MatrixVisit]
    sites: list[str]
    rows: tuple[MatrixRow, ...] = ()
    masked: bool = False


def _day(value: object) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


#: Visit states in which a form not entered counts as missed.
_LATE = frozenset({VisitState.MISSED, VisitState.OVERDUE})


def _form_state(stored: str | None, visit: VisitState) -> str:
    if stored in ("entered", "not_required"):
        return stored
    if visit in _LATE:
        return "missed"
    return "expected"


#: The matrices kept per database (least recently used out first), shared by every request of
#: the process: see :func:`status_matrix`.
CACHE_SIZE = 8
#: A kept matrix is brought up to date from at most this many audit entries after its head;
#: beyond that (a bulk import, say) it is computed afresh, which then reads less.
MAX_ENTRIES = 5000
#: The most rows of distinct participants recomputed in place: beyond
#: ``min(MAX_CHANGED, max(CHANGED_FLOOR, CHANGED_SHARE × rows))`` the matrix is computed afresh
#: (the nine queries restricted to that many ids cost about as much as the whole study's).
MAX_CHANGED = 500
CHANGED_FLOOR = 32
CHANGED_SHARE = Fraction(1, 4)
#: The most distinct rows of one audited table resolved to their participants by id (one bind
#: parameter each); beyond it the matrix is computed afresh.
_MAX_IDS = 900


@dataclass(frozen=True)
class _Kept:
    """A computed matrix with what bringing it up to date needs."""

    head: tuple[Any, ...]  # (seq, hash) of the audit head the rows are at least as new as
    matrix: Matrix
    study_id: int
    index: Mapping[int, int]  # participant id -> position of its row in ``matrix.rows``
    protocols: Mapping[int, Study]  # protocol version id -> its definition


_caches: WeakKeyDictionary[Database, OrderedDict[tuple[object, ...], _Kept]] = WeakKeyDictionary()
_cache_lock = threading.Lock()

# The tables the matrix reads, by audit entity (each audited table's entity is its name, see
# trialkit.store.audited); every other audited table is left out of it.
_READ_TABLES = frozenset(
    {
        "study",
        "protocol_version",
        "protocol_approval",
        "site",
        "participant",
        "anchor",
        "visit_record",
        "form_instance",
        "data_query",
        "sdv_mark",
        "signature",
        "record_lock",
    }
)
_OTHER_TABLES = frozenset(AUDITED) - _READ_TABLES
# The columns that tie a row to its participant (or, for a participant, place its row): an
# entry that changes one of them on an existing row (its old value not NULL) moves the row
# away from a participant whose row would then not be recomputed, so it recomputes everything.
_LINKS: dict[str, frozenset[str]] = {
    "participant": frozenset({"code", "site_id", "study_id"}),
    "anchor": frozenset({"participant_id"}),
    "visit_record": frozenset({"participant_id"}),
    "form_instance": frozenset({"participant_id"}),
    "signature": frozenset({"participant_id"}),
    "data_query": frozenset({"form_instance_id"}),
    "sdv_mark": frozenset({"form_instance_id"}),
    "record_lock": frozenset({"study_id", "scope", "participant_id", "form_instance_id"}),
}
# Per participant: a row of these names its participant, directly or through its form instance.
_OWN = ("anchor", "visit_record", "form_instance", "signature")
_BY_FORM = ("data_query", "sdv_mark")


def _head(conn: sa.Connection) -> tuple[Any, ...]:
    return tuple(conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).one_or_none() or ())


def status_matrix(db: Database, ctx: Context, study_code: str, as_of: date) -> Matrix:
    """The study's matrix on ``as_of`` at the sites ``ctx`` may read (READ).

    A matrix is kept (the last :data:`CACHE_SIZE`) per database, study, day and what the user's
    memberships let them see (sites, arms), with the head of the audit trail it was read at
    (every change to a table it reads moves the head in the same transaction). While the head
    has not moved the kept matrix is returned as it is. When it has, the audit entries after
    the kept head say which participants changed (see :func:`_touched`): only their rows are
    read and computed again, the others are reused; a change that is not one participant's
    (a study lock, a site, a protocol version, a new participant) or that cannot be told
    computes the whole matrix afresh, as do more than :data:`MAX_ENTRIES` entries or too
    many participants changed (:data:`MAX_CHANGED`). Either way the result equals
    :func:`fresh_matrix` at that head. The matrix and its rows are shared: read them, never
    change them.
    """
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    seen = tuple(
        sorted(
            (g.role.value, g.site or "", g.unblinded) for g in ctx.principal.grants_in(study_code)
        )
    )
    key = (study_code, as_of, ctx.principal.operator, seen)
    with _cache_lock:
        cache = _caches.setdefault(db, OrderedDict())
        kept = cache.get(key)
        if kept is not None:
            cache.move_to_end(key)
    # one snapshot: the head, the entries after the kept one and the rows read again agree
    with db.read() as conn:
        head = _head(conn)
        if kept is not None and kept.head == head:
            return kept.matrix
        fresh = None
        if kept is not None and kept.head and head:
            fresh = _update(conn, ctx, kept, head, study_code, as_of, sites)
        if fresh is None:
            fresh = _compute(conn, ctx, study_code, as_of, sites, head)
    with _cache_lock:
        # Another request may have stored a state meanwhile: the last one stored wins. Each
        # state's rows are at least as new as its head and every later change is in the
        # entries after it, so an older one only means more entries read next time.
        cache[key] = fresh
        cache.move_to_end(key)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return fresh.matrix


def fresh_matrix(db: Database, ctx: Context, study_code: str, as_of: date) -> Matrix:
    """The matrix :func:`status_matrix` gives, computed from the records with nothing kept or
    reused (and nothing kept for the next call): what every kept or updated matrix equals."""
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        return _compute(conn, ctx, study_code, as_of, sites, _head(conn)).matrix


def _touched(
    conn: sa.Connection, kept: _Kept, head: tuple[Any, ...], sites: frozenset[str] | None
) -> set[int] | None:
    """The ids of the participants whose rows the audit entries after ``kept.head`` (up to
    ``head``) may have changed, or None when the matrix must be computed afresh.

    Each entry names its table (the entity) and row; a row of the tables the matrix reads is
    traced to its participant: anchors, visit records, form instances and signatures by their
    ``participant_id``, data queries and SDV marks through their form instance, participant
    and form locks by theirs. Entries of the other audited tables (users, memberships, doses,
    safety, ...) change nothing here. None (everything afresh) when: the entries do not
    chain on from the kept head to ``head`` (fewer than expected, another hash: the trail is
    not the one the matrix was kept at), there are more than :data:`MAX_ENTRIES`, an entry
    names a table or row that cannot be traced (an unknown entity, a row gone), a change is
    the study's (its row, a site other than its participant counter, a protocol version or
    approval, a study lock), an existing row is moved to another participant, form or site
    (see :data:`_LINKS`), a participant's row appears or disappears at the user's sites, or
    more participants changed than :data:`MAX_CHANGED` allows.
    """
    kseq, khash = int(kept.head[0]), str(kept.head[1])
    seq, last = int(head[0]), str(head[1])
    if seq <= kseq or seq - kseq > MAX_ENTRIES:
        return None
    al = audit_log.c
    entries = conn.execute(
        sa.select(
            al.seq,
            al.prev_hash,
            al.hash,
            al.entity,
            al.entity_id,
            al.path,
            al.old.is_not(None).label("had"),
        )
        .where(al.seq > kseq, al.seq <= seq)
        .order_by(al.seq)
    ).all()
    expect, prev = kseq + 1, khash
    rows: dict[str, set[int]] = defaultdict(set)
    for e in entries:
        if int(e.seq) != expect or e.prev_hash != prev:
            return None
        expect, prev = expect + 1, e.hash
        entity = e.entity
        if entity in _OTHER_TABLES:
            continue
        if entity not in _READ_TABLES or not str(e.entity_id).isdecimal():
            return None
        if e.had and e.path in _LINKS.get(entity, ()):
            return None
        if entity == "site" and e.path == "next_seq":
            continue  # the counter of participant ids: a new participant has entries of its own
        rows[entity].add(int(e.entity_id))
    if expect != seq + 1 or prev != last:
        return None
    if any(len(ids) > _MAX_IDS for ids in rows.values()):
        return None

    def found(stmt: sa.Select[Any], ids: set[int]) -> list[Any] | None:
        got = list(conn.execute(stmt).all())
        return got if len(got) == len(ids) else None  # a row gone: cannot be traced

    sid = kept.study_id
    pids: set[int] = set(rows.get("participant", ()))
    if sid in rows.get("study", ()):
        return None
    for t in (site, protocol_version):  # the study's own: a site added or renamed, a version
        ids = rows.get(str(t.name))
        if ids:
            got = found(sa.select(t.c.study_id).where(t.c.id.in_(sorted(ids))), ids)
            if got is None or any(int(r.study_id) == sid for r in got):
                return None
    ids = rows.get("protocol_approval")
    if ids:
        got = found(
            sa.select(protocol_version.c.study_id)
            .join(
                protocol_approval, protocol_approval.c.protocol_version_id == protocol_version.c.id
            )
            .where(protocol_approval.c.id.in_(sorted(ids))),
            ids,
        )
        if got is None or any(int(r.study_id) == sid for r in got):
            return None
    for name in _OWN:
        ids = rows.get(name)
        if ids:
            t = AUDITED[name].table
            got = found(sa.select(t.c.participant_id).where(t.c.id.in_(sorted(ids))), ids)
            if got is None:
                return None
            pids.update(int(r.participant_id) for r in got)
    fi = form_instance.c
    for name in _BY_FORM:
        ids = rows.get(name)
        if ids:
            t = AUDITED[name].table
            got = found(
                sa.select(fi.participant_id)
                .join(t, t.c.form_instance_id == fi.id)
                .where(t.c.id.in_(sorted(ids))),
                ids,
            )
            if got is None:
                return None
            pids.update(int(r.participant_id) for r in got)
    ids = rows.get("record_lock")
    if ids:
        rl = record_lock.c
        got = found(
            sa.select(rl.study_id, rl.scope, rl.participant_id, fi.participant_id.label("owner"))
            .outerjoin(form_instance, fi.id == rl.form_instance_id)
            .where(rl.id.in_(sorted(ids))),
            ids,
        )
        if got is None:
            return None
        for r in got:
            if int(r.study_id) != sid:
                continue
            owner = r.participant_id if r.participant_id is not None else r.owner
            if r.scope == "study" or owner is None:
                return None
            pids.add(int(owner))
    if not pids:
        return set()
    if len(pids) > _MAX_IDS:
        return None
    got = found(
        sa.select(participant.c.id, participant.c.study_id, site.c.code)
        .join(site, site.c.id == participant.c.site_id)
        .where(participant.c.id.in_(sorted(pids))),
        pids,
    )
    if got is None:
        return None
    changed: set[int] = set()
    for r in got:
        if int(r.study_id) != sid:
            continue  # another study's participant
        pid = int(r.id)
        shown = sites is None or r.code in sites
        if shown != (pid in kept.index):
            return None  # a row that appears (a new participant) or disappears
        if shown:
            changed.add(pid)
    limit = min(MAX_CHANGED, max(CHANGED_FLOOR, int(CHANGED_SHARE * len(kept.matrix.rows))))
    return None if len(changed) > limit else changed


def _update(
    conn: sa.Connection,
    ctx: Context,
    kept: _Kept,
    head: tuple[Any, ...],
    study_code: str,
    as_of: date,
    sites: frozenset[str] | None,
) -> _Kept | None:
    """``kept`` brought up to ``head``: the rows of the participants the entries after its head
    touched read and computed again, the others reused (None: compute it afresh)."""
    changed = _touched(conn, kept, head, sites)
    if changed is None:
        return None
    if not changed:  # nothing the matrix shows: the same matrix, at the new head
        return replace(kept, head=head)
    only = sorted(changed)
    people = _people(conn, kept.study_id, sites, only)
    if len(people) != len(only):
        return None
    protocols = dict(kept.protocols)
    for pv in {int(p.protocol_version_id) for p in people} - set(protocols):
        protocols[pv] = studies.protocol_by_id(conn, pv).study
    read = _read(conn, kept.study_id, sites, only)
    fresh = _rows(ctx, study_code, kept.matrix.masked, as_of, people, read, protocols)
    rows = list(kept.matrix.rows)
    for p, row in zip(people, fresh, strict=True):
        at = kept.index[int(p.id)]
        if rows[at].participant != row.participant:
            return None  # cannot happen without a code change, which recomputes: be sure
        rows[at] = row
    return _Kept(head, replace(kept.matrix, rows=tuple(rows)), kept.study_id, kept.index, protocols)


def _compute(
    conn: sa.Connection,
    ctx: Context,
    study_code: str,
    as_of: date,
    sites: frozenset[str] | None,
    head: tuple[Any, ...],
) -> _Kept:
    ref = studies.protocol(conn, study_code)
    masked = ref.study.design.masking.level != "none"
    site_rows = conn.execute(
        sa.select(site.c.code).where(site.c.study_id == ref.study_id).order_by(site.c.code)
    ).scalars()
    shown_sites = [s for s in site_rows if sites is None or s in sites]
    people = _people(conn, ref.study_id, sites, None)
    read = _read(conn, ref.study_id, sites, None)
    protocols = {
        pv: studies.protocol_by_id(conn, pv).study
        for pv in {int(p.protocol_version_id) for p in people}
    }
    rows = _rows(ctx, study_code, masked, as_of, people, read, protocols)
    visits = [MatrixVisit(v.id, v.name) for v in ref.study.timeline.visits]
    matrix = Matrix(
        study_code,
        ref.study.identity.acronym or ref.study.identity.scientific_title,
        as_of,
        visits,
        shown_sites,
        tuple(rows),
        masked,
    )
    index = {int(p.id): i for i, p in enumerate(people)}
    return _Kept(head, matrix, ref.study_id, index, protocols)


def _people(
    conn: sa.Connection, study_id: int, sites: frozenset[str] | None, only: list[int] | None
) -> list[Any]:
    """The participants at ``sites`` (None: every site), in the matrix's order (by code);
    ``only`` these ids when given."""
    q = (
        sa.select(
            participant.c.id,
            participant.c.code,
            participant.c.status,
            participant.c.arm,
            participant.c.protocol_version_id,
            site.c.code.label("site_code"),
        )
        .join(site, site.c.id == participant.c.site_id)
        .where(participant.c.study_id == study_id)
        .order_by(participant.c.code)
    )
    if sites is not None:
        q = q.where(site.c.code.in_(sorted(sites)))
    if only is not None:
        q = q.where(participant.c.id.in_(only))
    return list(conn.execute(q).all())


@dataclass
class _Read:
    """What the matrix reads besides the participants, by participant id (and visit)."""

    anchors: dict[int, dict[str, datetime]]
    records: dict[int, dict[str, Any]]
    unscheduled: dict[int, int]
    forms: dict[tuple[int, str], dict[str, tuple[int, str, int]]]
    queries: dict[tuple[int, str], int]
    verified_forms: set[int]
    signed_visits: set[tuple[int, str]]
    signed_forms: set[int]
    signed_casebooks: set[int]
    study_locked: bool
    locked_people: set[int]
    locked_forms: set[int]


def _read(
    conn: sa.Connection, study_id: int, sites: frozenset[str] | None, only: list[int] | None
) -> _Read:
    """The anchors, visit records, forms, open queries, SDV marks, signatures and locks of the
    participants at ``sites`` (or ``only`` these ids): seven queries."""
    if only is None:
        # the participants as a subquery: one statement whatever their number (an IN list of
        # every id costs a bind parameter each, compiled again on every call)
        ids = (
            sa.select(participant.c.id)
            .join(site, site.c.id == participant.c.site_id)
            .where(participant.c.study_id == study_id)
        )
        if sites is not None:
            ids = ids.where(site.c.code.in_(sorted(sites)))
        among: Any = ids.scalar_subquery()
    else:
        among = only

    def of(table: sa.Table, column: str = "participant_id") -> sa.ColumnElement[bool]:
        return table.c[column].in_(among)

    anchors: dict[int, dict[str, datetime]] = defaultdict(dict)
    for ar in conn.execute(
        sa.select(anchor.c.participant_id, anchor.c.anchor_id, anchor.c.at).where(
            of(anchor), anchor.c.superseded_at.is_(None)
        )
    ).all():
        anchors[int(ar.participant_id)][ar.anchor_id] = ar.at
    records: dict[int, dict[str, Any]] = defaultdict(dict)
    unscheduled: dict[int, int] = defaultdict(int)
    vc = visit_record.c
    for vr in conn.execute(
        sa.select(
            vc.participant_id,
            vc.visit_key,
            vc.unscheduled_seq,
            vc.status,
            vc.on_date,
            vc.planned,
        ).where(of(visit_record))
    ).all():
        records[int(vr.participant_id)][vr.visit_key] = vr
        if vr.unscheduled_seq is not None:
            unscheduled[int(vr.participant_id)] += 1
    forms: dict[tuple[int, str], dict[str, tuple[int, str, int]]] = defaultdict(dict)
    fi = form_instance.c
    for fr in conn.execute(
        sa.select(fi.id, fi.participant_id, fi.visit_key, fi.form_id, fi.status, fi.version).where(
            of(form_instance), fi.instance_no == 1
        )
    ).all():
        forms[(int(fr.participant_id), fr.visit_key)][fr.form_id] = (
            int(fr.id),
            fr.status,
            int(fr.version),
        )
    queries: dict[tuple[int, str], int] = defaultdict(int)
    for qr in conn.execute(
        sa.select(fi.participant_id, fi.visit_key, sa.func.count(data_query.c.id).label("n"))
        .join(form_instance, fi.id == data_query.c.form_instance_id)
        .where(of(form_instance), data_query.c.status != "closed")
        .group_by(fi.participant_id, fi.visit_key)
    ).all():
        queries[(int(qr.participant_id), qr.visit_key)] = int(qr.n)
    verified_forms = set(
        conn.execute(
            sa.select(sdv_mark.c.form_instance_id)
            .join(form_instance, fi.id == sdv_mark.c.form_instance_id)
            .where(of(form_instance), sdv_mark.c.item == "*", sdv_mark.c.cleared_at.is_(None))
        ).scalars()
    )
    signed_visits: set[tuple[int, str]] = set()
    signed_forms: set[int] = set()
    signed_casebooks: set[int] = set()
    for sr in conn.execute(
        sa.select(
            signature.c.participant_id,
            signature.c.scope,
            signature.c.visit_key,
            signature.c.form_instance_id,
        ).where(of(signature), signature.c.voided_at.is_(None))
    ).all():
        if sr.scope == "casebook":
            signed_casebooks.add(int(sr.participant_id))
        elif sr.scope == "visit":
            signed_visits.add((int(sr.participant_id), sr.visit_key))
        elif sr.form_instance_id is not None:
            signed_forms.add(int(sr.form_instance_id))
    study_locked = False
    locked_people: set[int] = set()
    locked_forms: set[int] = set()
    rl = record_lock.c
    locks = sa.select(rl.scope, rl.participant_id, rl.form_instance_id).where(
        rl.study_id == study_id, rl.unlocked_at.is_(None)
    )
    if only is not None:  # the study's lock and these participants' own
        locks = locks.where(
            sa.or_(
                rl.scope == "study",
                rl.participant_id.in_(only),
                rl.form_instance_id.in_(sa.select(fi.id).where(fi.participant_id.in_(only))),
            )
        )
    for lr in conn.execute(locks).all():
        if lr.scope == "study":
            study_locked = True
        elif lr.scope == "participant" and lr.participant_id is not None:
            locked_people.add(int(lr.participant_id))
        elif lr.form_instance_id is not None:
            locked_forms.add(int(lr.form_instance_id))
    return _Read(
        anchors,
        records,
        unscheduled,
        forms,
        queries,
        verified_forms,
        signed_visits,
        signed_forms,
        signed_casebooks,
        study_locked,
        locked_people,
        locked_forms,
    )


def _rows(
    ctx: Context,
    study_code: str,
    masked: bool,
    as_of: date,
    people: list[Any],
    read: _Read,
    protocols: Mapping[int, Study],
) -> list[MatrixRow]:
    """The rows of ``people`` (in their order) from what was read."""
    rows: list[MatrixRow] = []
    blank: dict[tuple[str, bool], Mapping[str, str]] = {}
    # one planner per protocol version: calendars planned once per pattern of anchors and
    # once per set of anchor dates (participants consented the same day share one)
    planners = {
        pv: VisitPlanner(protocols[pv]) for pv in {int(p.protocol_version_id) for p in people}
    }
    # the window kept at a visit recorded, once per kept text (the same for the visits of
    # participants who share their anchors)
    kept_windows: dict[str, tuple[date | None, date | None, date | None]] = {}
    # the state of a visit not recorded, once per planned window (it reads nothing else)
    states: dict[tuple[date | None, date | None, date | None], VisitState] = {}
    # what is stored, per participant then visit: most participants' visits have none of it
    forms_of: dict[int, dict[str, dict[str, tuple[int, str, int]]]] = defaultdict(dict)
    for (fpid, fvid), stored_forms in read.forms.items():
        forms_of[fpid][fvid] = stored_forms
    queries_of: dict[int, dict[str, int]] = defaultdict(dict)
    for (qpid, qvid), n in read.queries.items():
        queries_of[qpid][qvid] = n
    signed_visits_of: dict[int, set[str]] = defaultdict(set)
    for spid, svid in read.signed_visits:
        signed_visits_of[spid].add(svid)
    verified_forms, signed_forms, locked_forms = (
        read.verified_forms,
        read.signed_forms,
        read.locked_forms,
    )
    nothing: dict[str, Any] = {}
    for p in people:
        pid = int(p.id)
        status = Status(p.status)
        recs = read.records.get(pid, nothing)
        p_forms = forms_of.get(pid, nothing)
        p_queries = queries_of.get(pid, nothing)
        p_signed_visits = signed_visits_of.get(pid, nothing)
        p_signed = pid in read.signed_casebooks
        p_locked = read.study_locked or pid in read.locked_people
        cells: dict[str, Cell] = {}
        for pv in planners[int(p.protocol_version_id)].plan(read.anchors.get(pid, {})):
            vid = pv.visit.id
            rec = recs.get(vid)
            target, earliest, latest, on = pv.target, pv.earliest, pv.latest, None
            if rec is not None:
                window = kept_windows.get(rec.planned)
                if window is None:
                    kept = canonical.loads(rec.planned)
                    window = kept_windows[rec.planned] = (
                        _day(kept["target"]),
                        _day(kept["earliest"]),
                        _day(kept["latest"]),
                    )
                target, earliest, latest = window
                on = rec.on_date
                state = _state(
                    PlannedVisit(pv.visit, target, earliest, latest, True),
                    as_of,
                    done_on=on if rec.status == "done" else None,
                    missed=rec.status == "missed",
                )
            else:
                window = (target, earliest, latest)
                found = states.get(window)
                if found is None:
                    found = states[window] = _state(pv, as_of)
                state = found
                if state is VisitState.OVERDUE and status not in ACTIVE:
                    state = VisitState.NOT_PLANNED
            stored = p_forms.get(vid)
            if not stored:  # nothing entered: the visit's forms all expected (or missed)
                key = (vid, state in _LATE)
                shared = blank.get(key)
                if shared is None:
                    shared = blank[key] = MappingProxyType(
                        dict.fromkeys(pv.visit.forms, "missed" if key[1] else "expected")
                    )
                cells[vid] = Cell(
                    vid,
                    state,
                    target,
                    earliest,
                    latest,
                    on,
                    shared,
                    p_queries.get(vid, 0),
                    False,
                    p_signed or vid in p_signed_visits,
                    p_locked,
                )
                continue
            entered = [i for i, s, _ in stored.values() if s == "entered"]
            cells[vid] = Cell(
                vid,
                state,
                target,
                earliest,
                latest,
                on,
                MappingProxyType(
                    {
                        f: _form_state(stored[f][1] if f in stored else None, state)
                        for f in pv.visit.forms
                    }
                ),
                p_queries.get(vid, 0),
                bool(entered) and all(i in verified_forms for i in entered),
                p_signed
                or vid in p_signed_visits
                or (bool(entered) and all(i in signed_forms for i in entered)),
                p_locked or (bool(entered) and all(i in locked_forms for i in entered)),
            )
        arm = p.arm
        if arm is not None and not sees_allocation(ctx.principal, study_code, masked, p.site_code):
            arm = None
        rows.append(
            MatrixRow(
                p.code,
                p.site_code,
                status,
                arm,
                cells,
                read.unscheduled.get(pid, 0),
            )
        )
    return rows


@dataclass(frozen=True)
class StudyCard:
    """A study the user belongs to, as the home page lists it."""

    code: str
    title: str
    acronym: str | None
    roles: tuple[tuple[str, str | None, bool], ...]  # (role, site or None: all, unblinded)
    participants: int


def my_studies(db: Database, ctx: Context) -> list[StudyCard]:
    """The studies where ``ctx`` holds a membership that reads records, with their titles and
    the number of participants at the user's sites."""
    codes = sorted(
        {g.study for g in ctx.principal.grants if Permission.READ in ROLE_PERMISSIONS[g.role]}
    )
    out: list[StudyCard] = []
    with db.read() as conn:
        for code in codes:
            ref = studies.protocol(conn, code)
            sites = visible_sites(ctx.principal, Permission.READ, code)
            q = sa.select(sa.func.count(participant.c.id)).where(
                participant.c.study_id == ref.study_id
            )
            if sites is not None:
                q = q.join(site, site.c.id == participant.c.site_id).where(
                    site.c.code.in_(sorted(sites))
                )
            ident = ref.study.identity
            out.append(
                StudyCard(
                    code,
                    ident.public_title or ident.scientific_title,
                    ident.acronym,
                    tuple(
                        (g.role.value, g.site, g.unblinded) for g in ctx.principal.grants_in(code)
                    ),
                    int(conn.execute(q).scalar_one()),
                )
            )
    return out


@dataclass(frozen=True)
class GivenDose:
    """A recorded administration as the participant page shows it."""

    event_id: str
    given_at: datetime
    computed_amount: str
    computed_unit: str
    computed_volume: str | None
    rule: str
    given_amount: str
    given_unit: str
    product_lot: str
    vials: tuple[str, ...]
    deviations: tuple[str, ...]
    #: Amounts, units and the rule withheld from a blinded reader of a masked study.
    blinded: bool = False


def given_doses(db: Database, ctx: Context, study_code: str, code: str) -> list[GivenDose]:
    """The participant's recorded doses, oldest first: the dose computed from the protocol's
    rule, what was given, the lot and vials, and the deviations (READ at the participant's
    site). A blinded reader of a masked study (see :mod:`trialkit.services.access`) gets no
    amount, unit, volume or rule (the dose would reveal the arm) and dose deviations only as
    "the prepared dose deviates", as in ``calendar``."""
    from trialkit.services import lookups
    from trialkit.services.doses import blinded_deviations
    from trialkit.store.tables import dose_record

    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.READ)
        blind = p.arm is not None and lookups.shown(conn, ctx, p).arm is None
        rows = conn.execute(
            sa.select(dose_record)
            .where(dose_record.c.participant_id == p.id)
            .order_by(dose_record.c.given_at, dose_record.c.id)
        ).all()
    out = []
    for r in rows:
        computed = {} if blind else canonical.loads(r.computed)
        deviations = blinded_deviations(canonical.loads(r.deviations), blind)
        out.append(
            GivenDose(
                r.dosing_event_id,
                r.given_at,
                "" if blind else str(computed.get("amount")),
                "" if blind else str(computed.get("unit")),
                None if computed.get("volume") is None else str(computed["volume"]),
                str(computed.get("rule", "")),
                "" if blind else r.given_amount,
                "" if blind else r.given_unit,
                r.product_lot,
                tuple(str(v) for v in canonical.loads(r.vials)),
                tuple(str(d.get("message", d)) for d in deviations),
                blind,
            )
        )
    return out
