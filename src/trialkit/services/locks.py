"""Locks: data managers lock and unlock a form, a participant's records or a whole study.

A lock is a ``record_lock`` row; it is active until unlocked (``unlocked_at`` set), and both
steps are audited with their reason. :func:`ensure_unlocked` is the one check every write path
for clinical data calls (forms, doses, visits, the participant's lifecycle, registration); a
locked record refuses the change with a :class:`~trialkit.errors.LockedError` naming what is
locked, by whom, since when and why.

What a lock does not stop (the choices of docs/oversight.md): reading, source data
verification, signing, answering, commenting on and closing data queries. Opening or re-opening
a query on locked data is refused (a new discrepancy means the data may have to change: unlock
first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from trialkit.errors import ConflictError, LockedError, ValidationFailed
from trialkit.services import lookups, studies
from trialkit.services.access import Permission, require, visible_sites
from trialkit.services.context import Context
from trialkit.services.records import write
from trialkit.services.targets import load_form
from trialkit.store import Database
from trialkit.store.tables import form_instance, participant, record_lock, site, study

__all__ = ["Lock", "LockScope", "ensure_unlocked", "lock", "locks", "unlock"]

LockScope = Literal["study", "participant", "form"]
_SCOPES = ("study", "participant", "form")
_HINT = "ask a data manager to unlock it"


@dataclass(frozen=True)
class Lock:
    """A lock: ``scope`` and what it holds (participant, visit, form), who set it, when and why."""

    id: int
    scope: str
    study: str
    participant: str | None
    site: str | None
    visit: str | None
    form_id: str | None
    instance_no: int | None
    reason: str
    locked_by: str
    locked_at: datetime
    unlocked_by: str | None = None
    unlocked_at: datetime | None = None
    unlock_reason: str | None = None

    @property
    def target(self) -> str:
        """What is locked, in words (``participant TEH-001``, ``study ...``, ``form ...``)."""
        if self.scope == "study":
            return f"study {self.study}"
        if self.scope == "participant":
            return f"participant {self.participant}"
        instance = f" (instance {self.instance_no})" if self.instance_no not in (None, 1) else ""
        return (
            f"form {self.form_id}{instance} at visit {self.visit} of participant {self.participant}"
        )


_SELECT = (
    sa.select(
        record_lock,
        study.c.code.label("study_code"),
        participant.c.code.label("participant_code"),
        site.c.code.label("site_code"),
        form_instance.c.visit_key,
        form_instance.c.form_id,
        form_instance.c.instance_no,
    )
    .select_from(record_lock)
    .join(study, study.c.id == record_lock.c.study_id)
    .outerjoin(form_instance, form_instance.c.id == record_lock.c.form_instance_id)
    .outerjoin(
        participant,
        participant.c.id
        == sa.func.coalesce(record_lock.c.participant_id, form_instance.c.participant_id),
    )
    .outerjoin(site, site.c.id == participant.c.site_id)
)
_ORDER = sa.case({"study": 0, "participant": 1}, value=record_lock.c.scope, else_=2)


def _lock(row: sa.Row[tuple[object, ...]]) -> Lock:
    m = row._mapping
    return Lock(
        int(m["id"]),
        str(m["scope"]),
        str(m["study_code"]),
        m["participant_code"],
        m["site_code"],
        m["visit_key"],
        m["form_id"],
        m["instance_no"],
        str(m["reason"]),
        str(m["locked_by"]),
        m["locked_at"],
        m["unlocked_by"],
        m["unlocked_at"],
        m["unlock_reason"],
    )


def active_locks(
    conn: sa.Connection,
    study_id: int | None,
    participant_id: int | None = None,
    form_instance_id: int | None = None,
) -> list[Lock]:
    """The active locks that hold the study, the participant or the form instance, broadest
    first (``study_id`` None: the participant's study)."""
    if study_id is None and participant_id is None:
        raise ValueError("name the study or the participant whose locks to look up")
    study_ref: sa.ColumnElement[int] | int = (
        study_id
        if study_id is not None
        else sa.select(participant.c.study_id)
        .where(participant.c.id == participant_id)
        .scalar_subquery()
    )
    held = [sa.and_(record_lock.c.scope == "study", record_lock.c.study_id == study_ref)]
    if participant_id is not None:
        held.append(
            sa.and_(
                record_lock.c.scope == "participant", record_lock.c.participant_id == participant_id
            )
        )
    if form_instance_id is not None:
        held.append(
            sa.and_(
                record_lock.c.scope == "form", record_lock.c.form_instance_id == form_instance_id
            )
        )
    rows = conn.execute(
        _SELECT.where(record_lock.c.unlocked_at.is_(None), sa.or_(*held)).order_by(
            _ORDER, record_lock.c.id
        )
    ).all()
    return [_lock(r) for r in rows]


def ensure_unlocked(
    conn: sa.Connection,
    study_id: int | None,
    participant_id: int | None = None,
    form_instance_id: int | None = None,
) -> None:
    """Refuse (:class:`LockedError`) if the study, the participant or the form instance is
    locked; ``study_id`` None means the participant's study.

    Codes: ``LOCK.E001`` the study is locked, ``LOCK.E002`` the participant, ``LOCK.E003`` the
    form. The broadest lock is named first (unlocking a form does not help in a locked study).
    """
    found = active_locks(conn, study_id, participant_id, form_instance_id)
    if not found:
        return
    first = found[0]
    more = "".join(f"; {lk.target} is locked too" for lk in found[1:])
    raise LockedError(
        f"{first.target} is locked by {first.locked_by} since "
        f"{first.locked_at:%Y-%m-%d %H:%M} (reason: {first.reason}): nothing can be changed "
        f"there{more}",
        code={"study": "LOCK.E001", "participant": "LOCK.E002"}.get(first.scope, "LOCK.E003"),
        hint=_HINT,
    )


@dataclass(frozen=True)
class _Target:
    study_code: str
    study_id: int
    participant_id: int | None
    form_instance_id: int | None
    protocol_version: str | None


def _target(
    conn: sa.Connection,
    ctx: Context,
    study_code: str,
    scope: str,
    participant_code: str | None,
    visit: str | None,
    form_id: str | None,
    instance_no: int,
) -> _Target:
    if scope not in _SCOPES:
        raise ValidationFailed(
            f"lock scope {scope!r} is not one of {', '.join(_SCOPES)}", code="LOCK.E013"
        )
    needs = {"study": (), "participant": ("participant",), "form": ("participant", "visit", "form")}
    given = {"participant": participant_code, "visit": visit, "form": form_id}
    missing = [n for n in needs[scope] if not given[n]]
    extra = [n for n, v in given.items() if v and n not in needs[scope]]
    if missing or extra:
        wanted = ", ".join(needs[scope]) or "no participant, visit or form"
        raise ValidationFailed(
            f"a {scope} lock names {wanted}"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not expected: {', '.join(extra)}" if extra else ""),
            code="LOCK.E013",
        )
    if scope == "study":
        require(ctx.principal, Permission.LOCK, study_code, None)
        ref = studies.protocol(conn, study_code)
        return _Target(study_code, ref.study_id, None, None, None)
    assert participant_code is not None
    p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.LOCK)
    ref = studies.protocol_by_id(conn, p.protocol_version_id)
    if scope == "participant":
        return _Target(study_code, ref.study_id, p.id, None, p.protocol_version)
    assert visit is not None
    assert form_id is not None
    form = load_form(conn, p, visit, form_id, instance_no, entered=False)
    return _Target(study_code, ref.study_id, p.id, form.id, p.protocol_version)


