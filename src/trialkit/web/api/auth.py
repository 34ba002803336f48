"""Bearer-token authentication: every request builds its own :class:`Context`.

The token is one issued by ``trialkit token create`` (``Authorization: Bearer tk_...``);
:func:`trialkit.services.users.context_for_token` checks it (hash, expiry, revocation, the
user's memberships in force now, a study limit). No cookie is read or set, so the API needs no
CSRF token: a cross-site form cannot add the header.
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
    return Caller(context_for_token(db, credentials.credentials.strip(), now), db)


#: The dependency of every operation.
Auth = Annotated[Caller, Depends(caller)]
