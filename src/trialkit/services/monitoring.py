"""Source data verification (SDV): monitors mark items, or whole forms, as checked at source.

A mark (``sdv_mark``) is on one item path of a form instance (see
:mod:`trialkit.services.targets`) or on the whole form (item :data:`WHOLE_FORM`), and records
the form version that was verified, by whom and when. A later save that changes an item clears
the active marks on that item and the whole-form mark; ``cleared_reason`` says which item changed,
by whom and at which form version (``item VS/systolic_bp changed by nurse.teh at form version
3``), and the clearing is audited. A mark on an unchanged item stays.

:func:`sdv_status` gives, per item and for the form: ``verified`` (by, at, version),
``not_verified``, or ``changed_after_verification`` (when and why it was cleared). An item is
verified by its own mark or by an active whole-form mark.

VERIFY (monitors) at the participant's site; locked data may be verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import sqlalchemy as sa

from trialkit.services import studies
from trialkit.services.access import Permission, visible_sites
from trialkit.services.context import Context
from trialkit.services.records import write
from trialkit.services.targets import check_item, form_item_paths, form_target, item_paths
from trialkit.store import Database, canonical
from trialkit.store.tables import data_query, form_instance, participant, sdv_mark, site, study

__all__ = [
    "CHANGED",
    "NOT_VERIFIED",
    "VERIFIED",
    "WHOLE_FORM",
    "FormSdv",
    "ItemSdv",
    "MonitorProgress",
    "Progress",
    "SdvMark",
    "SdvProgress",
    "sdv_progress",
    "sdv_status",
    "verify",
]

#: The item of a mark on the whole form.
WHOLE_FORM = "*"
VERIFIED = "verified"
NOT_VERIFIED = "not_verified"
CHANGED = "changed_after_verification"


@dataclass(frozen=True)
class SdvMark:
    id: int
    item: str
    form_version: int
    verified_by: str
    verified_at: datetime
    cleared_at: datetime | None
    cleared_reason: str | None


@dataclass(frozen=True)
class ItemSdv:
    """The SDV state of an item (or of the form, item ``*``) and the mark it comes from."""

    item: str
    state: str
    verified_by: str | None = None
    verified_at: datetime | None = None
    form_version: int | None = None
    cleared_at: datetime | None = None
    cleared_reason: str | None = None

    @classmethod
    def of(cls, item: str, mark: SdvMark | None) -> ItemSdv:
        if mark is None:
            return cls(item, NOT_VERIFIED)
        state = VERIFIED if mark.cleared_at is None else CHANGED
        return cls(
            item,
            state,
            mark.verified_by,
            mark.verified_at,
            mark.form_version,
            mark.cleared_at,
            mark.cleared_reason,
        )


@dataclass(frozen=True)
class FormSdv:
    """A form instance's SDV: the whole-form state and each item's, at form ``version``."""

    participant: str
    visit: str
    form_id: str
    instance_no: int
    version: int
    form: ItemSdv
    items: dict[str, ItemSdv]

    @property
    def fully_verified(self) -> bool:
        return all(i.state == VERIFIED for i in self.items.values())


def _mark(row: sa.Row[tuple[object, ...]]) -> SdvMark:
    m = row._mapping
    return SdvMark(
        int(m["id"]),
        str(m["item"]),
        int(m["form_version"]),
        str(m["verified_by"]),
        m["verified_at"],
        m["cleared_at"],
        m["cleared_reason"],
    )


def _marks(conn: sa.Connection, form_instance_id: int) -> list[SdvMark]:
    rows = conn.execute(
        sa.select(sdv_mark)
        .where(sdv_mark.c.form_instance_id == form_instance_id)
        .order_by(sdv_mark.c.id)
    ).all()
    return [_mark(r) for r in rows]


def verify(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    items: Sequence[str] | None = None,
    instance_no: int = 1,
) -> list[SdvMark]:
    """Mark ``items`` (None: the whole form) of an entered form as verified at its current
    version; an item already verified keeps its mark. Returns the active marks asked for."""
    with db.write() as conn:
        target = form_target(
            conn,
            ctx,
            study_code,
            participant_code,
            Permission.VERIFY,
            visit=visit,
            form_id=form_id,
            instance_no=instance_no,
        )
        wanted = [WHOLE_FORM] if items is None else list(dict.fromkeys(items))
        for item in wanted:
            if item != WHOLE_FORM:
                check_item(target, item)
        active = {m.item: m for m in _marks(conn, target.id) if m.cleared_at is None}
        out: list[SdvMark] = []
        for item in wanted:
            if item in active:
                out.append(active[item])
                continue
            mark_id = write(
                conn,
                ctx,
                table=sdv_mark,
                action="verify",
                values={
                    "form_instance_id": target.id,
                    "item": item,
                    "form_version": target.version,
                    "verified_by": ctx.actor,
                    "verified_at": ctx.as_of,
                    "cleared_at": None,
                    "cleared_reason": None,
                },
                protocol_version=target.participant.protocol_version,
            )
            out.append(SdvMark(mark_id, item, target.version, ctx.actor, ctx.as_of, None, None))
        return out


def sdv_status(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    instance_no: int = 1,
) -> FormSdv:
    """The SDV state of the form and of each of its items (READ at the participant's site)."""
    with db.read() as conn:
        target = form_target(
            conn,
            ctx,
            study_code,
            participant_code,
            Permission.READ,
            visit=visit,
            form_id=form_id,
            instance_no=instance_no,
        )
        latest: dict[str, SdvMark] = {}
        active: dict[str, SdvMark] = {}
        for m in _marks(conn, target.id):
            latest[m.item] = m
            if m.cleared_at is None:
                active[m.item] = m
        whole = active.get(WHOLE_FORM)
        states: dict[str, ItemSdv] = {}
        for item in item_paths(target):
            own = active.get(item)
            if own is not None:
                states[item] = ItemSdv.of(item, own)
            elif whole is not None:
                states[item] = ItemSdv.of(item, whole)
            else:
                states[item] = ItemSdv.of(item, latest.get(item))
        return FormSdv(
            target.participant.code,
            target.visit,
            target.form_id,
            target.instance_no,
            target.version,
            ItemSdv.of(WHOLE_FORM, latest.get(WHOLE_FORM)),
            states,
        )


def clear_changed(
    conn: sa.Connection,
    ctx: Context,
    form_instance_id: int,
    changed: Sequence[str],
    version: int,
    protocol_version: str,
) -> list[str]:
    """The save_form hook: clear the active marks on the ``changed`` item paths and the
    whole-form mark, saying which item changed, by whom, at which form ``version``. Returns the
    items whose marks were cleared."""
    changed_set = set(changed)
    cleared: list[str] = []
    for m in _marks(conn, form_instance_id):
        if m.cleared_at is not None or (m.item != WHOLE_FORM and m.item not in changed_set):
            continue
        if m.item == WHOLE_FORM:
            names = ", ".join(changed)
            what = f"item {names} changed" if len(changed) == 1 else f"items {names} changed"
        else:
            what = f"item {m.item} changed"
        reason = f"{what} by {ctx.actor} at form version {version}"
        write(
            conn,
            ctx,
            table=sdv_mark,
            row_id=m.id,
            action="sdv_clear",
            values={"cleared_at": ctx.as_of, "cleared_reason": reason},
            reason=reason,
            protocol_version=protocol_version,
        )
        cleared.append(m.item)
    return cleared


@dataclass(frozen=True)
class Progress:
    """SDV progress of a site or a form: entered forms, those with no active mark (entered but
    not reviewed), items and items verified, and the queries not closed with the oldest's age
    in whole days."""

    key: str
    forms_entered: int = 0
    forms_not_reviewed: int = 0
    items: int = 0
    items_verified: int = 0
    open_queries: int = 0
    oldest_query_days: int | None = None

    @property
    def share_verified(self) -> Fraction:
        """Items verified out of items (0 when there are none), exactly."""
        return Fraction(self.items_verified, self.items) if self.items else Fraction(0)


@dataclass(frozen=True)
class MonitorProgress:
    """What one monitor verified (active marks only): forms with a mark of theirs and items."""

    monitor: str
    forms: int
    items_verified: int


@dataclass(frozen=True)
class SdvProgress:
    """A study's SDV progress at the caller's sites: overall, per site, per form, per monitor."""

    study: str
    total: Progress
    by_site: tuple[Progress, ...]
    by_form: tuple[Progress, ...]
    by_monitor: tuple[MonitorProgress, ...]


@dataclass
class _Tally:
    forms: int = 0
    not_reviewed: int = 0
    items: int = 0
    verified: int = 0
    queries: int = 0
    oldest: int | None = None

    def add_query(self, days: int) -> None:
        self.queries += 1
        self.oldest = days if self.oldest is None else max(self.oldest, days)

    def row(self, key: str) -> Progress:
        return Progress(
            key, self.forms, self.not_reviewed, self.items, self.verified, self.queries, self.oldest
        )


def sdv_progress(db: Database, ctx: Context, study_code: str) -> SdvProgress:
    """The study's SDV progress over the entered forms at the sites ``ctx`` may read, on
    ``ctx.as_of``: share of items verified (an item by its own active mark or an active
    whole-form mark), forms entered but not reviewed (no active mark at all), and the data
    queries not closed with their age, per site and per form; and what each monitor verified."""
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    where = [study.c.code == study_code]
    if sites is not None:
        where.append(site.c.code.in_(sorted(sites)))
    with db.read() as conn:
        studies.protocol(conn, study_code)  # an unknown study is not found
        base = (
            sa.select(
                form_instance.c.id,
                form_instance.c.form_id,
                form_instance.c.data,
                form_instance.c.protocol_version_id,
                site.c.code.label("site_code"),
            )
            .select_from(form_instance)
            .join(participant, participant.c.id == form_instance.c.participant_id)
            .join(site, site.c.id == participant.c.site_id)
            .join(study, study.c.id == participant.c.study_id)
            .where(*where)
        )
        forms = conn.execute(
            base.where(form_instance.c.status == "entered").order_by(form_instance.c.id)
        ).all()
        scope = base.with_only_columns(form_instance.c.id).scalar_subquery()
        marks = conn.execute(
            sa.select(sdv_mark.c.form_instance_id, sdv_mark.c.item, sdv_mark.c.verified_by).where(
                sdv_mark.c.cleared_at.is_(None), sdv_mark.c.form_instance_id.in_(scope)
            )
        ).all()
        queries = conn.execute(
            sa.select(data_query.c.form_instance_id, data_query.c.opened_at).where(
                data_query.c.status != "closed", data_query.c.form_instance_id.in_(scope)
            )
        ).all()
        definitions = {
            v: studies.protocol_by_id(conn, v).study
            for v in sorted({int(r.protocol_version_id) for r in forms})
        }
    active: dict[int, dict[str, str]] = {}
    for m in marks:
        active.setdefault(int(m.form_instance_id), {})[str(m.item)] = str(m.verified_by)
    total, per_site, per_form = _Tally(), dict[str, _Tally](), dict[str, _Tally]()
    per_monitor: dict[str, list[int]] = {}
    where_of: dict[int, tuple[str, str]] = {}
    for r in forms:
        fid = int(r.id)
        where_of[fid] = (str(r.site_code), str(r.form_id))
        definition = definitions[int(r.protocol_version_id)].form(str(r.form_id))
        paths = form_item_paths(definition, canonical.loads(r.data)) if definition else []
        own = active.get(fid, {})
        whole = own.get(WHOLE_FORM)
        verified = [p for p in paths if p in own or whole is not None]
        tallies = (
            total,
            per_site.setdefault(str(r.site_code), _Tally()),
            per_form.setdefault(str(r.form_id), _Tally()),
        )
        for t in tallies:
            t.forms += 1
            t.not_reviewed += 0 if own else 1
            t.items += len(paths)
            t.verified += len(verified)
        for monitor in set(own.values()):
            counts = per_monitor.setdefault(monitor, [0, 0])
            counts[0] += 1
        for p in verified:
            by = own.get(p, whole)
            assert by is not None
            per_monitor.setdefault(by, [0, 0])[1] += 1
    for q in queries:
        days = max(0, (ctx.as_of.date() - q.opened_at.date()).days)
        site_code, form_id = where_of.get(int(q.form_instance_id), ("", ""))
        total.add_query(days)
        if site_code:  # a query on a form not entered (marked not required) counts overall
            per_site.setdefault(site_code, _Tally()).add_query(days)
            per_form.setdefault(form_id, _Tally()).add_query(days)
    return SdvProgress(
        study_code,
        total.row("total"),
        tuple(t.row(k) for k, t in sorted(per_site.items())),
        tuple(t.row(k) for k, t in sorted(per_form.items())),
        tuple(MonitorProgress(m, c[0], c[1]) for m, c in sorted(per_monitor.items())),
    )
