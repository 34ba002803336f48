"""Formatted exports over /api/v1, on SQLite and PostgreSQL: each format downloaded as its
single file or a zip of its files, as the token's user (sites, blinding), ``as_of`` where the
format honours it, and nothing left on disk."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tests.web.api.conftest import Bearer
from tests.web.api.databases import web_db
from tests.web.api.masked import masked_study
from tests.web.conftest import NOW

from trialkit.exports import FORMATS
from trialkit.services import Context, add_membership, create_user
from trialkit.store import Database
from trialkit.web.demo_mode import DEMO_PASSWORD

__all__ = ["web_db"]

UCM = "psoriasis-ucmsc"
BASE = f"/api/v1/studies/{UCM}/exports"


def error(r: Any) -> tuple[int, str]:
    body = r.json()
    assert set(body) == {"error"}, body
    return r.status_code, body["error"]["code"]


def leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("trialkit-export-*")}


def unzip(r: Any) -> zipfile.ZipFile:
    assert r.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(r.content))


def long_rows(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("long.csv").decode("utf-8-sig"))))


def test_every_format_downloads(bearer: Bearer) -> None:
    manager = bearer("dm.karimi")
    listed = manager.get("/api/v1/exports/formats").json()["items"]
    assert [f["format"] for f in listed] == list(FORMATS)
    before = leftovers()
    for fmt in FORMATS:
        r = manager.get(f"{BASE}/{fmt}")
        assert r.status_code == 200, (fmt, r.text[:300])
        assert r.headers["content-disposition"].startswith('attachment; filename="psoriasis-ucmsc')
        assert int(r.headers["content-length"]) == len(r.content) > 0
        assert int(r.headers["x-trialkit-participants"]) > 0
        if fmt in ("odm", "fhir", "ctgov-results"):  # one file each, sent as it is
            assert r.headers["content-type"] in (
                "application/xml",
                "application/json",
                "application/fhir+json",
            )
            assert r.headers["content-type"] != "application/json" or r.json()
        else:
            assert unzip(r).namelist()
    assert leftovers() <= before  # every temporary folder and file is gone


def test_csv_as_a_zip_and_a_single_file_zipped_on_request(bearer: Bearer) -> None:
    manager = bearer("dm.karimi")
    archive = unzip(manager.get(f"{BASE}/csv"))
    assert sorted(archive.namelist()) == ["dictionary.csv", "long.csv", "wide.csv"]
    sites = {row["site"] for row in long_rows(archive)}
    assert sites == {"ISF", "TEH"}
    odm = manager.get(f"{BASE}/odm")
    assert odm.headers["content-type"] == "application/xml"
    assert odm.content.startswith(b"<?xml")
    zipped = unzip(manager.get(f"{BASE}/odm", params={"archive": True}))
    assert zipped.read(zipped.namelist()[0]) == odm.content


def test_as_the_tokens_user_with_its_sites(
    bearer: Bearer, web_db: Database, request: pytest.FixtureRequest
) -> None:
    for user in ("n.rahimi", "mon.hosseini", "pharm.jafari"):
        assert error(bearer(user).get(f"{BASE}/csv")) == (403, "AUTH.E010")
    name = f"stat.exp.{request.node.callspec.id[:2]}"
    admin = Context.operator("admin", NOW)
    create_user(web_db, admin, name, DEMO_PASSWORD, display_name="Site statistician")
    add_membership(web_db, admin, name, UCM, "statistician", site_code="TEH")
    r = bearer(name).get(f"{BASE}/csv")
    assert r.status_code == 200, r.text
    rows = long_rows(unzip(r))
    assert rows
    assert {row["site"] for row in rows} == {"TEH"}
    assert not any(row["participant"].startswith("UCM-ISF") for row in rows)


def test_as_of_and_the_client_mistakes(bearer: Bearer) -> None:
    manager = bearer("dm.karimi")
    now = manager.get(f"{BASE}/csv")
    # the day the data manager's membership started: nobody enrolled yet
    early = manager.get(f"{BASE}/csv", params={"as_of": "2024-12-21T00:00:00"})
    assert early.status_code == 200, early.text
    assert int(early.headers["x-trialkit-participants"]) < int(
        now.headers["x-trialkit-participants"]
    )
    assert "as-of-20241221T000000" in early.headers["content-disposition"]
    assert len(long_rows(unzip(early))) < len(long_rows(unzip(now)))
    before = manager.get(f"{BASE}/csv", params={"as_of": "2024-01-01T00:00:00"})
    assert error(before) == (403, "AUTH.E010")  # no membership in force then
    r = manager.get(f"{BASE}/ctgov-results", params={"as_of": "2025-01-01T00:00:00"})
    assert r.status_code == 200, r.text  # the results as the data stood then
    assert "as-of-20250101T000000" in r.headers["content-disposition"]
    assert "resultsSection" in r.json()
    assert error(manager.get(f"{BASE}/pdf"))[0] == 422
    assert error(manager.get(f"{BASE}/csv", params={"as_of": "yesterday"}))[0] == 422
    assert error(manager.get("/api/v1/studies/no-such-study/exports/csv"))[0] in (403, 404)


def test_a_blinded_user_exports_no_arm(
    bearer: Bearer, web_db: Database, request: pytest.FixtureRequest
) -> None:
    masked = masked_study(web_db, f"masked-export-{request.node.callspec.id[:2]}")
    path = f"/api/v1/studies/{masked.study}/exports/csv"
    rows = long_rows(unzip(bearer(masked.blind_stat).get(path)))
    assert rows
    assert {row["arm"] for row in rows} == {"BLINDED"}
    rows = long_rows(unzip(bearer(masked.open_stat).get(path)))
    assert {row["arm"] for row in rows} == {masked.arm}
