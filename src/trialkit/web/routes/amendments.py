"""Amendments, for the study's administrator: load a new protocol version from the page (a YAML
file chosen or pasted), checked as ``trialkit study check`` checks it and refused with every
finding on an error; its difference from the current version item by item (visits, windows,
forms, items, criteria, rules); its approval (committee, reference, date) recorded with the
load, or afterwards for a version loaded from the command line; and the version applied to
participants one by one or all at once, each move with its reason.

The YAML travels as the text of an urlencoded form field, never as a multipart body: asgi-csrf
0.11's multipart parser breaks on the python-multipart this project installs (simonw/asgi-csrf#38;
an older python-multipart brings back CVE-2026-40347). The file input is read into the text box
by ``static/amendments.js`` (FileReader, allowed by the CSP's ``script-src 'self'``); without
JavaScript the file input stays hidden and the box takes a paste.

Every route calls one service of :mod:`trialkit.services.amendments`, which checks the role.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trialkit.errors import AccessDenied, NotFound, TrialkitError, ValidationFailed
from trialkit.services import Permission
from trialkit.services.access import require
from trialkit.services.amendments import (
    AmendmentPreview,
    AppliedReport,
    apply_to_all,
    apply_version,
    approve_amendment,
    candidates,
    load_amendment,
    preview_amendment,
    versions,
)
from trialkit.web.errors import TITLES, status_of
from trialkit.web.pages import User, db_of, redirect, render, signed_in

__all__ = ["router"]

router = APIRouter()

#: The largest protocol file taken (bytes); the shipped studies are under 60 kB.
MAX_YAML = 1_000_000


def _base(study: str) -> str:
    return f"/studies/{study}/amendments"


def _page(
    request: Request,
    user: User,
    study: str,
    *,
    preview: AmendmentPreview | None = None,
    refused: TrialkitError | None = None,
    typed: str = "",
    approval: dict[str, str] | None = None,
    target: str | None = None,
    reason: str = "",
    report: AppliedReport | None = None,
    where: str = "",
) -> Response:
    require(user.ctx.principal, Permission.MANAGE_STUDY, study, None)
    db = db_of(request)
    loaded = versions(db, user.ctx, study)
    chosen = target or request.query_params.get("version") or loaded[0].version
    state = next((v for v in loaded if v.version == chosen), None)
    if state is None:
        raise NotFound(
            f"study {study} protocol version {chosen!r} is not loaded",
            code="STUDY.E003",
            hint="choose one of the loaded versions",
        )
    problem = None
    if refused is not None:
        problem = {
            "title": TITLES.get(status_of(refused), TITLES[400]),
            "message": refused.message,
            "hint": refused.hint,
            "where": where,
        }
    status = 200
    if refused is not None:
        status = status_of(refused)
    elif preview is not None and preview.errors:
        status = 422
    return render(
        request,
        "amendments.html",
        {
            "study": study,
            "preview": preview,
            "problem": problem,
            "typed": typed,
            "approval": approval or {},
            "versions": loaded,
            "target": state,
            "candidates": candidates(db, user.ctx, study, state.version) if state.approval else [],
            "reason": reason,
            "report": report,
            "done": {
                k: request.query_params.get(k) for k in ("loaded", "approved", "moved", "version")
            },
            "max_yaml": MAX_YAML,
        },
        user=user,
        status_code=status,
    )


@router.get("/studies/{study}/amendments")
def amendments_page(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _page(request, user, study)


def _text(raw: object) -> bytes:
    return raw.encode("utf-8") if isinstance(raw, str) else b""


def _decoded(data: bytes) -> str:
    if not data:
        raise ValidationFailed(
            "no protocol was given",
            code="AMEND.E003",
            hint="choose the new version's YAML file or paste it",
        )
    if len(data) > MAX_YAML:
        raise ValidationFailed(f"the file is larger than {MAX_YAML // 1000} kB", code="AMEND.E004")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(
            "the file is not UTF-8 text", code="AMEND.E005", hint="save the YAML as UTF-8"
        ) from None


@router.post("/studies/{study}/amendments/check")
async def check_amendment(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    """Check the YAML given and show its findings or its changes (writes nothing)."""
    form = await request.form()
    data = _text(form.get("protocol"))
    return await run_in_threadpool(_check, request, user, study, data)


def _check(request: Request, user: User, study: str, data: bytes) -> Response:
    require(user.ctx.principal, Permission.MANAGE_STUDY, study, None)  # before the input
    try:
        text = _decoded(data)
        preview = preview_amendment(db_of(request), user.ctx, study, text)
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        typed = data.decode("utf-8", "replace")
        return _page(request, user, study, refused=exc, typed=typed, where="load")
    return _page(request, user, study, preview=preview, typed=text)


_APPROVAL = ("committee", "reference", "approved_on")


@router.post("/studies/{study}/amendments/load")
async def load_version(
    request: Request, study: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    """Load the version checked (the same text: its SHA-256 is sent back) with its approval."""
    form = await request.form()
    data = _text(form.get("protocol"))
    fields = {k: str(form.get(k) or "") for k in (*_APPROVAL, "checked")}
    return await run_in_threadpool(_load, request, user, study, data, fields)


def _day(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"the approval date {value!r} is not a date",
            code="AMEND.E012",
            hint="give it as YYYY-MM-DD",
        ) from None


def _load(
    request: Request, user: User, study: str, data: bytes, fields: dict[str, str]
) -> Response:
    require(user.ctx.principal, Permission.MANAGE_STUDY, study, None)  # before the input
    db = db_of(request)
    approval = {k: fields[k] for k in _APPROVAL}
    try:
        text = _decoded(data)
        state = load_amendment(
            db,
            user.ctx,
            study,
            text,
            checked=fields["checked"],
            committee=fields["committee"],
            reference=fields["reference"],
            approved_on=_day(fields["approved_on"]),
        )
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        typed = data.decode("utf-8", "replace")
        preview = None
        try:  # show the comparison again beside the refusal, as it was checked
            preview = preview_amendment(db, user.ctx, study, typed)
        except TrialkitError:
            preview = None
        return _page(
            request,
            user,
            study,
            preview=preview,
            refused=exc,
            typed=typed,
            approval=approval,
            where="approve-load",
        )
    return redirect(_base(study) + f"?loaded={state.version}#versions")


class ApprovalForm(BaseModel):
    committee: str = Field(default="", max_length=1000)
    reference: str = Field(default="", max_length=1000)
    approved_on: str = Field(default="", max_length=40)


@router.post("/studies/{study}/amendments/versions/{version}/approve")
def approve_version(
    request: Request,
    study: str,
    version: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[ApprovalForm, Form()],
) -> Response:
    """Record the approval of a version loaded without one (from the command line)."""
    require(user.ctx.principal, Permission.MANAGE_STUDY, study, None)
    try:
        approve_amendment(
            db_of(request),
            user.ctx,
            study,
            version,
            committee=form.committee,
            reference=form.reference,
            approved_on=_day(form.approved_on),
        )
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        return _page(
            request,
            user,
            study,
            refused=exc,
            approval=form.model_dump(),
            target=version,
            where=f"approve-{version}",
        )
    return redirect(_base(study) + f"?approved={version}&version={version}#apply")


class ApplyForm(BaseModel):
    reason: str = Field(default="", max_length=4000)
    participant: str = Field(default="", max_length=64)
    all: str = Field(default="", max_length=8)


@router.post("/studies/{study}/amendments/versions/{version}/apply")
def apply_amendment_action(
    request: Request,
    study: str,
    version: str,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[ApplyForm, Form()],
) -> Response:
    """Move one participant (``participant``) or every one listed (``all``) to ``version``,
    with the reason given."""
    require(user.ctx.principal, Permission.MANAGE_STUDY, study, None)
    db = db_of(request)
    try:
        if form.all:
            report = apply_to_all(db, user.ctx, study, version, form.reason)
            return _page(request, user, study, target=version, report=report)
        if not form.participant:
            raise ValidationFailed(
                "no participant was chosen",
                code="AMEND.E017",
                hint="press the button in the participant's row, or the one for every "
                "participant listed",
            )
        apply_version(db, user.ctx, study, version, form.participant, form.reason)
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        return _page(
            request,
            user,
            study,
            refused=exc,
            target=version,
            reason=form.reason,
            where="apply",
        )
    return redirect(_base(study) + f"?version={version}&moved={form.participant}#apply")
