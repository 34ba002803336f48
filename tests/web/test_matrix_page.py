"""The status matrix page: its cells' badges and links, pages of rows under the filters, and
no arm for a blinded user in a masked study."""

from __future__ import annotations

import re

import pytest
from tests.services.conftest import ELIGIBLE, _load_masked
from tests.web.conftest import NOW, Clock, Login

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
from trialkit.services.matrix import status_matrix
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


def _shown(page: str) -> set[str]:
    row = r'<th scope="row" class="sticky"><a href="[^"]+" dir="ltr">([\w-]+)<'
    return set(re.findall(row, page))


# Each cell filter, said the way a coordinator would check it by eye on the unfiltered matrix.
_BY_EYE = {
    "overdue": lambda c: c.state.value == "overdue",
    "open": lambda c: c.state.value == "open",
    "missed": lambda c: c.state.value == "missed",
    "out_of_window": lambda c: c.state.value == "done_out_of_window",
    "queries": lambda c: c.open_queries > 0,
    "upcoming": lambda c: c.state.value == "upcoming",
    "attention": lambda c: (
        c.state.value in ("overdue", "open", "done_out_of_window")
        or c.open_queries > 0
        or (c.state.value == "done" and c.expected > 0)
    ),
}


@pytest.mark.parametrize("state", sorted(_BY_EYE))
def test_a_cell_filter_shows_exactly_the_participants_with_such_a_cell(
    login: Login, web_db: Database, clock: Clock, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filtered by a cell state (alone, then with one visit), the matrix shows every participant
    who has such a cell there and no one else."""
    monkeypatch.setattr(home, "PAGE_SIZE", 10_000)  # every row on one page
    assert set(_BY_EYE) == set(home.STATES)
    dm = login("dm.karimi")
    ctx = Context.operator("test.matrix", NOW)
    m = status_matrix(web_db, ctx, UCM, clock().date())
    wanted = {r.participant for r in m.rows if any(_BY_EYE[state](c) for c in r.cells.values())}
    page = dm.get(f"/studies/{UCM}", params={"state": state})
    assert page.status_code == 200
    assert _shown(page.text) == wanted
    for visit in ("SCR", "V_W2"):
        at_visit = {
            r.participant for r in m.rows if visit in r.cells and _BY_EYE[state](r.cells[visit])
        }
        page = dm.get(f"/studies/{UCM}", params={"state": state, "visit": visit})
        assert _shown(page.text) == at_visit


def test_the_demo_matrix_filters_pick_out_its_overdue_and_queried_participants(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not every filter above may pick anyone out; these do, in the demo study as shipped."""
    monkeypatch.setattr(home, "PAGE_SIZE", 10_000)
    dm = login("dm.karimi")
    everyone = _shown(dm.get(f"/studies/{UCM}").text)
    overdue = _shown(dm.get(f"/studies/{UCM}", params={"state": "overdue"}).text)
    queried = _shown(dm.get(f"/studies/{UCM}", params={"state": "queries"}).text)
    assert "UCM-TEH-003" in queried  # the demo monitor's open query at screening
    assert overdue
    assert queried
    assert overdue < everyone
    assert queried < everyone


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("site", "MARS"),
        ("status", "asleep"),
        ("state", "late"),
        ("visit", "V_W99"),
        ("sort", "age"),
    ],
)
def test_a_filter_value_not_among_the_choices_is_refused_and_named(
    login: Login, field: str, value: str
) -> None:
    r = login("dm.karimi").get(f"/studies/{UCM}", params={field: value})
    assert r.status_code == 422
    assert "WEB.E032" in r.text
    assert f"{field} &#39;{value}&#39; is not one of the choices" in r.text
    assert "pick it from the list" in r.text
    assert "Traceback" not in r.text
