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
resolved once, and participants whose anchors fall at the same times share one plan). A matrix is
kept for the next calls until an audited change moves the head of the audit trail (every
table it reads is audited), so paging, sorting and filtering it again costs one query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import sqlalchemy as sa

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
from trialkit.store.tables import (
    anchor,
    audit_head,
    data_query,
    form_instance,
    participant,
    record_lock,
    sdv_mark,
    signature,
    site,
    study,
    visit_record,
)

__all__ = [
    "Cell",
    "GivenDose",
    "Matrix",
    "MatrixRow",
    "MatrixVisit",
    "StudyCard",
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


#: The matrices computed last per database (least recently used out first), shared by every
#: request of the process: see :func:`status_matrix`.
CACHE_SIZE = 8
_caches: WeakKeyDictionary[Database, OrderedDict[tuple[object, ...], Matrix]] = WeakKeyDictionary()
_cache_lock = threading.Lock()


def status_matrix(db: Database, ctx: Context, study_code: str, as_of: date) -> Matrix:
    """The study's matrix on ``as_of`` at the sites ``ctx`` may read (READ).

    A matrix is computed once per state of the records: it is kept (the last
    :data:`CACHE_SIZE`) under the head of the audit trail, which every change to a table it
    reads moves in the same transaction, with the database, the study, the day and what the
    user's memberships let them see (sites, arms). Any audited change computes it afresh at
    the next call. The matrix and its rows are shared: read them, never change them.
    """
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        head = tuple(
            conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).one_or_none() or ()
        )
    seen = tuple(
        sorted(
            (g.role.value, g.site or "", g.unblinded) for g in ctx.principal.grants_in(study_code)
        )
    )
    key = (head, study_code, as_of, ctx.principal.operator, seen)
    with _cache_lock:
        cache = _caches.setdefault(db, OrderedDict())
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
    computed = _compute(db, ctx, study_code, as_of, sites)
    with _cache_lock:
        cache[key] = computed
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return computed


def _compute(
    db: Database, ctx: Context, study_code: str, as_of: date, sites: frozenset[str] | None
) -> Matrix:
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)
        masked = ref.study.design.masking.level != "none"
        site_rows = conn.execute(
            sa.select(site.c.code).where(site.c.study_id == ref.study_id).order_by(site.c.code)
        ).scalars()
        shown_sites = [s for s in site_rows if sites is None or s in sites]
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
            .join(study, study.c.id == participant.c.study_id)
            .where(study.c.code == study_code)
            .order_by(participant.c.code)
        )
        if sites is not None:
            q = q.where(site.c.code.in_(sorted(sites)))
        people = conn.execute(q).all()
        # the same participants as a subquery: one statement whatever their number (an IN
        # list of every id costs a bind parameter each, compiled again on every call)
        ids = (
            sa.select(participant.c.id)
            .join(site, site.c.id == participant.c.site_id)
            .where(participant.c.study_id == ref.study_id)
        )
        if sites is not None:
            ids = ids.where(site.c.code.in_(sorted(sites)))

        def of(table: sa.Table, column: str = "participant_id") -> sa.ColumnElement[bool]:
            return table.c[column].in_(ids.scalar_subquery())

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
        instance_of: dict[int, tuple[int, str, str]] = {}
        for fr in conn.execute(
            sa.select(
                form_instance.c.id,
                form_instance.c.participant_id,
                form_instance.c.visit_key,
                form_instance.c.form_id,
                form_instance.c.status,
                form_instance.c.version,
            ).where(of(form_instance), form_instance.c.instance_no == 1)
        ).all():
            forms[(int(fr.participant_id), fr.visit_key)][fr.form_id] = (
                int(fr.id),
                fr.status,
                int(fr.version),
            )
            instance_of[int(fr.id)] = (int(fr.participant_id), fr.visit_key, fr.form_id)
        fi = form_instance.c
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
        for lr in conn.execute(
            sa.select(
                record_lock.c.scope, record_lock.c.participant_id, record_lock.c.form_instance_id
            ).where(record_lock.c.study_id == ref.study_id, record_lock.c.unlocked_at.is_(None))
        ).all():
            if lr.scope == "study":
                study_locked = True
            elif lr.scope == "participant" and lr.participant_id is not None:
                locked_people.add(int(lr.participant_id))
            elif lr.form_instance_id is not None:
                locked_forms.add(int(lr.form_instance_id))
        protocols = {
            pv: studies.protocol_by_id(conn, pv).study
            for pv in {int(p.protocol_version_id) for p in people}
        }

    rows: list[MatrixRow] = []
    blank: dict[tuple[str, bool], Mapping[str, str]] = {}
    # one planner per protocol version: calendars planned once per pattern of anchors and
    # once per set of anchor dates (participants consented the same day share one)
    planners = {pv: VisitPlanner(spec) for pv, spec in protocols.items()}
    # the window kept at a visit recorded, once per kept text (the same for the visits of
    # participants who share their anchors)
    kept_windows: dict[str, tuple[date | None, date | None, date | None]] = {}
    # the state of a visit not recorded, once per planned window (it reads nothing else)
    states: dict[tuple[date | None, date | None, date | None], VisitState] = {}
    # what is stored, per participant then visit: most participants' visits have none of it
    forms_of: dict[int, dict[str, dict[str, tuple[int, str, int]]]] = defaultdict(dict)
    for (fpid, fvid), stored_forms in forms.items():
        forms_of[fpid][fvid] = stored_forms
    queries_of: dict[int, dict[str, int]] = defaultdict(dict)
    for (qpid, qvid), n in queries.items():
        queries_of[qpid][qvid] = n
    signed_visits_of: dict[int, set[str]] = defaultdict(set)
    for spid, svid in signed_visits:
        signed_visits_of[spid].add(svid)
    nothing: dict[str, Any] = {}
    for p in people:
        pid = int(p.id)
        status = Status(p.status)
        recs = records.get(pid, nothing)
        p_forms = forms_of.get(pid, nothing)
        p_queries = queries_of.get(pid, nothing)
        p_signed_visits = signed_visits_of.get(pid, nothing)
        p_signed = pid in signed_casebooks
        p_locked = study_locked or pid in locked_people
        cells: dict[str, Cell] = {}
        for pv in planners[int(p.protocol_version_id)].plan(anchors.get(pid, {})):
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
                unscheduled.get(pid, 0),
            )
        )
    visits = [MatrixVisit(v.id, v.name) for v in ref.study.timeline.visits]
    return Matrix(
        study_code,
        ref.study.identity.acronym or ref.study.identity.scientific_title,
        as_of,
        visits,
        shown_sites,
        tuple(rows),
        masked,
    )


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
