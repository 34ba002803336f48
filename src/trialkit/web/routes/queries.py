"""Data queries: the study's list with its counts, one query with its history and actions, and
opening a query on an item of a form (from the data-entry page).

``GET /studies/{study}/queries`` lists the queries at the user's sites (filters: state,
participant, site, form) with counts by state, site, participant, form and age
(:func:`trialkit.services.queries.summarise_queries`); ``GET .../queries/{id}`` shows one with
its history, the item's form (where the correction is entered) and the actions its state and the
user's role allow; ``POST .../queries/{id}/{action}`` answers, closes, re-opens or comments;
``POST .../forms/{visit}/{form}/queries`` opens one. A query at a site the user cannot read is
answered exactly like one that does not exist (``QUERY.E002``).
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from trialkit.errors import AccessDenied, NotFound, TrialkitError, ValidationFailed
from trialkit.protocol.forms import Form, Item
from trialkit.services import Permission, save_form
from trialkit.services.access import visible_sites
from trialkit.services.queries import (
    STATUSES,
    DataQuery,
    allowed_actions,
    answer_query,
    close_query,
    comment,
    list_queries,
    open_query,
    query_history,
    reopen_query,
    summarise_queries,
)
from trialkit.services.studies import definition
from trialkit.web.errors import TITLES, status_of
from trialkit.web.pages import User, db_of, redirect, render, signed_in
from trialkit.web.routes.forms import (
    _data,
    _instance,
    _instance_query,
    _page,
    _stored,
    _values,
    _view,
    field_id,
)

__all__ = ["router"]

router = APIRouter()

#: Queries (rows) per page of the list; the filters and the counts cover all of them.
PAGE_SIZE = 50

_ACTIONS = {"answer": Permission.ANSWER_QUERY, "close": Permission.CLOSE_QUERY}
_ACTIONS["reopen"] = Permission.CLOSE_QUERY


def problem_of(exc: TrialkitError) -> dict[str, str | None]:
    """A refusal as the pages show it (title msgid, message, hint, code)."""
    return {
        "title": TITLES.get(status_of(exc), TITLES[400]),
        "message": exc.message,
        "hint": exc.hint,
        "code": exc.code,
    }


def _choice(value: str | None, name: str, choices: tuple[str, ...]) -> str | None:
    if not value:
        return None
    if value not in choices:
        raise ValidationFailed(
            f"{name} {value!r} is not one of {', '.join(choices)}",
            code="WEB.E032",
            hint=f"choose one of {', '.join(choices)}",
        )
    return value


@router.get("/studies/{study}/queries")
def queries_page(
    request: Request,
    study: str,
    user: Annotated[User, Depends(signed_in)],
    status: str | None = "pending",
    participant: str | None = None,
    site: str | None = None,
    form: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The study's queries at the user's sites, filtered, with their counts (over every query
    the filters keep), the list in pages of :data:`PAGE_SIZE`."""
    sites = visible_sites(user.ctx.principal, Permission.READ, study)
    chosen = _choice(status, "status", (*STATUSES, "pending", "any"))
    wanted: tuple[str, ...] | str | None = {
        "pending": ("open", "answered"),
        "any": None,
        None: None,
    }.get(chosen, chosen)
    if site and sites is not None and site not in sites:
        site = None  # another site: as if no such site were chosen, nothing leaks
    try:
        found = list_queries(
            db_of(request),
            user.ctx,
            study,
            status=wanted,
            participant=participant or None,
            site=site or None,
            form_id=form or None,
        )
    except (AccessDenied, NotFound):
        if participant:  # a participant at another site reads as one that does not exist
            found = []
        else:
            raise
    everything = list_queries(db_of(request), user.ctx, study, status=None)
    filters = {
        "status": chosen or "any",
        "participant": participant or "",
        "site": site or "",
        "form": form or "",
    }
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(page, pages)  # a bookmark past the end (fewer queries now) shows the last page
    first = (page - 1) * PAGE_SIZE
    shown = found[first : first + PAGE_SIZE]
    kept = {k: v for k, v in filters.items() if v}
    # each item named as its form names it (the newest protocol version's words), path beside
    defined = definition(db_of(request), user.ctx, study)

    def item_of(q: DataQuery) -> Item | None:
        return None if q.check_id is not None else _item_of(defined.form(q.form_id), q.item)

    def page_link(n: int) -> str:
        return f"/studies/{study}/queries?" + urlencode({**kept, "page": n})

    paging = {
        "page": page,
        "pages": pages,
        "first": first + 1 if shown else 0,
        "last": first + len(shown),
        "total": len(found),
        "prev": page_link(page - 1) if page > 1 else None,
        "next": page_link(page + 1) if page < pages else None,
    }
    return render(
        request,
        "queries.html",
        {
            "study": study,
            "queries": shown,
            "paging": paging,
            "summary": summarise_queries(found, user.ctx.as_of),
            "filters": filters,
            "sites": sorted({q.site for q in everything} | set(sites or ())),
            "forms": sorted({q.form_id for q in everything}),
            "age": lambda q: max(0, (user.ctx.as_of.date() - q.opened_at.date()).days),
            "item_of": item_of,
        },
        user=user,
    )


