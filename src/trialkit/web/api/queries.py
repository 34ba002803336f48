"""Data queries of a study at the caller's sites: the list (by status, participant, site) and
one query with its history."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from trialkit.errors import AccessDenied, NotFound
from trialkit.services import DataQuery, Permission, list_queries, query_history
from trialkit.services.access import visible_sites
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, StudyPath

__all__ = ["QueryOut", "router"]

router = APIRouter(tags=["queries"], responses=READ_ERRORS)


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    ANY = "any"


class QueryEventOut(BaseModel):
    action: str
    text: str
    status: str
    actor: str
    at: LocalDateTime


class QueryOut(BaseModel):
    id: int
    participant: str
    site: str
    visit: str
    form: str
    instance: int
    item: str
    check_id: str | None
    text: str
    status: str
    opened_by: str
    opened_at: LocalDateTime
    updated_at: LocalDateTime | None
    version: int
    events: list[QueryEventOut]


def _out(q: DataQuery) -> QueryOut:
    return QueryOut(
        id=q.id,
        participant=q.participant,
        site=q.site,
        visit=q.visit,
        form=q.form_id,
        instance=q.instance_no,
        item=q.item,
        check_id=q.check_id,
        text=q.text,
        status=q.status,
        opened_by=q.opened_by,
        opened_at=q.opened_at,
        updated_at=q.updated_at,
        version=q.version,
        events=[
            QueryEventOut(action=e.action, text=e.text, status=e.status, actor=e.actor, at=e.at)
            for e in q.events
        ],
    )


_Code = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/studies/{study}/queries", response_model=Page[QueryOut], summary="Data queries")
def queries(
    call: Auth,
    study: StudyPath,
    status: QueryStatus = QueryStatus.OPEN,
    participant: _Code = None,
    site: _Code = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[QueryOut]:
    found = list_queries(
        call.db,
        call.ctx,
        study,
        status=None if status is QueryStatus.ANY else status.value,
        participant=participant,
        site=site,
    )
    page, after = paginate(found, lambda q: q.id, limit, cursor)
    return Page[QueryOut](items=[_out(q) for q in page], next_cursor=after)


@router.get(
    "/studies/{study}/queries/{query_id}",
    response_model=QueryOut,
    summary="One query with its history",
)
def query(
    call: Auth, study: StudyPath, query_id: Annotated[int, Path(ge=1, le=2_147_483_647)]
) -> QueryOut:
    visible_sites(call.ctx.principal, Permission.READ, study)  # a non-member: 403
    try:
        return _out(query_history(call.db, call.ctx, study, query_id))
    except AccessDenied:  # a query at another site reads as one that does not exist
        raise NotFound(
            f"study {study}: no data query {query_id}",
            code="QUERY.E002",
            hint="list the study's queries to find its number",
        ) from None