def _same(t: _Target, scope: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        record_lock.c.unlocked_at.is_(None),
        record_lock.c.scope == scope,
        record_lock.c.study_id == t.study_id,
        record_lock.c.participant_id.is_(None)
        if t.participant_id is None
        else record_lock.c.participant_id == t.participant_id,
        record_lock.c.form_instance_id.is_(None)
        if t.form_instance_id is None
        else record_lock.c.form_instance_id == t.form_instance_id,
    )


def _need_reason(reason: str, what: str) -> str:
    if not reason.strip():
        raise ValidationFailed(
            f"{what} needs a reason", code="LOCK.E012", errors={"reason": ["give the reason"]}
        )
    return reason.strip()


def lock(
    db: Database,
    ctx: Context,
    study_code: str,
    *,
    scope: LockScope,
    participant: str | None = None,
    visit: str | None = None,
    form_id: str | None = None,
    instance_no: int = 1,
    reason: str,
) -> Lock:
    """Lock a form instance, a participant's records or the whole study against changes.

    Needs LOCK at the participant's site; a study lock needs LOCK at every site.
    """
    why = _need_reason(reason, "locking")
    with db.write() as conn:
        t = _target(conn, ctx, study_code, scope, participant, visit, form_id, instance_no)
        held = conn.execute(_SELECT.where(_same(t, scope))).first()
        if held is not None:
            existing = _lock(held)
            raise ConflictError(
                f"{existing.target} is already locked by {existing.locked_by} since "
                f"{existing.locked_at:%Y-%m-%d %H:%M} (reason: {existing.reason})",
                code="LOCK.E010",
            )
        lock_id = write(
            conn,
            ctx,
            table=record_lock,
            action="lock",
            values={
                "study_id": t.study_id,
                "scope": scope,
                "participant_id": t.participant_id,
                "form_instance_id": t.form_instance_id,
                "reason": why,
                "locked_by": ctx.actor,
                "locked_at": ctx.as_of,
                "unlocked_by": None,
                "unlocked_at": None,
                "unlock_reason": None,
            },
            reason=why,
            protocol_version=t.protocol_version,
        )
        return _lock(conn.execute(_SELECT.where(record_lock.c.id == lock_id)).one())


