"""Analysis results over /api/v1, on SQLite and PostgreSQL: the protocol's endpoints as
``analyse()`` computes them on the analysis tables (what the report shows), study-wide only,
pooled for a blinded reader of a masked study."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.web.api.conftest import Bearer
from tests.web.api.databases import web_db
from tests.web.api.masked import masked_study
from tests.web.conftest import NOW

from trialkit.analysis import analyse
from trialkit.services import Context, add_membership, create_user
from trialkit.services.tidy import tidy_extract
from trialkit.store import Database
from trialkit.web.demo_mode import DEMO_PASSWORD

__all__ = ["web_db"]

UCM = "psoriasis-ucmsc"


def error(r: Any) -> tuple[int, str]:
    body = r.json()
    assert set(body) == {"error"}, body
    return r.status_code, body["error"]["code"]


def test_the_endpoints_as_the_report_computes_them(bearer: Bearer, web_db: Database) -> None:
    r = bearer("stat.moradi").get(f"/api/v1/studies/{UCM}/analysis")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["study"] == UCM
    assert out["blinded"] is False
    assert out["arms"] == ["UCMSC"]
    # the same tables, the same computation as the report and `trialkit analyse --db`
    extract = tidy_extract(web_db, Context.operator("t", NOW), UCM)
    specs = [ep for o in extract.study.outcomes for ep in o.endpoints]
    expected = analyse(specs, extract.data, arm_order=[a.id for a in extract.study.arms])
    assert [e["name"] for e in out["endpoints"]] == [e.name for e in expected]
    assert out["participants"] == len(extract.data.participants())
    for got, want in zip(out["endpoints"], expected, strict=True):
        assert got["status"] == want.status
        assert got["columns"] == list(want.columns)
        assert got["rows"] == want.to_dict()["rows"]
        assert got["outcome_kind"] in {"primary", "secondary", "other"}
    assert any(e["status"] == "computed" and e["rows"] for e in out["endpoints"])


def test_one_endpoint_rounded_and_an_unknown_one(bearer: Bearer) -> None:
    stat = bearer("stat.moradi")
    every = stat.get(f"/api/v1/studies/{UCM}/analysis").json()["endpoints"]
    name = every[0]["name"]
    one = stat.get(f"/api/v1/studies/{UCM}/analysis", params={"endpoint": name, "display": True})
    assert [e["name"] for e in one.json()["endpoints"]] == [name]
    for row in one.json()["endpoints"][0]["rows"]:
        for value in row.values():
            if isinstance(value, float):
                assert round(value, 4) == value
    r = stat.get(f"/api/v1/studies/{UCM}/analysis", params={"endpoint": "no such endpoint"})
    assert error(r) == (404, "API.E003")


def test_analysis_is_study_wide_and_for_the_roles_that_analyse(
    bearer: Bearer, web_db: Database, request: pytest.FixtureRequest
) -> None:
    assert bearer("dm.karimi").get(f"/api/v1/studies/{UCM}/analysis").status_code == 200
    assert bearer("dsmb.safavi").get(f"/api/v1/studies/{UCM}/analysis").status_code == 200
    for user in ("n.rahimi", "dr.amini", "mon.hosseini", "pharm.jafari"):
        assert error(bearer(user).get(f"/api/v1/studies/{UCM}/analysis")) == (403, "AUTH.E010")
    # a statistician at one site: the endpoints are statements about the whole study
    name = f"stat.teh.{request.node.callspec.id[:2]}"
    admin = Context.operator("admin", NOW)
    create_user(web_db, admin, name, DEMO_PASSWORD, display_name="Site statistician")
    add_membership(web_db, admin, name, UCM, "statistician", site_code="TEH")
    assert error(bearer(name).get(f"/api/v1/studies/{UCM}/analysis")) == (403, "AUTH.E010")
    assert error(bearer("stat.moradi").get("/api/v1/studies/no-such/analysis"))[0] in (403, 404)


def test_a_blinded_reader_gets_pooled_results_only(
    bearer: Bearer, web_db: Database, request: pytest.FixtureRequest
) -> None:
    masked = masked_study(web_db, f"masked-analysis-{request.node.callspec.id[:2]}")
    path = f"/api/v1/studies/{masked.study}/analysis"
    blind = bearer(masked.blind_stat).get(path)
    assert blind.status_code == 200, blind.text
    assert blind.json()["blinded"] is True
    assert blind.json()["arms"] == ["BLINDED"]
    # nothing by arm: the methods' conventions name arms only in general words ("natural
    # order: G50, G100, G200"), everything else holds no arm id
    shown = json.dumps([{**e, "methods": None} for e in blind.json()["endpoints"]])
    for arm in ("G50", "G100", "G200"):
        assert arm not in shown
    for e in blind.json()["endpoints"]:
        for row in e["rows"]:
            assert row.get("arm") in (None, "BLINDED")
    unblinded = bearer(masked.open_stat).get(path).json()
    assert unblinded["blinded"] is False
    assert unblinded["arms"] == ["G50", "G100", "G200"]
