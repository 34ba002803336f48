"""Data queries (discrepancies): opened on an item of an entered form, answered, closed, re-opened.

A query is opened by a person (:func:`open_query`, on an item path, see
:mod:`trialkit.services.targets`) or by a failed soft edit check when a form is saved (its
``check_id`` set and its item ``check:<ID>``). Its states::

    open --answer--> answered --close--> closed
    open --close--> closed                     (opened in error, or the data were corrected)
    answered, closed --reopen--> open
    any state --comment--> the same state

Every action is a ``query_event`` row (the query's history) and, except a comment, moves the
``data_query`` row's status and ``version``: an action names the version it was taken on, and a
stale one is a :class:`~trialkit.errors.ConflictError` (someone acted meanwhile). A query the
edit check opened is closed by the system when a later save of the form passes the check.

Who: OPEN_QUERY to open (investigators, data managers, monitors), ANSWER_QUERY to answer (site
staff), CLOSE_QUERY to close and re-open (data managers, monitors); a comment needs any of the
three. Each at the participant's site. Opening and re-opening are refused on locked data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from trialkit.errors import AccessDenied, ConflictError, NotFound, TransitionError, ValidationFailed
from trialkit.services import lookups
from trialkit.services.access import Permission, require, visible_sites
from trialkit.services.context import Context
from trialkit.services.locks import ensure_unlocked
from trialkit.services.records import StaleVersion, write
from trialkit.services.targets import check_item, form_target, load_form
from trialkit.store import Database
from trialkit.store.tables import data_query, form_instance, participant, query_event, site, study

__all__ = [
    "AGE_BANDS",
    "STATUSES",
    "DataQuery",
    "QueryEvent",
    "QuerySummary",
    "age_days",
    "allowed_actions",
    "answer_query",
    "close_query",
    "comment",
    "item_queries",
    "list_queries",
    "open_query",
    "query_history",
    "reopen_query",
    "summarise_queries",
]

#: The states of a query.
STATUSES = ("open", "answered", "closed")

# action -> (states it may be taken from, the state it leads to, the permission it needs)
_MOVES: dict[str, tuple[frozenset[str], str, Permission]] = {
    "answer": (frozenset({"open"}), "answered", Permission.ANSWER_QUERY),
    "close": (frozenset({"open", "answered"}), "closed", Permission.CLOSE_QUERY),
    "reopen": (frozenset({"answered", "closed"}), "open", Permission.CLOSE_QUERY),
}
_TAKING_PART = (Permission.OPEN_QUERY, Permission.ANSWER_QUERY, Permission.CLOSE_QUERY)


def allowed_actions(status: str) -> list[str]:
    """The actions a query in ``status`` allows (``comment`` always)."""
    return [a for a, (sources, _, _) in _MOVES.items() if status in sources] + ["comment"]


@dataclass(frozen=True)
class QueryEvent:
    """One step of a query's history: the action, its text, the status after it, who and when."""

    id: int
    action: str
    text: str
    status: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class DataQuery:
    """A query on an item of a form instance; ``check_id`` is set when an edit check opened it."""

    id: int
    study: str
    participant: str
    site: str
    visit: str
    form_id: str
    instance_no: int
    item: str
    check_id: str | None
    text: str
    status: str
    opened_by: str
    opened_at: datetime
    updated_at: datetime | None
    version: int
    events: tuple[QueryEvent, ...] = ()

    @property
    def opened_by_check(self) -> bool:
        return self.check_id is not None


_SELECT = (
    sa.select(
        data_query,
        study.c.code.label("study_code"),
        participant.c.code.label("participant_code"),
        site.c.code.label("site_code"),
        form_instance.c.visit_key,
        form_instance.c.form_id,
        form_instance.c.instance_no,
        form_instance.c.participant_id,
    )
    .select_from(data_query)
    .join(form_instance, form_instance.c.id == data_query.c.form_instance_id)
    .join(participant, participant.c.id == form_instance.c.participant_id)
    .join(site, site.c.id == participant.c.site_id)
    .join(study, study.c.id == participant.c.study_id)
)


def _query(row: sa.Row[tuple[object, ...]], events: Sequence[QueryEvent] = ()) -> DataQuery:
    m = row._mapping
    return DataQuery(
        int(m["id"]),
        str(m["study_code"]),
        str(m["participant_code"]),
        str(m["site_code"]),
        str(m["visit_key"]),
        str(m["form_id"]),
        int(m["instance_no"]),
        str(m["item"]),
        m["check_id"],
        str(m["text"]),
        str(m["status"]),
        str(m["opened_by"]),
        m["opened_at"],
        m["updated_at"],
        int(m["version"]),
        tuple(events),
    )


