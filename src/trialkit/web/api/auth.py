"""Bearer-token authentication: every request builds its own :class:`Context`.

The token is one issued by ``trialkit token create`` (``Authorization: Bearer tk_...``);
:func:`trialkit.services.users.context_for_token` checks it (hash, expiry, revocation, the
user's memberships in force now, a study limit). No cookie is read or set, so the API needs no
CSRF token: a cross-site form cannot add the header. A valid token is then held to its rate
limit (:mod:`trialkit.web.ratelimit`: 429 ``API.E003`` with ``Retry-After``); the limiter keys
the token by its SHA-256 and nothing here logs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trialkit.services import Context, context_for_token
from trialkit.store import Database
from trialkit.web.api.errors import ApiError
from trialkit.web.ratelimit import RateLimits, token_key

__all__ = ["Caller", "caller"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from `trialkit token create USER` (`tk_...`).",
)


@dataclass(frozen=True)
class Caller:
    """Who calls (``ctx``), on which database, and today's date for the call."""

    ctx: Context
    db: Database

    @property
    def today(self) -> date:
        return self.ctx.as_of.date()


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The request's caller, or 401 (``API.E001`` no token; ``AUTH.E033``-``E035`` refused)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(
            401,
            "the request has no bearer token",
            code="API.E001",
            hint="send the header 'Authorization: Bearer TOKEN' with a token from "
            "'trialkit token create'",
        )
    db: Database = request.app.state.db
    clock = request.app.state.clock
    now: datetime = clock()
    token = credentials.credentials.strip()
    ctx = context_for_token(db, token, now)
    limits: RateLimits = request.app.state.limits
    decision = limits.tokens.hit(token_key(token))
    if not decision.allowed:
        raise ApiError(
            429,
            limits.token_refusal(decision.retry_after),
            code="API.E003",
            hint=f"wait {decision.retry_after} s (Retry-After) and send fewer requests; ask for "
            "a page of up to 500 items (?limit=500) or stream the values instead of many calls",
            headers={"retry-after": str(decision.retry_after)},
        )
    return Caller(ctx, db)


#: The dependency of every operation.
Auth = Annotated[Caller, Depends(caller)]
