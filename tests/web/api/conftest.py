"""Fixtures of the API tests: bearer tokens of demo users on the web tests' demo database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import NOW

from trialkit.services import Context, issue_token
from trialkit.store import Database

Bearer = Callable[..., TestClient]


def token_for(
    db: Database, username: str, *, study: str | None = None, expires: datetime | None = None
) -> tuple[int, str]:
    """A new token of ``username`` (its id and the token), issued by the operator."""
    issued = issue_token(
        db,
        Context.operator("api-tests", NOW),
        f"api test {username}",
        username=username,
        study_code=study,
        expires_at=expires,
    )
    return issued.id, issued.token


@pytest.fixture
def bearer(app: object, web_db: Database) -> Bearer:
    """``bearer("n.rahimi")``: a client sending a fresh token of that demo user."""

    def client(username: str, *, study: str | None = None) -> TestClient:
        _, token = token_for(web_db, username, study=study)
        c = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
        c.headers["authorization"] = f"Bearer {token}"
        return c

    return client