def _load(request: Request, user: User, study: str, query_id: int) -> DataQuery:
    visible_sites(user.ctx.principal, Permission.READ, study)  # a non-member: access denied
    try:
        return query_history(db_of(request), user.ctx, study, query_id)
    except AccessDenied:  # another site's query reads as one that does not exist
        raise NotFound(
            f"study {study}: no data query {query_id}",
            code="QUERY.E002",
            hint="list the study's queries to find its number",
        ) from None


def _item_of(form: Form | None, path: str) -> Item | None:
    """The form's item at ``path`` (``VS/systolic_bp``, ``LESIONS[2]/plaque_area``)."""
    if form is None:
        return None
    group_id, _, name = re.sub(r"\[\d+\]", "", path).partition("/")
    for group in form.groups:
        if group.id == group_id:
            return next((i for i in group.items if i.name == name), None)
    return None


def _query_page(
    request: Request,
    user: User,
    q: DataQuery,
    *,
    refused: TrialkitError | None = None,
    typed: str = "",
    done: str | None = None,
    corrected: dict[str, str] | None = None,
) -> Response:
    principal = user.ctx.principal
    actions = [
        a
        for a in allowed_actions(q.status)
        if a == "comment" or principal.can(_ACTIONS[a], q.study, q.site)
    ]
    may_comment = any(
        principal.can(p, q.study, q.site)
        for p in (Permission.OPEN_QUERY, Permission.ANSWER_QUERY, Permission.CLOSE_QUERY)
    )
    if not may_comment:
        actions = [a for a in actions if a != "comment"]
    base = f"/studies/{q.study}/participants/{q.participant}/forms/{q.visit}/{q.form_id}"
    current = None
    may_correct = principal.can(Permission.WRITE, q.study, q.site)
    item: Item | None = None
    if q.check_id is None:  # an item's query: the item as the form names it
        view = _view(request, user, q.study, q.participant, q.visit, q.form_id, q.instance_no)
        item = _item_of(view.form, q.item)
    if q.check_id is None and may_correct and q.status != "closed":
        texts, missing, _rows = _stored(view, user.language)
        current = {
            "text": texts.get(q.item, ""),
            "missing": missing.get(q.item, ""),
            "version": str(view.record.version) if view.record is not None else "",
        }
    item_anchor = "" if q.check_id else "#" + field_id(q.item)
    return render(
        request,
        "query.html",
        {
            "q": q,
            "actions": actions,
            "problem": problem_of(refused) if refused is not None else None,
            "typed": typed,
            "done": done,
            "form_url": base + _instance_query(q.instance_no),
            "item_anchor": item_anchor,
            "item": item,
            "may_correct": may_correct,
            "current": current,
            "corrected": corrected or {},
        },
        user=user,
        status_code=200 if refused is None else status_of(refused),
    )


@router.get("/studies/{study}/queries/{query_id}")
def query_page(
    request: Request,
    study: str,
    query_id: int,
    user: Annotated[User, Depends(signed_in)],
    done: str | None = None,
) -> Response:
    """One query: its item, state, history and the actions allowed."""
    q = _load(request, user, study, query_id)
    chosen = _choice(done, "done", (*_ACTIONS, "comment", "open", "corrected"))
    return _query_page(request, user, q, done=chosen)


