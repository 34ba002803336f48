"""The query list comes in pages (``PAGE_SIZE`` a page) under its filters, while the counts
still cover every query the filters keep; a bookmark past the end shows the last page."""

from __future__ import annotations

import re

import pytest
from tests.web.conftest import NOW, Login

from trialkit.services import Context
from trialkit.services.queries import open_query
from trialkit.store import Database
from trialkit.web.routes import queries

UCM = "psoriasis-ucmsc"
LIST = f"/studies/{UCM}/queries"
ROW = r'<tr><td><a href="/studies/psoriasis-ucmsc/queries/(\d+)">'


@pytest.fixture(scope="module")
def many(web_db: Database) -> int:
    """Seven more queries on the vital signs of UCM-TEH-003 at screening."""
    ctx = Context.operator("mon.hosseini", NOW)
    for n in range(7):
        open_query(
            web_db,
            ctx,
            UCM,
            "UCM-TEH-003",
            visit="SCR",
            form_id="VITALS",
            item="VS/heart_rate",
            text=f"paging test {n}",
        )
    return 7


def test_the_list_pages_and_the_counts_cover_all(
    login: Login, many: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "PAGE_SIZE", 3)
    monitor = login("mon.hosseini")
    first = monitor.get(LIST, params={"status": "any", "form": "VITALS"})
    assert first.status_code == 200
    total = re.search(r"Queries: (\d+)", first.text)
    assert total is not None
    n = int(total.group(1))
    assert n >= many
    pages = -(-n // 3)
    assert f"Queries 1–3 of {n}" in first.text
    assert f"Page 1 of {pages}" in first.text
    seen = re.findall(ROW, first.text)
    assert len(seen) == 3
    assert 'rel="prev"' not in first.text
    nxt = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    for page in range(2, pages + 1):
        assert nxt is not None
        link = nxt.group(1).replace("&amp;", "&")
        assert "form=VITALS" in link  # the filters stay
        assert "status=any" in link
        shown = monitor.get(link)
        assert f"Page {page} of {pages}" in shown.text
        assert f"Queries: {n}" in shown.text  # the counts are over all, on every page
        seen += re.findall(ROW, shown.text)
        nxt = re.search(r'<a href="([^"]+)" rel="next">', shown.text)
    assert nxt is None
    assert len(seen) == len(set(seen)) == n  # every query once
    past = monitor.get(LIST, params={"status": "any", "form": "VITALS", "page": 99})
    assert f"Page {pages} of {pages}" in past.text
    assert monitor.get(LIST, params={"page": 0}).status_code == 422


def test_one_page_shows_no_page_links(login: Login) -> None:
    r = login("mon.hosseini").get(LIST, params={"status": "any"})
    assert r.status_code == 200
    assert 'aria-label="Pages of the query list"' not in r.text  # fewer than 50 in the demo
