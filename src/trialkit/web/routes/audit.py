"""The audit trail's pages: a participant's entries, a study's (a page at a time), and proving
the trail from the page (data managers).

Each entry shows who, when, the action, the row and field, the old and new value and the
reason, from :mod:`trialkit.services.audit_trail`; one form's history grouped per save is the
form's own history page (:func:`trialkit.services.form_views.form_history`). A participant at
another site reads as not found; in a masked study the trail is shown to unblinded readers only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from trialkit.services import Permission
from trialkit.services.audit_trail import participant_trail, study_trail, verify_trail
from trialkit.store import Verification
from trialkit.web.pages import User, db_of, render, signed_in
from trialkit.web.routes.participants import _load

__all__ = ["router"]

router = APIRouter()


#: A value longer than this is shown folded (its first characters, the rest on request).
_SHORT = 120


def shown_value(value: Any) -> tuple[str, str | None]:
    """(text, full text when folded) of an entry's old or new value: an item's value as
    entered, else the value as JSON."""
    if isinstance(value, dict) and "value" in value and "type" in value:
        missing = value.get("missing")
        value = value.get("raw", value["value"]) if not missing else f"({missing})"
    if value is None:
        return "—", None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= _SHORT:
        return text, None
    return text[: _SHORT - 1] + "…", text


def _page_no(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) >= 1 else 1


@router.get("/studies/{study}/participants/{code}/audit")
def participant_audit_page(
    request: Request, study: str, code: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    p = _load(request, user, study, code)
    trail = participant_trail(db_of(request), user.ctx, study, code, page=_page_no(request))
    return render(
        request,
        "audit_trail.html",
        {
            "study": study,
            "p": p,
            "trail": trail,
            "base": f"/studies/{study}/participants/{code}/audit",
            "may_verify": False,
            "verified": None,
            "shown_value": shown_value,
        },
        user=user,
    )


def _study_page(
    request: Request, user: User, study: str, verified: Verification | None
) -> Response:
    trail = study_trail(db_of(request), user.ctx, study, page=_page_no(request))
    return render(
        request,
        "audit_trail.html",
        {
            "study": study,
            "p": None,
            "trail": trail,
            "base": f"/studies/{study}/audit",
            "may_verify": user.ctx.principal.can(Permission.LOCK, study, None),
            "verified": verified,
            "shown_value": shown_value,
        },
        user=user,
    )


@router.get("/studies/{study}/audit")
def study_audit_page(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _study_page(request, user, study, None)


@router.post("/studies/{study}/audit/verify")
async def verify_action(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    """Prove the trail (the chain and every audited table replayed) and show the result."""
    result = await run_in_threadpool(verify_trail, db_of(request), user.ctx, study)
    return await run_in_threadpool(_study_page, request, user, study, result)
