"""Source data verification, signatures and locks: the actions of the form page, the study's
SDV progress, a participant's signatures, and the study's locks.

- ``POST .../forms/{visit}/{form}/verify``: the monitor marks the checked items, or the whole
  form, verified (:func:`trialkit.services.monitoring.verify`);
- ``GET /studies/{study}/sdv``: progress per site, form and monitor (``sdv_progress``);
- ``GET /studies/{study}/participants/{code}/signatures``: the participant's signatures, what
  each covers, its content hash, valid or void with the change that voided it; ``POST`` signs a
  form, a visit or the casebook with the password re-entered and the meaning chosen;
- ``GET /studies/{study}/locks``: the active locks; ``POST .../locks`` locks or unlocks a form,
  a participant or the study with its reason.

Every action calls a service, which checks role and site; a participant at another site reads
as not found, a refusal shows the page again with the reason and what was typed (never the
password).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from trialkit.errors import AccessDenied, NotFound, TrialkitError, ValidationFailed
from trialkit.services import Permission
from trialkit.services.access import visible_sites
from trialkit.services.locks import lock, locks, unlock
from trialkit.services.monitoring import sdv_progress, verify
from trialkit.services.participants import get as get_participant
from trialkit.services.schedule import calendar
from trialkit.services.signatures import sign, signatures
from trialkit.web.oversight import MEANINGS
from trialkit.web.pages import User, db_of, redirect, render, signed_in, today
from trialkit.web.routes.forms import _hidden, _instance, _instance_query, _page, _view
from trialkit.web.routes.queries import problem_of

__all__ = ["router"]

router = APIRouter()

_FORM = "/studies/{study}/participants/{code}/forms/{visit}/{form}"


def _form_url(study: str, code: str, visit: str, form: str, instance: int, did: str) -> str:
    more = _instance_query(instance)
    sep = "&" if more else "?"
    return f"/studies/{study}/participants/{code}/forms/{visit}/{form}{more}{sep}did={did}"


@router.post(_FORM + "/verify")
async def form_verify(
    request: Request,
    study: str,
    code: str,
    visit: str,
    form: str,
    user: Annotated[User, Depends(signed_in)],
    instance: int = 1,
) -> Response:
    """Mark the checked items (``item`` fields), or the whole form (``whole``), verified."""
    view = _view(request, user, study, code, visit, form, _instance(instance))
    posted = await request.form()
    items = [str(v)[:300] for v in posted.getlist("item") if isinstance(v, str) and v]
    whole = posted.get("whole") == "1"
    try:
        if not whole and not items:
            raise ValidationFailed(
                "no item was chosen to verify",
                code="WEB.E040",
                hint="tick the items you checked at source, or verify the whole form",
            )
        verify(
            db_of(request),
            user.ctx,
            study,
            code,
            visit=visit,
            form_id=form,
            items=None if whole else items,
            instance_no=view.instance_no,
        )
    except AccessDenied:
        raise
    except TrialkitError as exc:
        return _page(request, user, view, refused=exc)
    return redirect(_form_url(study, code, visit, form, view.instance_no, "verified"))


@router.get("/studies/{study}/sdv")
def sdv_page(request: Request, study: str, user: Annotated[User, Depends(signed_in)]) -> Response:
    """The study's source data verification progress at the user's sites."""
    progress = sdv_progress(db_of(request), user.ctx, study)
    return render(request, "sdv.html", {"study": study, "progress": progress}, user=user)


def _participant_signatures(
    request: Request,
    user: User,
    study: str,
    code: str,
    *,
    refused: TrialkitError | None = None,
    typed: dict[str, str] | None = None,
    done: bool = False,
) -> Response:
    visible_sites(user.ctx.principal, Permission.READ, study)
    try:
        found = signatures(db_of(request), user.ctx, study, code)
        cal = calendar(db_of(request), user.ctx, study, code, today(request))
        site = get_participant(db_of(request), user.ctx, study, code).site
    except (AccessDenied, NotFound):
        raise _hidden(study, code) from None
    principal = user.ctx.principal
    return render(
        request,
        "signatures.html",
        {
            "study": study,
            "code": code,
            "signatures": found,
            "visits": [v for v in cal.visits if "entered" in v.forms.values()],
            "meanings": MEANINGS,
            "may_sign": principal.can(Permission.SIGN, study, site) and not principal.operator,
            "may_sign_casebook": principal.can(Permission.SIGN_CASEBOOK, study, site)
            and not principal.operator,
            "problem": problem_of(refused) if refused is not None else None,
            "typed": typed or {},
            "done": done,
        },
        user=user,
        status_code=200 if refused is None else 422 if refused.code == "SIGN.E001" else 409,
    )


@router.get("/studies/{study}/participants/{code}/signatures")
def signatures_page(
    request: Request,
    study: str,
    code: str,
    user: Annotated[User, Depends(signed_in)],
    done: str | None = None,
) -> Response:
    return _participant_signatures(request, user, study, code, done=done == "signed")


@router.post("/studies/{study}/participants/{code}/signatures")
async def signatures_sign(
    request: Request,
    study: str,
    code: str,
    user: Annotated[User, Depends(signed_in)],
) -> Response:
    """Sign a form (from its page), a visit or the casebook: password and meaning."""
    visible_sites(user.ctx.principal, Permission.READ, study)
    posted = await request.form()
    scope = str(posted.get("scope") or "")
    visit = str(posted.get("visit") or "")[:64] or None
    form = str(posted.get("form") or "")[:64] or None
    instance_text = str(posted.get("instance") or "1")
    instance = int(instance_text) if instance_text.isdigit() else 1
    meaning = str(posted.get("meaning") or "")
    password = str(posted.get("password") or "")
    typed = {"scope": scope, "visit": visit or "", "meaning": meaning}
    if meaning and meaning not in MEANINGS:
        meaning = ""  # only a stated meaning is signed
    try:
        sign(
            db_of(request),
            user.ctx,
            study,
            code,
            scope=scope,  # type: ignore[arg-type]  # the service refuses another scope
            visit=visit,
            form_id=form if scope == "form" else None,
            instance_no=instance,
            meaning=meaning,
            password=password,
        )
    except NotFound as exc:
        if exc.code == "PART.E003":
            raise _hidden(study, code) from None
        return _sign_refused(request, user, study, code, scope, visit, form, instance, exc, typed)
    except AccessDenied as exc:
        if exc.code == "AUTH.E010":
            if not _readable(request, user, study, code):
                raise _hidden(study, code) from None
            raise
        return _sign_refused(request, user, study, code, scope, visit, form, instance, exc, typed)
    except TrialkitError as exc:
        return _sign_refused(request, user, study, code, scope, visit, form, instance, exc, typed)
    if scope == "form" and visit and form:
        return redirect(_form_url(study, code, visit, form, instance, "signed"))
    return redirect(f"/studies/{study}/participants/{code}/signatures?done=signed")


def _readable(request: Request, user: User, study: str, code: str) -> bool:
    try:
        signatures(db_of(request), user.ctx, study, code)
    except (AccessDenied, NotFound):
        return False
    return True


def _sign_refused(
    request: Request,
    user: User,
    study: str,
    code: str,
    scope: str,
    visit: str | None,
    form: str | None,
    instance: int,
    exc: TrialkitError,
    typed: dict[str, str],
) -> Response:
    if scope == "form" and visit and form:
        view = _view(request, user, study, code, visit, form, _instance(instance))
        return _page(request, user, view, refused=exc, extra={"sign_typed": typed})
    return _participant_signatures(request, user, study, code, refused=exc, typed=typed)


def _locks_page(
    request: Request,
    user: User,
    study: str,
    *,
    refused: TrialkitError | None = None,
    typed: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    found = locks(db_of(request), user.ctx, study)
    principal = user.ctx.principal
    try:
        lockable = visible_sites(principal, Permission.LOCK, study)
        may_lock = lockable is None or bool(lockable)
    except AccessDenied:  # a role that reads but does not lock
        may_lock = False
    return render(
        request,
        "locks.html",
        {
            "study": study,
            "locks": found,
            "may_lock": may_lock,
            "may_lock_study": principal.can(Permission.LOCK, study, None),
            "problem": problem_of(refused) if refused is not None else None,
            "typed": typed or {},
            "done": done,
        },
        user=user,
        status_code=200 if refused is None else 409 if refused.code.startswith("LOCK") else 422,
    )


@router.get("/studies/{study}/locks")
def locks_page(
    request: Request,
    study: str,
    user: Annotated[User, Depends(signed_in)],
    done: str | None = None,
) -> Response:
    """The study's active locks at the user's sites, and the forms to lock and unlock."""
    visible_sites(user.ctx.principal, Permission.READ, study)
    return _locks_page(request, user, study, done=done if done in ("lock", "unlock") else None)


@router.post("/studies/{study}/locks")
async def locks_change(
    request: Request,
    study: str,
    user: Annotated[User, Depends(signed_in)],
) -> Response:
    """Lock or unlock (``action``) a form, a participant or the study (``scope``), with a
    reason; ``back`` = ``form`` returns to the form's page."""
    visible_sites(user.ctx.principal, Permission.READ, study)
    posted = await request.form()
    get = {k: str(posted.get(k) or "").strip()[:300] for k in ("scope", "participant", "visit")}
    form = str(posted.get("form") or "").strip()[:64]
    reason = str(posted.get("reason") or "")[:2000]
    action = str(posted.get("action") or "lock")
    instance_text = str(posted.get("instance") or "1")
    instance = int(instance_text) if instance_text.isdigit() else 1
    scope = get["scope"]
    code = get["participant"] or None
    typed = {**get, "form": form, "reason": reason}
    change = unlock if action == "unlock" else lock
    try:
        change(
            db_of(request),
            user.ctx,
            study,
            scope=scope,  # type: ignore[arg-type]  # the service refuses another scope
            participant=code if scope in ("participant", "form") else None,
            visit=get["visit"] or None if scope == "form" else None,
            form_id=form or None if scope == "form" else None,
            instance_no=instance,
            reason=reason,
        )
    except (AccessDenied, NotFound) as exc:
        hide = exc.code in ("PART.E003", "AUTH.E010") and code and scope != "study"
        if hide and (isinstance(exc, NotFound) or not _readable(request, user, study, code or "")):
            raise _hidden(study, code or "") from None
        if isinstance(exc, AccessDenied):
            raise
        return _lock_refused(request, user, study, posted.get("back") == "form", typed, exc)
    except TrialkitError as exc:
        return _lock_refused(request, user, study, posted.get("back") == "form", typed, exc)
    did = "unlocked" if action == "unlock" else "locked"
    if posted.get("back") == "form" and code and get["visit"] and form:
        return redirect(_form_url(study, code, get["visit"], form, instance, did))
    return redirect(f"/studies/{study}/locks?done={'unlock' if action == 'unlock' else 'lock'}")


def _lock_refused(
    request: Request,
    user: User,
    study: str,
    back_to_form: bool,
    typed: dict[str, str],
    exc: TrialkitError,
) -> Response:
    if back_to_form and typed["participant"] and typed["visit"] and typed["form"]:
        view = _view(request, user, study, typed["participant"], typed["visit"], typed["form"])
        return _page(request, user, view, refused=exc, extra={"lock_typed": typed})
    return _locks_page(request, user, study, refused=exc, typed=typed)
