"""The audit verification over the API: a platform administrator proves the trail and the
data; anyone else is refused; the fuzzing's changes leave a trail that still proves."""

from __future__ import annotations

from starlette.testclient import TestClient
from tests.web.api.conftest import Bearer, token_for
from tests.web.conftest import NOW

from trialkit.services import Context, create_user
from trialkit.store import Database
from trialkit.web.demo_mode import DEMO_PASSWORD


def test_an_administrator_verifies_the_trail_and_others_may_not(
    app: object, web_db: Database, bearer: Bearer
) -> None:
    create_user(
        web_db,
        Context.operator("api-tests", NOW),
        "root.admin",
        DEMO_PASSWORD,
        display_name="Admin",
        is_admin=True,
    )
    _, token = token_for(web_db, "root.admin")
    admin = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    r = admin.get("/api/v1/audit/verification", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is True
    assert result["replayed"] is True
    assert result["entries"] > 0
    assert len(result["head_hash"]) == 64
    refused = bearer("dm.karimi").get("/api/v1/audit/verification")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "AUTH.E011"
