"""What every route shares: the request's session and language, rendering, and redirects.

A route asks for :func:`signed_in` (the session resumed into a fresh
:class:`~trialkit.services.Context` for this request) and renders with :func:`render`, which
gives every template ``_`` (the user's catalogue), the language and direction, the CSRF token,
the user and the session's timings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from trialkit.errors import AccessDenied
from trialkit.services import Context
from trialkit.services.web_sessions import ResumedSession, resume
from trialkit.store import Database
from trialkit.web import labels
from trialkit.web.i18n import (
    LANGUAGES,
    Translator,
    date_text,
    digits,
    show_date,
    show_datetime,
    translator,
)
from trialkit.web.settings import Settings
from trialkit.web.units import shown_quantity, shown_text, shown_unit

__all__ = [
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "SignInRequired",
    "User",
    "anonymous_language",
    "db_of",
    "now",
    "redirect",
    "render",
    "settings_of",
    "signed_in",
    "signed_in_quietly",
]

SESSION_COOKIE = "trialkit_session"
LANG_COOKIE = "trialkit_lang"


class SignInRequired(Exception):
    """No valid session: the page redirects to sign-in (the API answers 401)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class User:
    """The signed-in user of one request."""

    session: ResumedSession
    _: Translator

    @property
    def ctx(self) -> Context:
        return self.session.ctx

    @property
    def language(self) -> str:
        return self._.language


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def now(request: Request) -> datetime:
    """The time of this request (the web layer is an edge: it reads the clock)."""
    clock = request.app.state.clock
    value: datetime = clock()
    return value


def anonymous_language(request: Request) -> str:
    """The language before sign-in: the cookie, else the browser's preference, else the
    configured default."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("fa"):
        return "fa"
    return settings_of(request).language


def signed_in(request: Request) -> User:
    """The request's user, or :class:`SignInRequired`; the request counts as activity."""
    return _resumed(request, touch=True)


def signed_in_quietly(request: Request) -> User:
    """The request's user, without counting the request as activity (the idle warning's
    question how long the session has left)."""
    return _resumed(request, touch=False)


def _resumed(request: Request, *, touch: bool) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired("WEB.E001", "you are not signed in")
    try:
        settings = settings_of(request)
        session = resume(db_of(request), token, now(request), idle=settings.idle, touch=touch)
    except AccessDenied as exc:
        raise SignInRequired(exc.code, exc.message) from exc
    request.state.language = session.language
    user = User(session, translator(session.language))
    request.state.user = user
    return user


def _csrf(request: Request) -> str:
    get = request.scope.get("csrftoken")
    return str(get()) if callable(get) else ""


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    user: User | None = None,
    language: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` in the user's language (or the anonymous one)."""
    lang = user.language if user is not None else (language or anonymous_language(request))
    _ = translator(lang)
    settings = settings_of(request)
    values: dict[str, Any] = {
        "request": request,
        "_": _,
        "lang": lang,
        "dir": "rtl" if _.rtl else "ltr",
        "csrftoken": _csrf(request),
        "user": user,
        "demo": settings.demo,
        "num": lambda v: digits(v, lang),
        "day": lambda v: show_date(v, lang),
        "when": lambda v: show_datetime(v, lang),
        "day_text": lambda v: date_text(v, lang),
        "labels": labels,
        "unit": shown_unit,
        "quantity": lambda amount, unit: shown_quantity(amount, unit, lang),
        "figures": lambda text: shown_text(text),
        "path": request.url.path,
        "query": str(request.url.query),
    }
    if user is not None:
        s = user.session
        remaining = max(0, int((s.idle_deadline - user.ctx.as_of).total_seconds()))
        values["idle_seconds"] = remaining
        values["warn_seconds"] = settings.warn_minutes * 60
    values.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str) -> RedirectResponse:
    """A redirect after a form post (303: the browser follows with GET)."""
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """A same-site path to go back to (an absolute or protocol-relative URL gives ``/``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(path: str) -> str:
    return "/login" if path in ("", "/") else f"/login?next={quote(path)}"


def today(request: Request) -> date:
    return now(request).date()
