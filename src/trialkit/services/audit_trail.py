"""The audit trail as its readers see it: a participant's entries, a study's, and the proof.

The trail (``audit_log``) holds one entry per changed field: who, when, the action, the row
(``entity``, ``entity_id``), the field or item path, the old and new values, the reason and the
protocol version. It has no study column: an entry belongs to a study through the row it
changed (a participant and every row that names the participant or one of their form instances;
for the study also the study, its protocol versions, sites, memberships, allocation state,
stopping-rule pauses, safety decisions and locks). User accounts and API tokens are not study
records and are not shown here.

* :func:`participant_trail`: every entry of the participant's rows, newest first, a page at a
  time (READ at the participant's site; a participant elsewhere is not found, as everywhere).
  One form's entries grouped per save are :func:`trialkit.services.form_views.form_history`.
* :func:`study_trail`: every entry of the study's rows, newest first, a page at a time (READ at
  every site of the study).
* :func:`verify_trail`: the hash chain and the replay of every audited table
  (:func:`trialkit.store.verify_all`), for those who may lock the study (data managers). It
  proves the whole database, so its result is the same for every study.

**Blinding.** The trail holds the allocation (the ``allocation`` rows, the participant's arm,
the pharmacist's preparations). In a masked study it is shown only to readers who see
allocations; a blinded reader is refused (``AUDIT.E010``) rather than shown a filtered trail.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.errors import AccessDenied, ValidationFailed
from trialkit.services import lookups, studies
from trialkit.services.access import Permission, require, sees_allocation
from trialkit.services.context import Context
from trialkit.store import Database, Verification, canonical, verify_all
from trialkit.store import tables as t
from trialkit.store.tables import audit_log

__all__ = [
    "PER_PAGE",
    "AuditChange",
    "AuditEntry",
    "TrailPage",
    "participant_trail",
    "study_trail",
    "verify_trail",
]

#: Entries per page.
PER_PAGE = 50
_MAX_PER_PAGE = 500


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the trail: one field of one row, before and after (None: absent)."""

    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    path: str
    old: Any
    new: Any
    reason: str | None
    protocol_version: str | None


@dataclass(frozen=True)
class AuditChange:
    """Consecutive entries of one write: one row changed at once by one actor, for one reason
    (``entries`` newest first, as on the page)."""

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    reason: str | None
    protocol_version: str | None
    entries: tuple[AuditEntry, ...]


@dataclass(frozen=True)
class TrailPage:
    """One page of entries, newest first, and where it sits among all of them."""

    entries: tuple[AuditEntry, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def changes(self) -> list[AuditChange]:
        """The page's entries grouped per write (a write cut by the page's edge is shown in
        part on each page)."""
        out: list[AuditChange] = []
        for e in self.entries:
            last = out[-1] if out else None
            if (
                last is not None
                and (last.at, last.actor, last.action, last.entity, last.entity_id, last.reason)
                == (e.at, e.actor, e.action, e.entity, e.entity_id, e.reason)
                and last.entries[-1].seq == e.seq + 1
            ):
                out[-1] = replace(last, entries=(*last.entries, e))
                continue
            out.append(
                AuditChange(
                    e.at,
                    e.actor,
                    e.action,
                    e.entity,
                    e.entity_id,
                    e.reason,
                    e.protocol_version,
                    (e,),
                )
            )
        return out


def _ids(table: sa.Table, where: Any) -> Any:
    return sa.select(sa.cast(table.c.id, sa.String)).where(where).scalar_subquery()


def _mine(table: sa.Table, where: Any) -> Any:
    return sa.and_(audit_log.c.entity == table.name, audit_log.c.entity_id.in_(_ids(table, where)))


def _participant_rows(people: Any) -> list[Any]:
    """Conditions selecting the entries of the rows of the participants ``people`` selects."""
    instances = sa.select(t.form_instance.c.id).where(t.form_instance.c.participant_id.in_(people))
    queries = sa.select(t.data_query.c.id).where(t.data_query.c.form_instance_id.in_(instances))
    found = [_mine(t.participant, t.participant.c.id.in_(people))]
    for table in t.metadata.sorted_tables:
        if table.name != "participant" and "participant_id" in table.c and table.name in _AUDITED:
            found.append(_mine(table, table.c.participant_id.in_(people)))
    found.append(_mine(t.data_query, t.data_query.c.form_instance_id.in_(instances)))
    found.append(_mine(t.sdv_mark, t.sdv_mark.c.form_instance_id.in_(instances)))
    found.append(_mine(t.query_event, t.query_event.c.query_id.in_(queries)))
    return found


def _study_rows(study_id: int) -> list[Any]:
    people = sa.select(t.participant.c.id).where(t.participant.c.study_id == study_id)
    found = _participant_rows(people)
    found.append(sa.and_(audit_log.c.entity == "study", audit_log.c.entity_id == str(study_id)))
    for table in t.metadata.sorted_tables:
        if (
            "study_id" in table.c
            and "participant_id" not in table.c
            and table.name in _AUDITED
            and table.name not in _NOT_STUDY_RECORDS
        ):
            found.append(_mine(table, table.c.study_id == study_id))
    # The approvals of the study's protocol versions (amendments) name no study column.
    versions = sa.select(t.protocol_version.c.id).where(t.protocol_version.c.study_id == study_id)
    found.append(
        _mine(t.protocol_approval, t.protocol_approval.c.protocol_version_id.in_(versions))
    )
    # A study-wide lock names no participant.
    found.append(
        _mine(
            t.record_lock,
            sa.and_(t.record_lock.c.study_id == study_id, t.record_lock.c.participant_id.is_(None)),
        )
    )
    return found


def _audited() -> frozenset[str]:
    from trialkit.store.audited import AUDITED

    return frozenset(AUDITED)


_AUDITED = _audited()
#: Rows with a study column that are not the study's records (secrets, accounts).
_NOT_STUDY_RECORDS = frozenset({"api_token"})


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return canonical.loads(text)
    except (ValueError, TypeError):
        return text


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        int(r.seq),
        datetime.fromisoformat(r.at),
        r.actor,
        r.action,
        r.entity,
        r.entity_id,
        r.path,
        _loads(r.old),
        _loads(r.new),
        r.reason,
        r.protocol_version,
    )


