"""An amendment's preview: give a new protocol version (its YAML pasted), see the findings of
the checks ``trialkit study check`` runs (refused on an error, with every finding), and the
difference from the current version item by item (visits, windows, forms, items, criteria,
rules).

The page reads :func:`trialkit.services.amendments.preview_amendment` (the study's
administrator) and writes nothing. Loading the version, recording its approval and moving the
participants to it are not on this page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from trialkit.errors import AccessDenied, NotFound, TrialkitError, ValidationFailed
from trialkit.services import Permission
from trialkit.services.access import require
from trialkit.services.amendments import AmendmentPreview, preview_amendment
from trialkit.web.errors import TITLES, status_of
from trialkit.web.pages import User, db_of, render, signed_in

__all__ = ["router"]

router = APIRouter()

#: The largest protocol file taken (bytes); the shipped studies are under 60 kB.
MAX_YAML = 1_000_000


def _page(
    request: Request,
    user: User,
    study: str,
    *,
    preview: AmendmentPreview | None = None,
    refused: TrialkitError | None = None,
    typed: str = "",
) -> Response:
    require(user.ctx.principal, Permission.MANAGE_STUDY, study, None)
    problem = None
    if refused is not None:
        problem = {
            "title": TITLES.get(status_of(refused), TITLES[400]),
            "message": refused.message,
            "hint": refused.hint,
        }
    status = 200
    if refused is not None:
        status = status_of(refused)
    elif preview is not None and preview.errors:
        status = 422
    return render(
        request,
        "amendments.html",
        {"study": study, "preview": preview, "problem": problem, "typed": typed},
        user=user,
        status_code=status,
    )


@router.get("/studies/{study}/amendments")
def amendments_page(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _page(request, user, study)


@router.post("/studies/{study}/amendments/check")
async def check_amendment(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    """Check the YAML given and show its findings or its changes.

    The YAML comes as the text of a form field: asgi-csrf's multipart parser fails with the
    python-multipart this project installs (``FormParser`` lost its ``FileClass`` argument), so
    a file field would be refused before the route sees it."""
    form = await request.form()
    raw = form.get("protocol")
    data = raw.encode("utf-8") if isinstance(raw, str) else b""
    return await run_in_threadpool(_check, request, user, study, data)


def _check(request: Request, user: User, study: str, data: bytes) -> Response:
    require(user.ctx.principal, Permission.MANAGE_STUDY, study, None)  # before the input
    try:
        if not data:
            raise ValidationFailed(
                "no protocol was given", code="AMEND.E003", hint="paste the new version's YAML"
            )
        if len(data) > MAX_YAML:
            raise ValidationFailed(
                f"the file is larger than {MAX_YAML // 1000} kB", code="AMEND.E004"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(
                "the file is not UTF-8 text", code="AMEND.E005", hint="save the YAML as UTF-8"
            ) from None
        preview = preview_amendment(db_of(request), user.ctx, study, text)
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        return _page(request, user, study, refused=exc, typed=data.decode("utf-8", "replace"))
    return _page(request, user, study, preview=preview, typed=text)
