"""One HTML error page and one JSON error envelope (for ``/api/`` paths).

The envelope is ``{"error": {"code": ..., "message": ..., "hint": ...}}`` with the stable codes
of :mod:`trialkit.errors` (and ``WEB.E0xx`` for the web layer's own). A user never sees a
traceback: an unexpected error is logged with a reference (no request data) and shown as
``WEB.E500`` with that reference.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from trialkit.errors import (
    AccessDenied,
    ConflictError,
    LockedError,
    NotFound,
    TransitionError,
    TrialkitError,
    ValidationFailed,
)
from trialkit.web.pages import SignInRequired, login_url, render

__all__ = ["install", "status_of"]

log = logging.getLogger("trialkit.web")


def status_of(exc: TrialkitError) -> int:
    if isinstance(exc, AccessDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, ValidationFailed):
        return 422
    if isinstance(exc, LockedError):
        return 423
    if isinstance(exc, ConflictError | TransitionError):
        return 409
    return 400


#: The page title of each status (a msgid).
TITLES = {
    400: "The request could not be done",
    401: "Please sign in",
    403: "Access denied",
    404: "Not found",
    405: "Not allowed here",
    409: "Not possible in the current state",
    422: "Please check what you entered",
    423: "Locked",
    500: "Something went wrong on our side",
}

#: Translated explanations of the codes a user meets most (msgids); others show the message.
KNOWN = {
    "AUTH.E020": "Unknown user or wrong password.",
    "AUTH.E021": "This account is deactivated. Ask an administrator.",
    "AUTH.E022": "This account is locked after repeated wrong passwords. Wait 15 minutes or "
    "ask an administrator to reset the password.",
    "AUTH.E010": "Your role in this study does not allow this. Ask the study's administrator "
    "for a membership that does.",
    "PART.E003": "There is no such participant among those at your sites. Check the "
    "participant id.",
    "STUDY.E003": "There is no such study.",
    "WEB.E001": "You are not signed in.",
    "WEB.E002": "Your session has ended. Please sign in again.",
    "WEB.E003": "Your session timed out after a period of inactivity. Please sign in again.",
    "WEB.E004": "Your session reached its time limit. Please sign in again.",
    "WEB.E020": "The form had expired or did not come from this site. Please go back, reload "
    "the page and try again.",
    "WEB.E031": "Give your user name and password.",
    "WEB.E050": "Too many sign-in attempts from this network address. Wait a few minutes, then "
    "try again.",
    "WEB.E404": "There is no such page.",
    "WEB.E405": "This address does not accept that kind of request.",
    "WEB.E422": "The request was incomplete or malformed.",
    "WEB.E500": "The error was recorded with the reference below. Please try again; if it "
    "persists, give the reference to your administrator.",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    hint: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    if _is_api(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if hint:
            body["hint"] = hint
        if extra:
            body.update(extra)
        return JSONResponse({"error": body}, status_code=status)
    user = getattr(request.state, "user", None)
    return render(
        request,
        "error.html",
        {
            "status": status,
            "code": code,
            "title": TITLES.get(status, TITLES[400]),
            "known": KNOWN.get(code),
            # the service's own detail (English) where it adds to the translated text
            "message": None if code in KNOWN and code.startswith(("WEB.", "AUTH.E02")) else message,
            "hint": hint,
            "extra": extra or {},
        },
        user=user,
        language=getattr(request.state, "language", None),
        status_code=status,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(TrialkitError)
    async def trialkit_error(request: Request, exc: TrialkitError) -> Response:
        extra: dict[str, Any] = {}
        if isinstance(exc, ValidationFailed) and exc.errors:
            extra["errors"] = exc.errors
        return error_response(request, status_of(exc), exc.code, exc.message, exc.hint, extra)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        if _is_api(request):
            return error_response(request, 401, exc.code, exc.message, "sign in")
        target = login_url(request.url.path)
        if exc.code != "WEB.E001":
            sep = "&" if "?" in target else "?"
            target = f"{target}{sep}ended={exc.code}"
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return Response(status_code=303, headers={"Location": target})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = f"WEB.E{exc.status_code}"
        return error_response(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        fields: dict[str, list[str]] = {}
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")]
            fields.setdefault(".".join(loc) or "request", []).append(str(e.get("msg")))
        message = "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items())
        return error_response(request, 422, "WEB.E422", message, None, {"errors": fields})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(6)
        log.error(
            "unexpected error %s on %s %s", reference, request.method, _route(request), exc_info=exc
        )
        return error_response(
            request,
            500,
            "WEB.E500",
            f"unexpected error, reference {reference}",
            extra={"reference": reference},
        )


def _route(request: Request) -> str:
    """The route's template (``/studies/{study}/participants/{code}``), never the path: paths
    carry participant identifiers, which are not logged."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "?"))