def _events(conn: sa.Connection, query_ids: Iterable[int]) -> dict[int, list[QueryEvent]]:
    ids = sorted(set(query_ids))
    out: dict[int, list[QueryEvent]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = conn.execute(
        sa.select(query_event)
        .where(query_event.c.query_id.in_(ids))
        .order_by(query_event.c.query_id, query_event.c.id)
    )
    for r in rows:
        out[int(r.query_id)].append(
            QueryEvent(int(r.id), r.action, r.text, r.status, r.actor, r.at)
        )
    return out


def _with_events(
    conn: sa.Connection, rows: Sequence[sa.Row[tuple[object, ...]]]
) -> list[DataQuery]:
    events = _events(conn, (int(r.id) for r in rows))
    return [_query(r, events[int(r.id)]) for r in rows]


def _need_text(text: str | None, action: str) -> str:
    if text is None or not text.strip():
        raise ValidationFailed(
            f"{action} a query needs a text",
            code="QUERY.E001",
            errors={"text": ["write the question, answer or comment"]},
        )
    return text.strip()


def _event(
    conn: sa.Connection, ctx: Context, query_id: int, action: str, text: str, status: str
) -> None:
    write(
        conn,
        ctx,
        table=query_event,
        action=action,
        values={
            "query_id": query_id,
            "action": action,
            "text": text,
            "status": status,
            "actor": ctx.actor,
            "at": ctx.as_of,
        },
    )


def _load(conn: sa.Connection, study_code: str, query_id: int) -> sa.Row[tuple[object, ...]]:
    row = conn.execute(
        _SELECT.where(data_query.c.id == query_id, study.c.code == study_code)
    ).first()
    if row is None:
        raise NotFound(
            f"study {study_code}: no data query {query_id}",
            code="QUERY.E002",
            hint="list the study's queries to find its number",
        )
    return row


def _get(conn: sa.Connection, study_code: str, query_id: int) -> DataQuery:
    return _with_events(conn, [_load(conn, study_code, query_id)])[0]


def open_query(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    item: str,
    text: str,
    instance_no: int = 1,
) -> DataQuery:
    """Open a query on ``item`` of an entered form (OPEN_QUERY at the participant's site)."""
    with db.write() as conn:
        target = form_target(
            conn,
            ctx,
            study_code,
            participant_code,
            Permission.OPEN_QUERY,
            visit=visit,
            form_id=form_id,
            instance_no=instance_no,
        )
        question = _need_text(text, "opening")  # after the role: a stranger learns nothing
        check_item(target, item)
        ensure_unlocked(conn, target.study_id, target.participant.id, target.id)
        query_id = write(
            conn,
            ctx,
            table=data_query,
            action="open",
            values={
                "form_instance_id": target.id,
                "item": item,
                "check_id": None,
                "text": question,
                "status": "open",
                "opened_by": ctx.actor,
                "opened_at": ctx.as_of,
                "updated_at": ctx.as_of,
                "version": 1,
            },
            protocol_version=target.participant.protocol_version,
        )
        _event(conn, ctx, query_id, "open", question, "open")
        return _get(conn, study_code, query_id)


#: The words of each move in the refusal of an empty text.
_VERBS = {"answer": "answering", "close": "closing", "reopen": "re-opening"}


def _act(
    db: Database,
    ctx: Context,
    study_code: str,
    query_id: int,
    action: str,
    text: str,
    expected_version: int,
) -> DataQuery:
    sources, target_status, permission = _MOVES[action]
    with db.write() as conn:
        row = _load(conn, study_code, query_id)
        require(ctx.principal, permission, study_code, str(row.site_code))
        text = _need_text(text, _VERBS[action])  # after the role check
        if int(row.version) != expected_version:
            current = _get(conn, study_code, query_id)
            raise ConflictError(
                f"query {query_id} changed meanwhile: it is {current.status} at version "
                f"{current.version} (you acted on version {expected_version})",
                code="QUERY.E005",
                hint=f"reload the query and act on version {current.version} if still needed",
                current={"status": current.status, "events": [e.__dict__ for e in current.events]},
                current_version=current.version,
            )
        if row.status not in sources:
            raise TransitionError(
                f"query {query_id} is {row.status}: it cannot be {_PAST[action]}",
                code="QUERY.E004",
                hint="allowed now: " + ", ".join(allowed_actions(str(row.status))),
            )
        if action == "reopen":
            ensure_unlocked(
                conn, None, int(str(row.participant_id)), int(str(row.form_instance_id))
            )
        _move(conn, ctx, int(row.id), str(row.status), target_status, action, expected_version)
        _event(conn, ctx, query_id, action, text, target_status)
        return _get(conn, study_code, query_id)


_PAST = {"answer": "answered", "close": "closed", "reopen": "re-opened"}


def _move(
    conn: sa.Connection,
    ctx: Context,
    query_id: int,
    old: str,
    new: str,
    action: str,
    expected_version: int,
) -> None:
    try:
        write(
            conn,
            ctx,
            table=data_query,
            row_id=query_id,
            action=action,
            values={"status": new, "updated_at": ctx.as_of},
            expected_version=expected_version,
        )
    except StaleVersion as exc:  # pragma: no cover - the write lock makes this unreachable
        raise ConflictError(f"query {query_id} changed meanwhile", code="QUERY.E005") from exc


def answer_query(
    db: Database, ctx: Context, study_code: str, query_id: int, *, text: str, expected_version: int
) -> DataQuery:
    """Answer an open query (ANSWER_QUERY at the participant's site)."""
    return _act(db, ctx, study_code, query_id, "answer", text, expected_version)


def close_query(
    db: Database,
    ctx: Context,
    study_code: str,
    query_id: int,
    *,
    expected_version: int,
    text: str = "closed",
) -> DataQuery:
    """Close an open or answered query (CLOSE_QUERY at the participant's site)."""
    return _act(db, ctx, study_code, query_id, "close", text, expected_version)


def reopen_query(
    db: Database, ctx: Context, study_code: str, query_id: int, *, text: str, expected_version: int
) -> DataQuery:
    """Re-open an answered or closed query (CLOSE_QUERY; refused on locked data)."""
    return _act(db, ctx, study_code, query_id, "reopen", text, expected_version)


def comment(db: Database, ctx: Context, study_code: str, query_id: int, *, text: str) -> DataQuery:
    """Add a comment to a query in any state; its status and version stay as they are."""
    with db.write() as conn:
        row = _load(conn, study_code, query_id)
        site_code = str(row.site_code)
        if not any(ctx.principal.can(p, study_code, site_code) for p in _TAKING_PART):
            try:
                require(ctx.principal, Permission.ANSWER_QUERY, study_code, site_code)
            except AccessDenied as exc:
                raise AccessDenied(
                    exc.message.replace(Permission.ANSWER_QUERY.value, "take part in data queries"),
                    code=exc.code,
                    hint=exc.hint,
                ) from None
        note = _need_text(text, "commenting on")  # after the role check
        _event(conn, ctx, query_id, "comment", note, str(row.status))
        return _get(conn, study_code, query_id)


def _statuses(status: str | Sequence[str] | None) -> list[str] | None:
    if status is None:
        return None
    wanted = [status] if isinstance(status, str) else list(status)
    bad = [s for s in wanted if s not in STATUSES]
    if bad:
        raise ValidationFailed(
            f"query status {', '.join(map(repr, bad))} is not one of {', '.join(STATUSES)}",
            code="QUERY.E006",
        )
    return wanted


_PARTICIPANT_CODE = participant.c.code
_SITE_CODE = site.c.code


def list_queries(
    db: Database,
    ctx: Context,
    study_code: str,
    *,
    status: str | Sequence[str] | None = "open",
    participant: str | None = None,
    site: str | None = None,
    form_id: str | None = None,
) -> list[DataQuery]:
    """The study's queries in ``status`` (None: any), optionally of one participant, site or
    form, at the sites ``ctx`` may read; oldest first, without their events."""
    wanted = _statuses(status)
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    participant_code, site_code = _PARTICIPANT_CODE, _SITE_CODE
    with db.read() as conn:
        q = _SELECT.where(study.c.code == study_code)
        if participant is not None:
            lookups.load_checked(conn, ctx, study_code, participant, Permission.READ)
            q = q.where(participant_code == participant)
        if site is not None:
            require(ctx.principal, Permission.READ, study_code, site)
            q = q.where(site_code == site)
        elif sites is not None:
            q = q.where(site_code.in_(sorted(sites)))
        if wanted is not None:
            q = q.where(data_query.c.status.in_(wanted))
        if form_id is not None:
            q = q.where(form_instance.c.form_id == form_id)
        rows = conn.execute(q.order_by(data_query.c.opened_at, data_query.c.id)).all()
        return [_query(r) for r in rows]


#: The age bands of :func:`summarise_queries`: (name, first day, last day or None), by the
#: whole days since the query was opened.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7 days", 0, 7),
    ("8-30 days", 8, 30),
    ("over 30 days", 31, None),
)


