"""The web application: FastAPI, server-rendered Jinja2 pages, htmx and Pico CSS (vendored).

:func:`create_app` builds the ASGI application: the routes of :mod:`trialkit.web.routes`, the
error pages of :mod:`trialkit.web.errors`, security headers (a Content-Security-Policy without
inline script), an access log that names the route and never the path (paths carry participant
identifiers), and CSRF protection on every state-changing request (``asgi-csrf``: a signed
cookie matched by the form's ``csrftoken`` field or the ``x-csrftoken`` header htmx sends).
The REDCap-compatible endpoint (exactly ``/redcap/api/``) is exempt: it reads no cookie, its
only credential is the token in the request body, so a forged cross-site request carries
nothing it would accept; every other path keeps the check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from asgi_csrf import asgi_csrf
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from trialkit import __version__
from trialkit.store import Database
from trialkit.web import errors
from trialkit.web.api import create_api, is_api_path
from trialkit.web.i18n import translator
from trialkit.web.pages import LANG_COOKIE
from trialkit.web.ratelimit import RateLimits
from trialkit.web.settings import Settings

__all__ = ["CSP", "create_app"]

HERE = Path(__file__).parent
access_log = logging.getLogger("trialkit.web.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def _security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if secure:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


def _csrf_failed(templates: Jinja2Templates) -> Callable[[Scope, Send, Any], Awaitable[None]]:
    async def send_failed(scope: Scope, send: Send, _message_id: Any) -> None:
        cookies = scope.get("headers") or []
        lang = "en"
        for k, v in cookies:
            if k == b"cookie" and f"{LANG_COOKIE}=fa".encode() in v:
                lang = "fa"
        _ = translator(lang)
        path = str(scope.get("path", ""))
        if path.startswith("/api/"):
            import json

            body = json.dumps(
                {"error": {"code": "WEB.E020", "message": "CSRF token missing or wrong"}}
            ).encode()
            ctype = b"application/json"
        else:
            body = (
                templates.get_template("error.html")
                .render(
                    _=_,
                    lang=lang,
                    dir="rtl" if _.rtl else "ltr",
                    status=403,
                    code="WEB.E020",
                    title=errors.TITLES[403],
                    known=errors.KNOWN["WEB.E020"],
                    message="CSRF token missing or wrong",
                    hint=None,
                    extra={},
                    user=None,
                    demo=False,
                    csrftoken="",
                    num=str,
                    path=path,
                    query="",
                )
                .encode()
            )
            ctype = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", ctype), (b"cache-control", b"no-store")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return send_failed


class _Edge:
    """Outermost layer: the security headers on every response (CSRF refusals included).

    ``api`` is the FastAPI application inside, whose ``routes`` list every route (the access
    matrix test enumerates them).
    """

    def __init__(self, app: ASGIApp, secure: bool, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self.headers = _security_headers(secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(event: Any) -> None:
            if event["type"] == "http.response.start":
                event = {**event, "headers": [*(event.get("headers") or []), *self.headers]}
            await send(event)

        await self.app(scope, receive, with_headers)


class _Split:
    """Paths under ``/api/v1`` go to the JSON API, which takes bearer tokens only and reads or
    sets no cookie, so it sits outside the pages' CSRF layer; everything else goes to the
    pages, CSRF-protected as before."""

    def __init__(self, pages: ASGIApp, api: ASGIApp) -> None:
        self.pages = pages
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(str(scope.get("path", ""))):
            await self.api(scope, receive, send)
        else:
            await self.pages(scope, receive, send)


class _AccessLog:
    """One log line per request naming the route's template, never the path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def seen(event: Any) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = int(event["status"])
            await send(event)

        try:
            await self.app(scope, receive, seen)
        finally:
            route = scope.get("route")
            access_log.info(
                "%s %s %d %.0fms",
                scope["method"],
                getattr(route, "path", "(static or unmatched)"),
                status,
                (time.perf_counter() - started) * 1000,
            )


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = datetime.now,
    limits: RateLimits | None = None,
) -> ASGIApp:
    """The application on ``db`` (default: the settings' database URL); ``limits`` the rate
    limiters (default: those of the settings, on the monotonic clock)."""
    from trialkit.web import redcap
    from trialkit.web.routes import (
        adverse_events,
        auth,
        doses,
        forms,
        home,
        participants,
        queries,
        review,
    )
    from trialkit.web.routes.amendments import router as amendment_routes
    from trialkit.web.routes.audit import router as audit_routes
    from trialkit.web.routes.safety_board import router as safety_board_routes

    api = FastAPI(
        title="trialkit",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    api.state.settings = settings
    api.state.db = db if db is not None else Database.from_url(settings.database_url)
    api.state.clock = clock
    api.state.limits = limits if limits is not None else RateLimits.from_settings(settings)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["version"] = __version__
    api.state.templates = templates
    api.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    api.add_middleware(_AccessLog)
    errors.install(api)
    # The data-entry routes first: a request is matched against the routers in order, and
    # these are the busiest; none of their paths is another route's (tests/web/test_route_order.py)
    api.include_router(forms.router)
    api.include_router(auth.router)
    api.include_router(home.router)
    api.include_router(queries.router)
    api.include_router(review.router)  # before participants: its POST .../{code}/{step}
    api.include_router(participants.router)
    api.include_router(adverse_events.router)
    api.include_router(doses.router)
    api.include_router(redcap.router)
    api.include_router(safety_board_routes)
    api.include_router(audit_routes)
    api.include_router(amendment_routes)
    protected = asgi_csrf(
        api,
        signing_secret=settings.secret_key,
        always_protect={"/login"},
        cookie_secure=settings.secure,
        cookie_samesite="Lax",
        send_csrf_failed=_csrf_failed(templates),
        skip_if_scope=lambda scope: scope.get("path") == redcap.PATH,
    )
    json_api = create_api(settings, api.state.db, clock)
    json_api.state.limits = api.state.limits  # one limiter per token across both APIs
    json_api.add_middleware(_AccessLog)
    return _Edge(_Split(protected, json_api), settings.secure, api)


def response_cookie(
    response: Response,
    name: str,
    value: str,
    settings: Settings,
    *,
    max_age: int | None = None,
    http_only: bool = True,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=http_only,
        samesite="lax",
        secure=settings.secure,
        path="/",
    )