def unlock(
    db: Database,
    ctx: Context,
    study_code: str,
    *,
    scope: LockScope,
    participant: str | None = None,
    visit: str | None = None,
    form_id: str | None = None,
    instance_no: int = 1,
    reason: str,
) -> Lock:
    """Lift the active lock of ``scope`` on the target (the same permission as :func:`lock`)."""
    why = _need_reason(reason, "unlocking")
    with db.write() as conn:
        t = _target(conn, ctx, study_code, scope, participant, visit, form_id, instance_no)
        held = conn.execute(_SELECT.where(_same(t, scope))).first()
        if held is None:
            what = {
                "study": f"study {study_code}",
                "participant": f"participant {participant}",
                "form": f"form {form_id} at visit {visit} of participant {participant}",
            }[scope]
            raise ConflictError(
                f"{what} is not locked (no active {scope} lock)",
                code="LOCK.E011",
                hint="see the active locks with `locks`",
            )
        write(
            conn,
            ctx,
            table=record_lock,
            row_id=int(held.id),
            action="unlock",
            values={"unlocked_by": ctx.actor, "unlocked_at": ctx.as_of, "unlock_reason": why},
            reason=why,
            protocol_version=t.protocol_version,
        )
        return _lock(conn.execute(_SELECT.where(record_lock.c.id == held.id)).one())


def locks(db: Database, ctx: Context, study_code: str) -> list[Lock]:
    """The study's active locks at the sites ``ctx`` may read (a study lock is always shown)."""
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        q = _SELECT.where(study.c.code == study_code, record_lock.c.unlocked_at.is_(None))
        if sites is not None:
            q = q.where(sa.or_(record_lock.c.scope == "study", site.c.code.in_(sorted(sites))))
        rows = conn.execute(q.order_by(_ORDER, record_lock.c.id)).all()
        return [_lock(r) for r in rows]