def _page(
    conn: sa.Connection, where: list[Any], page: int, per_page: int, before: int | None = None
) -> TrailPage:
    if page < 1 or not 1 <= per_page <= _MAX_PER_PAGE:
        raise ValidationFailed(
            f"page {page} of {per_page} entries is not a page of the trail",
            code="AUDIT.E001",
            hint=f"pages start at 1; at most {_MAX_PER_PAGE} entries a page",
        )
    cond = sa.or_(*where)
    if before is not None:  # keyset: the entries older than ``before`` (and total counts them)
        cond = sa.and_(cond, audit_log.c.seq < before)
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(cond)).scalar_one()
    )
    rows = conn.execute(
        sa.select(audit_log)
        .where(cond)
        .order_by(audit_log.c.seq.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return TrailPage(tuple(_entry(r) for r in rows), page, per_page, total)


def _ensure_unblinded(ctx: Context, conn: sa.Connection, study_code: str, site: str | None) -> None:
    masked = studies.protocol(conn, study_code).study.design.masking.level != "none"
    if not sees_allocation(ctx.principal, study_code, masked, site):
        raise AccessDenied(
            f"study {study_code} is masked: its audit trail holds the allocation, which your "
            "role does not see",
            code="AUDIT.E010",
            hint="the trail of a masked study is read by unblinded roles (the safety board, "
            "memberships marked unblinded)",
        )


def participant_trail(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    before: int | None = None,
) -> TrailPage:
    """Every audit entry of the participant's rows, newest first (see the module doc);
    ``before``: only the entries older than that sequence number (keyset paging)."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, code, Permission.READ)
        _ensure_unblinded(ctx, conn, study_code, p.site)
        rows = _participant_rows(sa.select(sa.literal(p.id)))
        return _page(conn, rows, page, per_page, before)


def study_trail(
    db: Database,
    ctx: Context,
    study_code: str,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    before: int | None = None,
) -> TrailPage:
    """Every audit entry of the study's rows, newest first (see the module doc); ``before``:
    only the entries older than that sequence number (keyset paging)."""
    require(ctx.principal, Permission.READ, study_code, None)
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)
        _ensure_unblinded(ctx, conn, study_code, None)
        return _page(conn, _study_rows(ref.study_id), page, per_page, before)


def verify_trail(db: Database, ctx: Context, study_code: str) -> Verification:
    """Prove the trail: the hash chain and every audited table replayed from it (data
    managers: the permission to lock the study)."""
    require(ctx.principal, Permission.LOCK, study_code, None)
    with db.read() as conn:
        studies.protocol(conn, study_code)
        return verify_all(conn)