def _band(days: int) -> str:
    for name, low, high in AGE_BANDS:
        if days >= low and (high is None or days <= high):
            return name
    raise AssertionError(days)  # pragma: no cover - the bands cover every day from 0


@dataclass(frozen=True)
class QuerySummary:
    """Counts of a list of queries: by state, site, participant, form and, for those not
    closed, by age band (:data:`AGE_BANDS`); ``oldest_days`` the age of the oldest not closed."""

    total: int
    by_status: dict[str, int]
    by_site: dict[str, int]
    by_participant: dict[str, int]
    by_form: dict[str, int]
    by_age: dict[str, int]
    oldest_days: int | None


def age_days(q: DataQuery, as_of: datetime) -> int:
    """Whole days since ``q`` was opened (0 on the day it was opened)."""
    return max(0, (as_of.date() - q.opened_at.date()).days)


def summarise_queries(queries: Sequence[DataQuery], as_of: datetime) -> QuerySummary:
    """The counts of ``queries`` (as :func:`list_queries` returns them) on ``as_of``."""

    def count(key: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in key:
            out[k] = out.get(k, 0) + 1
        return dict(sorted(out.items()))

    pending = [q for q in queries if q.status != "closed"]
    ages = [age_days(q, as_of) for q in pending]
    by_age = {name: 0 for name, _, _ in AGE_BANDS}
    for days in ages:
        by_age[_band(days)] += 1
    by_status = dict.fromkeys(STATUSES, 0)
    for q in queries:
        by_status[q.status] += 1
    return QuerySummary(
        len(queries),
        by_status,
        count(q.site for q in queries),
        count(q.participant for q in queries),
        count(q.form_id for q in queries),
        by_age,
        max(ages) if ages else None,
    )


def query_history(db: Database, ctx: Context, study_code: str, query_id: int) -> DataQuery:
    """One query with all its events, oldest first (READ at the participant's site)."""
    with db.read() as conn:
        row = _load(conn, study_code, query_id)
        require(ctx.principal, Permission.READ, study_code, str(row.site_code))
        return _get(conn, study_code, query_id)


def item_queries(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    item: str,
    instance_no: int = 1,
) -> list[DataQuery]:
    """Every query ever opened on ``item`` of the form instance, with its events, oldest first.

    ``item`` is an item path, or ``check:<ID>`` for the queries an edit check opened.
    """
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.READ)
        target = load_form(conn, p, visit, form_id, instance_no, entered=False)
        if not item.startswith("check:"):
            check_item(target, item)
        rows = conn.execute(
            _SELECT.where(
                data_query.c.form_instance_id == target.id, data_query.c.item == item
            ).order_by(data_query.c.id)
        ).all()
        return _with_events(conn, rows)


