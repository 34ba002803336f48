"""The API over a real socket (uvicorn in a thread): the OpenAPI document, a read, and the value
stream read line by line as a client streams it."""

from __future__ import annotations

import json

import httpx
from tests.web.api.conftest import token_for
from tests.web.conftest import LiveServer

from trialkit.store import Database


def test_the_api_over_a_live_server(app: object, web_db: Database) -> None:
    server = LiveServer(app)
    try:
        _, token = token_for(web_db, "stat.moradi")
        with httpx.Client(
            base_url=f"{server.url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,  # the OpenAPI document is built at its first request: seconds when loaded
        ) as api:
            doc = api.get("/openapi.json").json()
            assert doc["info"]["title"] == "trialkit API"
            assert "/api/v1/studies/{study}/values" in doc["paths"]
            studies = api.get("/studies").raise_for_status().json()["items"]
            assert "psoriasis-ucmsc" in [s["code"] for s in studies]
            with api.stream("GET", "/studies/psoriasis-ucmsc/values") as r:
                assert r.status_code == 200
                rows = [json.loads(line) for line in r.iter_lines() if line]
            assert rows
            assert rows[0]["participant"].startswith("UCM-")
            # the read transaction of the stream was closed: the next request is served
            assert api.get("/studies/psoriasis-ucmsc/sites").status_code == 200
    finally:
        server.stop()
