"""An amendment's preview over HTTP: only the study's administrator; a new version's YAML checked as
`study check` checks it (refused with every finding on an error) and compared item by item."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import NOW, Login, form_token

from trialkit.protocol import shipped_studies
from trialkit.services import Context, add_membership
from trialkit.store import Database

PAE = "psoriasis-adipose-exosomes"
PAGE = f"/studies/{PAE}/amendments"
TEXT = dict(shipped_studies())["psoriasis-adipose-exosomes.yaml"]


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def admin(web_db: Database) -> str:
    add_membership(web_db, Context.operator("admin", NOW), "stat.moradi", PAE, "administrator")
    return "stat.moradi"


def upload(client: TestClient, text: str):  # type: ignore[no-untyped-def]
    token = form_token(client.get(PAGE).text)
    return client.post(PAGE + "/check", data={"csrftoken": token, "protocol": text})


def test_only_the_administrator(login: Login, admin: str) -> None:
    assert login(admin).get(PAGE).status_code == 200
    for other in ("dm.karimi", "dsmb.safavi", "n.rahimi"):
        client = login(other)
        r = client.get(PAGE)
        assert r.status_code == 403
        assert "AUTH.E010" in r.text
        token = form_token(client.get("/").text)
        empty = client.post(PAGE + "/check", data={"csrftoken": token})
        assert empty.status_code == 403  # access is checked before the input


def test_the_changes_item_by_item(login: Login, admin: str) -> None:
    new = TEXT.replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1).replace(
        "expression: age between 18 and 65", "expression: age between 18 and 70", 1
    )
    r = upload(login(admin), new)
    assert r.status_code == 200, r.text
    shown = text_of(r.text)
    assert "Version 2.0 against the current version 1.0" in shown
    assert "criteria I6 Changed expression age between 18 and 65 age between 18 and 70" in shown


def test_an_error_is_refused_with_its_findings(login: Login, admin: str) -> None:
    bad = TEXT.replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1).replace(
        "expression: age between 18 and 65", "expression: age between 18 and", 1
    )
    r = upload(login(admin), bad)
    assert r.status_code == 422
    shown = text_of(r.text)
    assert "Refused: the new version has 1 error(s)" in shown
    assert "What the new version changes" not in shown
    same = upload(login(admin), TEXT)
    assert same.status_code == 409
    assert "is the current version" in same.text
    other = upload(login(admin), TEXT.replace(f"id: {PAE}", "id: another-study", 1))
    assert other.status_code == 422
    assert "AMEND.E001" not in other.text or "not" in other.text
    assert "another-study" in other.text
