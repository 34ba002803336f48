"""Data queries of a study at the caller's sites: the list (by status, participant, site), one
query with its history, opening a query on an item of an entered form, and answering, closing,
re-opening (each with the ``expected_version`` last read) and commenting. A query at a site the
caller cannot read is answered like one that does not exist (``QUERY.E002``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from trialkit.errors import AccessDenied, NotFound
from trialkit.services import (
    DataQuery,
    Permission,
    answer_query,
    close_query,
    comment,
    list_queries,
    open_query,
    query_history,
    reopen_query,
)
from trialkit.services.access import visible_sites
from trialkit.web.api.auth import Auth, Caller
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import LocalDateTime, StudyPath
from trialkit.web.api.participants import load

__all__ = ["QueryOut", "router"]

router = APIRouter(tags=["queries"], responses=READ_ERRORS)


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    ANY = "any"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


_Text = Field(min_length=1, max_length=4000)
_Version = Field(ge=1, le=2_147_483_647, description="The query's version last read.")


class OpenIn(_In):
    participant: str = Field(min_length=1, max_length=64)
    visit: str = Field(min_length=1, max_length=64)
    form: str = Field(min_length=1, max_length=64)
    instance: int = Field(default=1, ge=1, le=10_000)
    item: str = Field(min_length=1, max_length=200, description="The item's path: GROUP/name.")
    text: str = _Text


class ActIn(_In):
    text: str = _Text
    expected_version: int = _Version


class CloseIn(_In):
    text: str = Field(default="closed", min_length=1, max_length=4000)
    expected_version: int = _Version


class CommentIn(_In):
    text: str = _Text


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
_QueryId = Annotated[int, Path(ge=1, le=2_147_483_647)]


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
def query(call: Auth, study: StudyPath, query_id: _QueryId) -> QueryOut:
    return _out(_visible(call, study, query_id))


def _visible(call: Caller, study: str, query_id: int) -> DataQuery:
    visible_sites(call.ctx.principal, Permission.READ, study)  # a non-member: 403
    try:
        return query_history(call.db, call.ctx, study, query_id)
    except AccessDenied:  # a query at another site reads as one that does not exist
        raise NotFound(
            f"study {study}: no data query {query_id}",
            code="QUERY.E002",
            hint="list the study's queries to find its number",
        ) from None


@router.post(
    "/studies/{study}/queries",
    response_model=QueryOut,
    status_code=201,
    responses=WRITE_ERRORS,
    summary="Open a query on an item of an entered form",
)
def new_query(call: Auth, study: StudyPath, body: OpenIn) -> QueryOut:
    load(call, study, body.participant)
    q = open_query(
        call.db,
        call.ctx,
        study,
        body.participant,
        visit=body.visit,
        form_id=body.form,
        item=body.item,
        text=body.text,
        instance_no=body.instance,
    )
    return _out(q)


@router.post(
    "/studies/{study}/queries/{query_id}/answer",
    response_model=QueryOut,
    responses=WRITE_ERRORS,
    summary="Answer an open query",
)
def answer(call: Auth, study: StudyPath, query_id: _QueryId, body: ActIn) -> QueryOut:
    _visible(call, study, query_id)
    q = answer_query(
        call.db, call.ctx, study, query_id, text=body.text, expected_version=body.expected_version
    )
    return _out(q)


@router.post(
    "/studies/{study}/queries/{query_id}/close",
    response_model=QueryOut,
    responses=WRITE_ERRORS,
    summary="Close an open or answered query",
)
def close(call: Auth, study: StudyPath, query_id: _QueryId, body: CloseIn) -> QueryOut:
    _visible(call, study, query_id)
    q = close_query(
        call.db, call.ctx, study, query_id, text=body.text, expected_version=body.expected_version
    )
    return _out(q)


@router.post(
    "/studies/{study}/queries/{query_id}/reopen",
    response_model=QueryOut,
    responses=WRITE_ERRORS,
    summary="Re-open an answered or closed query",
)
def reopen(call: Auth, study: StudyPath, query_id: _QueryId, body: ActIn) -> QueryOut:
    _visible(call, study, query_id)
    q = reopen_query(
        call.db, call.ctx, study, query_id, text=body.text, expected_version=body.expected_version
    )
    return _out(q)


@router.post(
    "/studies/{study}/queries/{query_id}/comment",
    response_model=QueryOut,
    responses=WRITE_ERRORS,
    summary="Comment on a query (its status and version stay)",
)
def add_comment(call: Auth, study: StudyPath, query_id: _QueryId, body: CommentIn) -> QueryOut:
    _visible(call, study, query_id)
    return _out(comment(call.db, call.ctx, study, query_id, text=body.text))