# The hooks save_form calls: queries opened and closed by edit checks.


def open_check_query(
    conn: sa.Connection,
    ctx: Context,
    form_instance_id: int,
    check_id: str,
    message: str,
    protocol_version: str,
) -> int:
    """Open the query of a failed soft edit check (and its "open" event); returns its id."""
    query_id = write(
        conn,
        ctx,
        table=data_query,
        action="open",
        values={
            "form_instance_id": form_instance_id,
            "item": f"check:{check_id}",
            "check_id": check_id,
            "text": message,
            "status": "open",
            "opened_by": ctx.actor,
            "opened_at": ctx.as_of,
            "updated_at": ctx.as_of,
            "version": 1,
        },
        protocol_version=protocol_version,
    )
    _event(conn, ctx, query_id, "open", message, "open")
    return query_id


def outstanding_check_queries(
    conn: sa.Connection, form_instance_id: int
) -> list[tuple[int, str, str, int]]:
    """The open or answered queries edit checks opened on the form: (id, check, status,
    version)."""
    rows = conn.execute(
        sa.select(data_query.c.id, data_query.c.check_id, data_query.c.status, data_query.c.version)
        .where(
            data_query.c.form_instance_id == form_instance_id,
            data_query.c.check_id.is_not(None),
            data_query.c.status.in_(("open", "answered")),
        )
        .order_by(data_query.c.id)
    ).all()
    return [(int(r.id), str(r.check_id), str(r.status), int(r.version)) for r in rows]


def close_check_query(
    conn: sa.Connection, ctx: Context, query_id: int, check_id: str, status: str, version: int
) -> None:
    """Close a query whose edit check passes after a change, as the saving user."""
    _move(conn, ctx, query_id, status, "closed", "close", version)
    _event(conn, ctx, query_id, "close", f"edit check {check_id} passes after the change", "closed")
