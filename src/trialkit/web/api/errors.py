"""The JSON error envelope of ``/api/v1`` and the responses every operation declares.

Every refusal is ``{"error": {"code", "message", "hint"?, ...}}`` with the stable codes of
:mod:`trialkit.errors` (the statuses of :func:`trialkit.web.errors.status_of`), and ``API.E0xx``
for the API's own: a client mistake is a 4xx, never a 5xx; an unexpected error is ``WEB.E500``
with a reference that is logged (no request data).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from trialkit.errors import ConflictError, TrialkitError, ValidationFailed
from trialkit.web.errors import status_of

__all__ = ["READ_ERRORS", "WRITE_ERRORS", "ApiError", "ErrorBody", "ErrorEnvelope", "install"]

log = logging.getLogger("trialkit.web.api")


class ErrorBody(BaseModel):
    """One refusal: the stable ``code``, a ``message`` naming the thing and the bad value, and
    what to do (``hint``); ``errors`` maps a field to its problems; a stale save carries the
    ``current_version`` (and ``current`` values) to merge with."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    hint: str | None = None
    errors: dict[str, list[str]] | None = None
    current_version: int | None = None
    current: dict[str, Any] | None = None
    reference: str | None = None


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error: ErrorBody


class ApiError(TrialkitError):
    """A refusal of the API layer itself (``API.E0xx``) with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.status = status
        self.headers = headers or {}


def _declared(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The request could not be done",
        401: "No valid bearer token (missing, unknown, revoked or expired)",
        403: "The token's user may not do this",
        404: "No such study, site, participant, form or record at the user's sites",
        409: "Not possible in the current state, or a stale save (current_version)",
        422: "The input was malformed or broke the protocol's rules",
        423: "The record is locked",
        429: "Too many requests with this token (API.E003); wait Retry-After seconds",
    }
    return {s: {"model": ErrorEnvelope, "description": descriptions[s]} for s in statuses}


#: The refusals of a reading operation, and of a writing one.
READ_ERRORS = _declared(400, 401, 403, 404, 422, 429)
WRITE_ERRORS = _declared(400, 401, 403, 404, 409, 422, 423, 429)


def envelope(
    status: int, body: dict[str, Any], extra_headers: dict[str, str] | None = None
) -> Response:
    """The envelope; a refusal's ``current`` values may hold times and decimals, encoded as the
    responses encode them. A 401 names the scheme it wants (``WWW-Authenticate: Bearer``), a
    429 when to retry (``Retry-After``, in ``extra_headers``)."""
    headers = {"cache-control": "no-store", **(extra_headers or {})}
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="trialkit"'
    return JSONResponse(jsonable_encoder({"error": body}), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """The API's exception handlers: every error leaves as the envelope."""

    @app.exception_handler(TrialkitError)
    async def trialkit_error(_request: Request, exc: TrialkitError) -> Response:
        body = exc.to_dict()
        if isinstance(exc, ValidationFailed) and exc.errors:
            body["errors"] = exc.errors
        if isinstance(exc, ConflictError) and exc.current_version is not None:
            body["current_version"] = exc.current_version
            body["current"] = exc.current
        status = exc.status if isinstance(exc, ApiError) else status_of(exc)
        if status == 403 and exc.code.startswith("AUTH.E03"):
            status = 401  # a token that is not valid (unknown, revoked, expired)
        return envelope(status, body, exc.headers if isinstance(exc, ApiError) else None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        return envelope(exc.status_code, {"code": f"WEB.E{exc.status_code}", "message": exc.detail})

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> Response:
        fields: dict[str, list[str]] = {}
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")]
            fields.setdefault(".".join(loc) or "request", []).append(str(e.get("msg")))
        message = "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items())
        return envelope(422, {"code": "WEB.E422", "message": message, "errors": fields})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(6)
        route = getattr(request.scope.get("route"), "path", "?")
        log.error("unexpected error %s on %s %s", reference, request.method, route, exc_info=exc)
        return envelope(
            500,
            {
                "code": "WEB.E500",
                "message": f"unexpected error, reference {reference}",
                "reference": reference,
            },
        )