@router.post("/studies/{study}/queries/{query_id}/correct")
async def query_correct(
    request: Request,
    study: str,
    query_id: int,
    user: Annotated[User, Depends(signed_in)],
) -> Response:
    """Enter the correction of the query's item from the query page: the form is saved with
    that one value changed (and the reason), through ``save_form`` as on the form page."""
    q = _load(request, user, study, query_id)
    if q.check_id is not None:
        raise ValidationFailed(
            f"query {q.id} was opened by edit check {q.check_id}: correct the form itself",
            code="WEB.E041",
            hint="open the form and change the values the check reads",
        )
    view = _view(request, user, study, q.participant, q.visit, q.form_id, q.instance_no)
    posted = await request.form()
    value = str(posted.get("value") or "")[:4000]
    why_missing = str(posted.get("missing") or "")[:32]
    reason = str(posted.get("reason") or "")[:2000]
    version_text = str(posted.get("version") or "")
    texts, missing, rows = _stored(view, user.language)
    texts[q.item] = value
    if why_missing:
        missing[q.item] = why_missing
    else:
        missing.pop(q.item, None)
    values, reasons = _values(view.form, _data(view), texts, missing, rows, user.language)
    typed = {"value": value, "missing": why_missing, "reason": reason}
    try:
        save_form(
            db_of(request),
            user.ctx,
            study,
            q.participant,
            visit=q.visit,
            form_id=q.form_id,
            values=values,
            missing=reasons,
            expected_version=int(version_text) if version_text.isdigit() else None,
            instance_no=q.instance_no,
            reason=reason.strip() or None,
        )
    except AccessDenied:
        raise
    except TrialkitError as exc:  # a bad value, no reason, a stale form, a lock: typed kept
        current = _load(request, user, study, query_id)
        return _query_page(request, user, current, refused=exc, corrected=typed)
    return redirect(f"/studies/{study}/queries/{query_id}?done=corrected")


@router.post("/studies/{study}/queries/{query_id}/{action}")
async def query_act(
    request: Request,
    study: str,
    query_id: int,
    action: str,
    user: Annotated[User, Depends(signed_in)],
) -> Response:
    """Answer, close, re-open or comment on a query (the version the page showed)."""
    _choice(action, "action", (*_ACTIONS, "comment"))
    q = _load(request, user, study, query_id)
    posted = await request.form()
    text = str(posted.get("text") or "")[:4000]
    version_text = str(posted.get("version") or "")
    version = int(version_text) if version_text.isdigit() else q.version
    db = db_of(request)
    try:
        if action == "answer":
            answer_query(db, user.ctx, study, query_id, text=text, expected_version=version)
        elif action == "close":
            close_query(
                db, user.ctx, study, query_id, expected_version=version, text=text or "closed"
            )
        elif action == "reopen":
            reopen_query(db, user.ctx, study, query_id, text=text, expected_version=version)
        else:
            comment(db, user.ctx, study, query_id, text=text)
    except NotFound:
        raise
    except TrialkitError as exc:
        if isinstance(exc, AccessDenied) and exc.code == "AUTH.E010":
            raise
        current = _load(request, user, study, query_id)
        return _query_page(request, user, current, refused=exc, typed=text)
    return redirect(f"/studies/{study}/queries/{query_id}?done={action}")


@router.post("/studies/{study}/participants/{code}/forms/{visit}/{form}/queries")
async def query_open(
    request: Request,
    study: str,
    code: str,
    visit: str,
    form: str,
    user: Annotated[User, Depends(signed_in)],
    instance: int = 1,
) -> Response:
    """Open a query on an item of the form (an item left empty too)."""
    view = _view(request, user, study, code, visit, form, _instance(instance))
    posted = await request.form()
    item = str(posted.get("item") or "")[:300]
    text = str(posted.get("text") or "")[:4000]
    try:
        q = open_query(
            db_of(request),
            user.ctx,
            study,
            code,
            visit=visit,
            form_id=form,
            item=item,
            text=text,
            instance_no=view.instance_no,
        )
    except AccessDenied:
        raise
    except TrialkitError as exc:  # an item not on the form, no text, a lock: typed text kept
        kept = {"asked": {"item": item, "text": text}}
        return _page(request, user, view, refused=exc, extra=kept)
    return redirect(f"/studies/{study}/queries/{q.id}?done=open")
