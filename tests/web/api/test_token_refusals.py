"""Tokens that are refused, on both APIs, with each endpoint's error format and stable codes
(docs/api.md, "Tokens that are refused"): expired, revoked, of a deactivated user, limited to
another study, and each endpoint's kind presented to the other. Every operation of /api/v1
refuses a request without a token the same way."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient
from tests.web.api.conftest import token_for
from tests.web.conftest import NOW, Clock

from trialkit.services import Context, issue_token, revoke_token, set_active
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
IBD = "ibd-placental-exosomes"
URL = "/redcap/api/"
PATH = f"/api/v1/studies/{UCM}/participants/UCM-TEH-001"


@pytest.fixture
def client(app: object) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]


def _bearer(client: TestClient, token: str, path: str = PATH) -> tuple[int, str]:
    r = client.get(path, headers={"authorization": f"Bearer {token}"})
    assert set(r.json()) == {"error"} or r.status_code == 200, r.text
    return r.status_code, (r.json().get("error") or {}).get("code", "")


def _redcap(client: TestClient, token: str, fmt: str = "json") -> tuple[int, str]:
    r = client.post(URL, data={"token": token, "content": "metadata", "format": fmt})
    if r.status_code == 200:
        return 200, ""
    text = r.json()["error"] if fmt == "json" else r.text.removeprefix("ERROR: ")
    m = re.match(r"([A-Z]+\.E\d{3}): ", text)
    assert m, text
    return r.status_code, m.group(1)


def _redcap_token(db: Database, username: str, **kw: object) -> tuple[int, str]:
    issued = issue_token(
        db, Context.operator("api-tests", NOW), "r", username=username, study_code=UCM,
        redcap=True, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return issued.id, issued.token


def test_expired_tokens_are_refused_on_both_apis(
    client: TestClient, web_db: Database, clock: Clock
) -> None:
    soon = NOW + timedelta(hours=1)
    _, bearer = token_for(web_db, "dm.karimi", expires=soon)
    _, redcap = _redcap_token(web_db, "dm.karimi", expires_at=soon)
    assert _bearer(client, bearer) == (200, "")
    assert _redcap(client, redcap) == (200, "")
    clock.advance(hours=1)  # the expiry itself is past: refused
    assert _bearer(client, bearer) == (401, "AUTH.E035")
    assert _redcap(client, redcap) == (403, "AUTH.E035")
    assert _redcap(client, redcap, "csv") == (403, "AUTH.E035")


def test_revoked_tokens_are_refused_at_the_next_request(
    client: TestClient, web_db: Database
) -> None:
    op = Context.operator("api-tests", NOW)
    bearer_id, bearer = token_for(web_db, "dm.karimi")
    redcap_id, redcap = _redcap_token(web_db, "dm.karimi")
    assert _bearer(client, bearer) == (200, "")
    assert _redcap(client, redcap.lower()) == (200, "")
    revoke_token(web_db, op, bearer_id)
    revoke_token(web_db, op, redcap_id)
    assert _bearer(client, bearer) == (401, "AUTH.E034")
    assert _redcap(client, redcap) == (403, "AUTH.E034")
    assert _redcap(client, redcap.lower(), "csv") == (403, "AUTH.E034")


def test_a_deactivated_users_tokens_are_refused(client: TestClient, web_db: Database) -> None:
    op = Context.operator("api-tests", NOW)
    _, bearer = token_for(web_db, "mon.hosseini")
    _, redcap = _redcap_token(web_db, "mon.hosseini")
    assert _bearer(client, bearer) == (200, "")
    set_active(web_db, op, "mon.hosseini", False, "left the study team")
    try:
        assert _bearer(client, bearer) == (403, "AUTH.E021")
        assert _redcap(client, redcap) == (403, "AUTH.E021")
    finally:
        set_active(web_db, op, "mon.hosseini", True, "back on the team")
    assert _bearer(client, bearer) == (200, "")


def test_a_token_limited_to_one_study_opens_no_other(client: TestClient, web_db: Database) -> None:
    _, limited = token_for(web_db, "dm.karimi", study=IBD)
    assert _bearer(client, limited, f"/api/v1/studies/{IBD}/participants") == (200, "")
    for path in (PATH, f"/api/v1/studies/{UCM}/participants", f"/api/v1/studies/{UCM}/values"):
        assert _bearer(client, limited, path) == (403, "AUTH.E010")
    # and it carries no platform administration, even for an administrator's token
    r = client.get("/api/v1/audit/verification", headers={"authorization": f"Bearer {limited}"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "AUTH.E011")


def test_each_endpoint_takes_only_its_own_kind_of_token(
    client: TestClient, web_db: Database
) -> None:
    _, bearer = token_for(web_db, "dm.karimi")
    _, redcap = _redcap_token(web_db, "dm.karimi")
    assert _bearer(client, redcap) == (401, "AUTH.E033")
    assert _redcap(client, bearer) == (403, "AUTH.E033")
    assert _redcap(client, "") == (403, "AUTH.E033")


def test_every_operation_refuses_a_request_without_a_token(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    for path, operations in doc["paths"].items():
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        for method in operations:
            r = client.request(method.upper(), concrete, json={})
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["error"]["code"] == "API.E001", (method, path)
            assert r.headers["www-authenticate"] == 'Bearer realm="trialkit"'
