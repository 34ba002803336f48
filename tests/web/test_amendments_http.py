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
    assert "Refused: the new version has 1 error. Fix it and check it again." in shown
    assert "What the new version changes" not in shown
    same = upload(login(admin), TEXT)
    assert same.status_code == 409
    assert "is the current version" in same.text
    other = upload(login(admin), TEXT.replace(f"id: {PAE}", "id: another-study", 1))
    assert other.status_code == 422
    assert "AMEND.E001" not in other.text or "not" in other.text
    assert "another-study" in other.text


# -- loading with the approval, and applying (on the UCM study: the tests above keep PAE at 1.0)

UCM = "psoriasis-ucmsc"
UPAGE = f"/studies/{UCM}/amendments"
UCM_V2 = (
    dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    .replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1)
    .replace("expression: age between 18 and 65", "expression: age between 18 and 70", 1)
)
APPROVAL = {
    "committee": "TUMS Research Ethics Committee",
    "reference": "IR.TUMS.REC.1404.123",
    "approved_on": "2025-05-20",
}


@pytest.fixture(scope="module")
def ucm_admin(web_db: Database) -> str:
    add_membership(web_db, Context.operator("admin", NOW), "stat.moradi", UCM, "administrator")
    return "stat.moradi"


def _hidden(page: str, name: str) -> str:
    m = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert m, name
    return html.unescape(m.group(1))


def test_the_page_offers_the_file_input_through_its_own_script(
    login: Login, ucm_admin: str
) -> None:
    r = login(ucm_admin).get(UPAGE)
    assert r.status_code == 200
    assert '<div id="protocol-chooser" hidden>' in r.text  # shown by the script, not without
    assert 'type="file" id="protocol-file"' in r.text
    assert '<script src="/static/amendments.js" defer></script>' in r.text
    assert "<script>" not in r.text  # no inline script (CSP)
    js = login(ucm_admin).get("/static/amendments.js")
    assert js.status_code == 200
    assert "FileReader" in js.text
    shown = text_of(r.text)
    assert "Loaded versions" in shown
    assert "No approval recorded" in shown
    assert "Apply version" not in shown  # one version, not approved: nothing to apply
    # the form's name for the file input is absent: the file itself is never posted
    assert 'name="protocol-file"' not in r.text


