"""Home (the user's studies) and each study's status matrix: participants × visits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel, Field

from trialkit.errors import ValidationFailed
from trialkit.schedule import VisitState
from trialkit.services import Permission, Status
from trialkit.services.access import visible_sites
from trialkit.services.matrix import Cell, MatrixRow, my_studies, status_matrix
from trialkit.web import labels
from trialkit.web.fragments import Fragments
from trialkit.web.pages import User, db_of, redirect, render, signed_in, today

router = APIRouter()

#: The states a cell can be filtered by (query value -> test).
STATES = ("attention", "overdue", "open", "missed", "out_of_window", "queries", "upcoming")
SORTS = ("participant", "site", "status", "overdue")
#: Participants (rows) per page of the matrix; the filters, the sort and the counts cover all.
PAGE_SIZE = 50
#: Each matrix row's rendered ``<tr>``, kept with the (shared, immutable) row.
ROWS: Fragments[MatrixRow] = Fragments()


class MatrixQuery(BaseModel):
    site: str = Field(default="", max_length=32)
    status: str = Field(default="", max_length=32)
    state: str = Field(default="", max_length=32)
    visit: str = Field(default="", max_length=64)
    sort: str = Field(default="participant", max_length=32)
    page: int = Field(default=1, ge=1, le=100_000)


def participant_link(study: str, participant: str) -> str:
    """The participant's page (study codes, participant codes and visit keys are URL-safe
    identifiers)."""
    return f"/studies/{study}/participants/{participant}"


def cell_link(study: str, participant: str, cell: Cell) -> str:
    """Where one click on a matrix cell goes: the one place that says so (the template calls
    it for every cell). Today the participant's page at that visit's row."""
    return f"/studies/{study}/participants/{participant}#visit-{cell.visit}"


def _matches(cell: Cell, state: str) -> bool:
    if state == "overdue":
        return cell.state is VisitState.OVERDUE
    if state == "open":
        return cell.state is VisitState.OPEN
    if state == "missed":
        return cell.state is VisitState.MISSED
    if state == "out_of_window":
        return cell.state is VisitState.DONE_OUT_OF_WINDOW
    if state == "queries":
        return cell.open_queries > 0
    if state == "upcoming":
        return cell.state is VisitState.UPCOMING
    # attention: anything a coordinator should act on today
    return (
        cell.state in (VisitState.OVERDUE, VisitState.OPEN, VisitState.DONE_OUT_OF_WINDOW)
        or cell.open_queries > 0
        or (cell.state is VisitState.DONE and cell.expected > 0)
    )


def _refuse(field: str, value: str, allowed: list[str]) -> ValidationFailed:
    return ValidationFailed(
        f"{field} {value!r} is not one of the choices",
        code="WEB.E032",
        errors={field: ["one of: " + ", ".join(allowed)]},
        hint="pick it from the list",
    )


@router.get("/")
def home(request: Request, user: Annotated[User, Depends(signed_in)]) -> Response:
    cards = my_studies(db_of(request), user.ctx)
    if len(cards) == 1:
        return redirect(f"/studies/{cards[0].code}")
    return render(request, "home.html", {"cards": cards}, user=user)


@router.get("/studies/{study}")
def matrix_page(
    request: Request,
    study: str,
    user: Annotated[User, Depends(signed_in)],
    q: Annotated[MatrixQuery, Query()],
) -> Response:
    visible_sites(user.ctx.principal, Permission.READ, study)  # refuses a non-member first
    m = status_matrix(db_of(request), user.ctx, study, today(request))
    visit_keys = [v.key for v in m.visits]
    statuses = [s.value for s in Status]
    if q.site and q.site not in m.sites:
        raise _refuse("site", q.site, m.sites)
    if q.status and q.status not in statuses:
        raise _refuse("status", q.status, statuses)
    if q.state and q.state not in STATES:
        raise _refuse("state", q.state, list(STATES))
    if q.visit and q.visit not in visit_keys:
        raise _refuse("visit", q.visit, visit_keys)
    if q.sort not in SORTS:
        raise _refuse("sort", q.sort, list(SORTS))
    columns = [q.visit] if q.visit else visit_keys
    rows = [
        r
        for r in m.rows
        if (not q.site or r.site == q.site)
        and (not q.status or r.status.value == q.status)
        and (not q.state or any(k in r.cells and _matches(r.cells[k], q.state) for k in columns))
    ]
    if q.sort == "site":
        rows.sort(key=lambda r: (r.site, r.participant))
    elif q.sort == "status":
        rows.sort(key=lambda r: (r.status.value, r.participant))
    elif q.sort == "overdue":
        rows.sort(
            key=lambda r: (
                -sum(1 for c in r.cells.values() if c.state is VisitState.OVERDUE),
                r.participant,
            )
        )
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(q.page, pages)  # a bookmark past the end (fewer rows now) shows the last page
    first = (page - 1) * PAGE_SIZE
    shown = rows[first : first + PAGE_SIZE]
    chosen = {k: v for k, v in q.model_dump().items() if v and k != "page"}

    def page_link(n: int) -> str:
        return f"/studies/{study}?" + urlencode({**chosen, "page": n})

    paging = {
        "page": page,
        "pages": pages,
        "first": first + 1 if shown else 0,
        "last": first + len(shown),
        "total": len(rows),
        "prev": page_link(page - 1) if page > 1 else None,
        "next": page_link(page + 1) if page < pages else None,
    }
    counts = {
        "participants": len(m.rows),
        "overdue": sum(
            1 for r in m.rows for c in r.cells.values() if c.state is VisitState.OVERDUE
        ),
        "queries": sum(c.open_queries for r in m.rows for c in r.cells.values()),
    }
    can_register = [s for s in m.sites if user.ctx.principal.can(Permission.ENROL, study, s)]
    principal = user.ctx.principal
    study_wide = principal.can(Permission.READ, study, None)  # a membership at every site
    # the study's other pages, each offered only to who may open it (the pages check again)
    study_pages = [
        (f"/studies/{study}/queries", "Data queries"),
        (f"/studies/{study}/sdv", "Source data verification"),
        (f"/studies/{study}/locks", "Locks"),
        *([(f"/studies/{study}/safety", "Safety board")] if study_wide else []),
        *([(f"/studies/{study}/audit", "Audit trail")] if study_wide else []),
        *(
            [(f"/studies/{study}/amendments", "Amendments")]
            if principal.can(Permission.MANAGE_STUDY, study, None)
            else []
        ),
    ]
    shows_arm = any(r.arm for r in m.rows)
    # what a row's markup depends on besides the row: the language, the study, the columns
    row_key = (user.language, study, tuple(columns), shows_arm)

    def kept_row(row: MatrixRow, macro: Callable[[MatrixRow], str]) -> Markup:
        return ROWS.get(row, row_key, macro)

    return render(
        request,
        "matrix.html",
        {
            "m": m,
            "q": q,
            "rows": shown,
            "paging": paging,
            "columns": columns,
            "names": {v.key: v.name for v in m.visits},
            "statuses": statuses,
            "states": STATES,
            "sorts": SORTS,
            "counts": counts,
            "can_register": can_register,
            "study_pages": study_pages,
            "shows_arm": shows_arm,
            "kept_row": kept_row,
            "cell_link": cell_link,
            # each state's name translated once, not once per cell
            "state_names": {k: user._(v) for k, v in labels.VISIT_STATES.items()},
            "participant_link": participant_link,
        },
        user=user,
    )
