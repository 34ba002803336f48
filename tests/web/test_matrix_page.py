"""The status matrix page: its cells' badges and links, pages of rows under the filters, and
no arm for a blinded user in a masked study."""

from __future__ import annotations

import re

import pytest
from tests.services.conftest import ELIGIBLE, _load_masked
from tests.web.conftest import NOW, Login

from trialkit.services import (
    Context,
    Role,
    add_membership,
    consent,
    enrol,
    lock,
    register,
    save_form,
    screen,
    verify,
)
from trialkit.store import Database
from trialkit.web.routes import home

UCM = "psoriasis-ucmsc"


def test_a_cell_shows_its_state_forms_and_badges_and_links_to_its_visit(
    login: Login, web_db: Database
) -> None:
    operator = Context.operator("test.matrix", NOW)
    for form_id in ("CONSENT", "SCREEN", "VITALS"):  # every form entered at screening
        verify(web_db, operator, UCM, "UCM-TEH-002", visit="SCR", form_id=form_id)
    lock(web_db, operator, UCM, scope="participant", participant="UCM-TEH-002", reason="review")
    page = login("dm.karimi").get(f"/studies/{UCM}").text
    cell = re.search(
        r'<td class="cell state-(\w+)">\s*<a href="(/studies/psoriasis-ucmsc/participants/'
        r'UCM-TEH-002#visit-SCR)"(.*?)</td>',
        page,
        re.S,
    )
    assert cell is not None
    assert cell.group(1) == "done"
    assert '<span class="forms">3/5</span>' in cell.group(3)  # entered of the five expected
    assert ">SDV<" in cell.group(3)
    assert ">Locked<" in cell.group(3)
    queried = re.search(r"UCM-TEH-003#visit-SCR\"(.*?)</td>", page, re.S)
    assert queried is not None
    assert "?1" in queried.group(1)  # the demo monitor's open query


def test_rows_come_in_pages_under_the_filters_and_the_sort(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(home, "PAGE_SIZE", 2)
    dm = login("dm.karimi")
    first = dm.get(f"/studies/{UCM}", params={"sort": "site"})
    row = r'<th scope="row" class="sticky"><a href="[^"]+" dir="ltr">([\w-]+)<'
    rows = re.findall(row, first.text)
    total = re.search(r"Participants 1–2 of (\d+)", first.text)
    assert total is not None
    n = int(total.group(1))  # the demo's participants of both sites (simulated ones too)
    pages = -(-n // 2)
    assert len(rows) == 2  # two a page
    assert n >= 4
    seen = list(rows)
    nxt = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert nxt is not None
    assert "sort=site" in nxt.group(1)  # the sort and filters stay
    for page in range(2, pages + 1):
        assert nxt is not None
        shown = dm.get(nxt.group(1).replace("&amp;", "&"))
        assert f"Page {page} of {pages}" in shown.text
        assert re.search(r'rel="prev"', shown.text)
        seen += re.findall(row, shown.text)
        nxt = re.search(r'<a href="([^"]+)" rel="next">', shown.text)
    assert nxt is None  # no next page after the last
    assert len(seen) == len(set(seen)) == n  # every participant once, none twice
    sites = [code.split("-")[1] for code in seen]
    assert sites == sorted(sites)  # sorted by site across the pages
    past = dm.get(f"/studies/{UCM}", params={"sort": "site", "page": 99})
    assert f"Page {pages} of {pages}" in past.text  # a bookmark past the end: the last page
    assert dm.get(f"/studies/{UCM}", params={"page": 0}).status_code == 422


def test_no_arm_for_a_blinded_user_in_a_masked_study(login: Login, web_db: Database) -> None:
    operator = Context.operator("test.matrix", NOW)
    masked = _load_masked(web_db, operator)
    code = register(web_db, operator, masked, "TEH").code
    consent(web_db, operator, masked, code, on=NOW.date(), form_version="1", obtained_by="x")
    for form_id, values in ELIGIBLE[UCM].items():
        save_form(web_db, operator, masked, code, visit="SCR", form_id=form_id, values=values)
    screen(web_db, operator, masked, code)
    arm = enrol(web_db, operator, masked, code).arm
    assert arm
    for username, role in (("n.rahimi", Role.COORDINATOR), ("pharm.jafari", Role.PHARMACIST)):
        add_membership(web_db, operator, username, masked, role, site_code="TEH")
    blinded = login("n.rahimi").get(f"/studies/{masked}")
    unblinded = login("pharm.jafari").get(f"/studies/{masked}")
    assert code in blinded.text
    assert code in unblinded.text
    assert '<th scope="col">Arm</th>' not in blinded.text
    assert f'<td dir="ltr">{arm}</td>' not in blinded.text
    assert '<th scope="col">Arm</th>' in unblinded.text
    assert f'<td dir="ltr">{arm}</td>' in unblinded.text


def test_the_study_pages_offered_are_those_the_user_may_open(login: Login) -> None:
    def offered(username: str) -> set[str]:
        page = login(username).get(f"/studies/{UCM}").text
        nav = re.search(r'<nav class="study-pages".*?</nav>', page, re.S)
        assert nav is not None
        return set(re.findall(rf'href="/studies/{UCM}/([a-z]+)"', nav.group(0)))

    assert offered("n.rahimi") == {"queries", "sdv", "locks"}  # a coordinator at one site
    assert offered("dm.karimi") == {"queries", "sdv", "locks", "safety", "audit"}  # every site


def _cell(page: str, participant: str, visit: str) -> str:
    found = re.search(rf'{participant}#visit-{visit}"(.*?)</td>', page, re.S)
    assert found is not None, f"no cell {participant} {visit}"
    return found.group(1)


def test_a_row_rendered_before_a_change_is_rendered_again_only_where_it_changed(
    login: Login, web_db: Database
) -> None:
    operator = Context.operator("test.matrix", NOW)
    dm = login("dm.karimi")
    before = dm.get(f"/studies/{UCM}").text
    assert ">SDV<" not in _cell(before, "UCM-TEH-003", "SCR")
    kept = len(home.ROWS)
    assert kept > 0  # the page's rows are kept with the matrix's rows
    for form_id in ("CONSENT", "SCREEN", "VITALS"):
        verify(web_db, operator, UCM, "UCM-TEH-003", visit="SCR", form_id=form_id)
    after = dm.get(f"/studies/{UCM}").text
    assert ">SDV<" in _cell(after, "UCM-TEH-003", "SCR")  # the changed row, rendered again
    # every other row is the same markup (kept), and so is the rest of the page
    assert _cell(after, "UCM-TEH-001", "SCR") == _cell(before, "UCM-TEH-001", "SCR")
    # the same rows in Persian are rendered in Persian, not taken from the English ones
    fa = login("dm.karimi", language="fa").get(f"/studies/{UCM}").text
    assert _cell(fa, "UCM-TEH-001", "SCR") != _cell(after, "UCM-TEH-001", "SCR")
    assert 'dir="rtl"' in fa
