"""Bearer tokens over HTTP: none, unknown, expired and revoked tokens are refused with the
envelope; no CSRF token is needed and no cookie is set; the pages stay CSRF-protected."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient
from tests.web.api.conftest import Bearer, token_for
from tests.web.conftest import NOW, Clock, csrf_of

from trialkit.services import Context, revoke_token
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
TEH1 = "UCM-TEH-001"


def anonymous(app: object) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]


def test_no_token_is_401_with_the_envelope(app: object) -> None:
    r = anonymous(app).get("/api/v1/studies")
    assert r.status_code == 401
    assert r.json() == {
        "error": {
            "code": "API.E001",
            "message": "the request has no bearer token",
            "hint": "send the header 'Authorization: Bearer TOKEN' with a token from "
            "'trialkit token create'",
        }
    }
    assert r.headers["www-authenticate"] == 'Bearer realm="trialkit"'
    assert "set-cookie" not in r.headers
    assert r.headers["content-security-policy"]  # the security headers apply to the API too


def test_unknown_expired_and_revoked_tokens_are_refused(
    app: object, web_db: Database, clock: Clock
) -> None:
    client = anonymous(app)
    r = client.get("/api/v1/studies", headers={"authorization": "Bearer tk_nonsense"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "AUTH.E033")

    _, soon = token_for(web_db, "n.rahimi", expires=NOW + timedelta(hours=1))
    auth = {"authorization": f"Bearer {soon}"}
    assert client.get("/api/v1/studies", headers=auth).status_code == 200
    clock.advance(hours=1)
    r = client.get("/api/v1/studies", headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "AUTH.E035")

    token_id, token = token_for(web_db, "n.rahimi")
    auth = {"authorization": f"Bearer {token}"}
    assert client.get("/api/v1/studies", headers=auth).status_code == 200
    revoke_token(web_db, Context.operator("api-tests", NOW), token_id)
    r = client.get("/api/v1/studies", headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "AUTH.E034")


def test_writes_need_no_csrf_token_and_pages_still_do(app: object, bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    nurse.cookies.set("csrftoken", "planted")  # a cookie does not bring the pages' CSRF check
    r = nurse.post(f"/api/v1/studies/{UCM}/participants", json={"site": "TEH"})
    assert r.status_code == 201, r.text
    assert r.json()["site"] == "TEH"
    assert r.json()["status"] == "screening"
    assert "set-cookie" not in r.headers
    # the pages: a state-changing request without the CSRF token is still refused
    page = anonymous(app)
    csrf_of(page)
    refused = page.post("/login", data={"username": "n.rahimi", "password": "x"})
    assert refused.status_code == 403
    assert "WEB.E020" in refused.text
    # a path that only looks like the API's is not let through
    assert page.post("/api/v10", data={}).status_code == 403


def test_a_token_limited_to_another_study_sees_nothing_here(bearer: Bearer) -> None:
    limited = bearer("n.rahimi", study="ibd-placental-exosomes")
    codes = [s["code"] for s in limited.get("/api/v1/studies").json()["items"]]
    assert UCM not in codes
    r = limited.get(f"/api/v1/studies/{UCM}/participants/{TEH1}")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "AUTH.E010")


def test_the_openapi_document_declares_every_error(app: object) -> None:
    doc = anonymous(app).get("/api/v1/openapi.json").json()
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        assert path.startswith("/api/v1/")
        for method, op in operations.items():
            declared = set(op["responses"])
            assert {"401", "403", "404", "422"} <= declared, (method, path)
            for status in declared - {"200", "201"}:
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, status)
            if method in ("post", "put"):
                assert {"409", "423"} <= declared, (method, path)
            assert op["security"] == [{"token": []}]
