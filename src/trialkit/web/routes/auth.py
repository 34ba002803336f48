"""Sign-in, sign-out, the session's keep-alive and the language switch.

Sign-in attempts are limited per client address (:mod:`trialkit.web.ratelimit`) before the
password is checked: over the limit the page answers 429 (``WEB.E050``) with ``Retry-After``
and checks nothing, so the per-account lockout is not touched by the refused attempts.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from trialkit.errors import AccessDenied, ValidationFailed
from trialkit.services.web_sessions import set_language, sign_in, sign_out
from trialkit.web.app import response_cookie
from trialkit.web.errors import KNOWN
from trialkit.web.pages import (
    LANG_COOKIE,
    SESSION_COOKIE,
    User,
    anonymous_language,
    db_of,
    now,
    redirect,
    render,
    safe_next,
    settings_of,
    signed_in,
    signed_in_quietly,
)
from trialkit.web.ratelimit import RateLimits

router = APIRouter()


class LoginForm(BaseModel):
    username: str = Field(default="", max_length=64)
    password: str = Field(default="", max_length=1024)
    next: str = Field(default="/", max_length=2048)


class LanguageForm(BaseModel):
    language: str = Field(pattern="^(en|fa)$")
    next: str = Field(default="/", max_length=2048)


_ENDED = ("WEB.E002", "WEB.E003", "WEB.E004")
log = logging.getLogger("trialkit.web")


@router.get("/login")
def login_page(request: Request, next: str = "/", ended: str = "") -> Response:
    notice = KNOWN.get(ended) if ended in _ENDED else None
    return render(request, "login.html", {"next": safe_next(next), "notice": notice})


@router.post("/login")
def login(request: Request, form: Annotated[LoginForm, Form()]) -> Response:
    settings = settings_of(request)
    language = anonymous_language(request)
    username = form.username.strip().lower()
    limits: RateLimits = request.app.state.limits
    address = request.client.host if request.client else "unknown"
    decision = limits.sign_in.hit(address)
    if not decision.allowed:
        log.warning(
            "sign-in refused: more than %d attempts in %g s from one address",
            limits.sign_in.limit,
            limits.sign_in.window,
        )
        refused = render(
            request,
            "login.html",
            {"next": safe_next(form.next), "error": KNOWN["WEB.E050"], "username": username},
            status_code=429,
        )
        refused.headers["retry-after"] = str(decision.retry_after)
        return refused
    try:
        if not username or not form.password:
            raise ValidationFailed("give your user name and password", code="WEB.E031")
        session = sign_in(
            db_of(request),
            username,
            form.password,
            now(request),
            language=language,
            lifetime=settings.lifetime,
        )
    except (AccessDenied, ValidationFailed) as exc:
        message = KNOWN.get(exc.code) or KNOWN["AUTH.E020"]
        return render(
            request,
            "login.html",
            {"next": safe_next(form.next), "error": message, "username": username},
            status_code=401 if exc.code != "AUTH.E022" else 403,
        )
    response = redirect(safe_next(form.next))
    response_cookie(
        response, SESSION_COOKIE, session.token, settings, max_age=settings.session_hours * 3600
    )
    response_cookie(response, LANG_COOKIE, session.language, settings, max_age=365 * 86400)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        sign_out(db_of(request), token, now(request))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def choose_language(request: Request, form: Annotated[LanguageForm, Form()]) -> Response:
    """Switch the language: the user's preference when signed in, else this browser's."""
    settings = settings_of(request)
    if request.cookies.get(SESSION_COOKIE):
        user = signed_in(request)
        set_language(db_of(request), user.ctx, user.session.session_id, form.language)
    response = redirect(safe_next(form.next))
    response_cookie(response, LANG_COOKIE, form.language, settings, max_age=365 * 86400)
    return response


@router.post("/session/keepalive")
def keepalive(user: Annotated[User, Depends(signed_in)]) -> Response:
    """Resuming the session (the dependency) moved its idle deadline; say when it is now."""
    return _status(user)


@router.get("/api/session")
def session_status(user: Annotated[User, Depends(signed_in_quietly)]) -> Response:
    """Who is signed in and when the session ends (read by the idle warning, so that a page
    left open does not warn while the user works in another tab); asking is not activity."""
    return _status(user)


def _status(user: User) -> Response:
    s = user.session
    return JSONResponse(
        {
            "username": user.ctx.principal.username,
            "language": user.language,
            "idle_seconds": max(0, int((s.idle_deadline - user.ctx.as_of).total_seconds())),
            "expires_at": s.expires_at.isoformat(),
        },
        headers={"Cache-Control": "no-store"},
    )