def test_load_with_the_approval_then_apply_one_and_all(
    login: Login, ucm_admin: str, web_db: Database
) -> None:
    client = login(ucm_admin)
    token = form_token(client.get(UPAGE).text)
    checked = client.post(UPAGE + "/check", data={"csrftoken": token, "protocol": UCM_V2})
    assert checked.status_code == 200, checked.text
    assert "Record the approval and load version 2.0" in text_of(checked.text)
    protocol, sha = _hidden(checked.text, "protocol"), _hidden(checked.text, "checked")
    assert protocol == UCM_V2
    # without the approval's fields: refused, the comparison and the text kept, nothing loaded
    empty = client.post(
        UPAGE + "/load", data={"csrftoken": token, "protocol": protocol, "checked": sha}
    )
    assert empty.status_code == 422
    assert "the approval needs the committee" in empty.text
    assert "What the new version changes" in text_of(empty.text)
    assert _hidden(empty.text, "protocol") == UCM_V2
    # another text than the one checked: refused
    other = client.post(
        UPAGE + "/load",
        data={"csrftoken": token, "protocol": protocol + "\n# x", "checked": sha, **APPROVAL},
    )
    assert other.status_code == 409
    assert "is not the one that was checked" in other.text
    # a date that is not one
    bad_day = client.post(
        UPAGE + "/load",
        data={
            "csrftoken": token,
            "protocol": protocol,
            "checked": sha,
            **APPROVAL,
            "approved_on": "20/05/2025",
        },
    )
    assert bad_day.status_code == 422
    assert "is not a date" in bad_day.text
    assert 'value="TUMS Research Ethics Committee"' in bad_day.text  # what was typed stays
    loaded = client.post(
        UPAGE + "/load",
        data={"csrftoken": token, "protocol": protocol, "checked": sha, **APPROVAL},
        follow_redirects=False,
    )
    assert loaded.status_code == 303
    assert loaded.headers["location"] == UPAGE + "?loaded=2.0#versions"
    page = client.get(UPAGE + "?loaded=2.0")
    shown = text_of(page.text)
    assert "Version 2.0 was loaded with its approval." in shown
    assert "TUMS Research Ethics Committee · IR.TUMS.REC.1404.123" in shown
    assert "recorded by stat.moradi" in shown
    assert "Apply version 2.0 to participants" in shown
    codes = re.findall(r'name="participant" value="([^"]+)"', page.text)
    assert codes, "no participant to move"
    first = codes[0]
    # a move needs a reason
    no_reason = client.post(
        UPAGE + "/versions/2.0/apply", data={"csrftoken": token, "participant": first}
    )
    assert no_reason.status_code == 422
    assert "needs a reason" in no_reason.text
    moved = client.post(
        UPAGE + "/versions/2.0/apply",
        data={"csrftoken": token, "participant": first, "reason": "re-consented on 2025-06-02"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    after = client.get(moved.headers["location"])
    assert f"Participant {first} was moved to version 2.0." in text_of(after.text)
    assert f'value="{first}"' not in after.text
    rest = re.findall(r'name="participant" value="([^"]+)"', after.text)
    every = client.post(
        UPAGE + "/versions/2.0/apply",
        data={"csrftoken": token, "all": "1", "reason": "amendment 2 re-consent"},
    )
    assert every.status_code == 200
    report = text_of(every.text)
    noun = "participant" if len(rest) == 1 else "participants"
    assert f"Moved to version 2.0: {len(rest)} {noun}." in report
    for code in rest:
        assert code in report
    from trialkit.services.participants import get

    operator = Context.operator("admin", NOW)
    assert get(web_db, operator, UCM, first).protocol_version == "2.0"
    for code in rest:
        assert get(web_db, operator, UCM, code).protocol_version == "2.0"


def test_a_version_loaded_without_approval_is_approved_on_the_page(
    login: Login, admin: str, web_db: Database
) -> None:
    from trialkit.services import load_study

    ibd = "ibd-placental-exosomes"
    add_membership(web_db, Context.operator("admin", NOW), "stat.moradi", ibd, "administrator")
    text = dict(shipped_studies())["ibd-placental-exosomes.yaml"].replace(
        'protocol_version: "1.0"', 'protocol_version: "1.1"', 1
    )
    load_study(web_db, Context.operator("admin", NOW), text)
    client = login(admin)
    page = f"/studies/{ibd}/amendments"
    token = form_token(client.get(page).text)
    refused = client.post(
        page + "/versions/1.1/apply",
        data={"csrftoken": token, "all": "1", "reason": "re-consented"},
    )
    assert refused.status_code == 409
    assert "has no approval recorded" in refused.text
    future = client.post(
        page + "/versions/1.1/approve",
        data={"csrftoken": token, **APPROVAL, "approved_on": "2025-07-01"},
    )
    assert future.status_code == 422
    assert "is in the future" in future.text
    done = client.post(
        page + "/versions/1.1/approve",
        data={"csrftoken": token, **APPROVAL},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = text_of(client.get(done.headers["location"]).text)
    assert "The approval of version 1.1 was recorded." in shown
    assert "Apply version 1.1 to participants" in shown
    again = client.post(page + "/versions/1.1/approve", data={"csrftoken": token, **APPROVAL})
    assert again.status_code == 409


def test_the_new_actions_are_the_administrators_only(login: Login, ucm_admin: str) -> None:
    for other in ("dm.karimi", "dr.amini", "n.rahimi"):
        client = login(other)
        token = form_token(client.get("/").text)
        for action in ("/load", "/versions/1.0/approve", "/versions/1.0/apply"):
            r = client.post(UPAGE + action, data={"csrftoken": token, "all": "1"})
            assert r.status_code == 403, (other, action)


def test_the_page_in_persian(login: Login, ucm_admin: str) -> None:
    r = login(ucm_admin, language="fa").get(UPAGE)
    assert r.status_code == 200
    assert 'dir="rtl"' in r.text
    shown = text_of(r.text)
    assert "نسخه‌های بارگذاری‌شده" in shown
    assert "بارگذاری نسخهٔ تازه" in shown
    assert "پروندهٔ YAML نسخهٔ تازهٔ پروتکل" in shown
