"""The workspace in a real browser: Debian's chromium driven by Playwright, against the app
served by uvicorn on 127.0.0.1 (one server per module, a fresh copy of the demo database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NOW,
    SECRET,
    Clock,
    LiveServer,
    copy_demo,
)

from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"


@pytest.fixture(scope="module")
def server(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("browser"))
    clock = Clock(NOW)
    settings = Settings(secret_key=SECRET, idle_minutes=3, warn_minutes=1)
    live = LiveServer(create_app(settings, db=db, clock=clock))
    live.clock = clock  # type: ignore[attr-defined]
    live.db = db  # type: ignore[attr-defined]
    try:
        yield live
    finally:
        live.stop()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, server: LiveServer, username: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page, problems


def test_sign_in_filter_the_matrix_and_open_a_cell(browser: Any, server: LiveServer) -> None:
    page, problems = _page(browser, server, "n.rahimi")
    page.goto(f"{server.url}/studies/{UCM}")
    assert page.locator("table.matrix tbody tr").count() == 3
    page.select_option("select[name=state]", "overdue")  # htmx swaps the table in place
    page.wait_for_url(re.compile(r".*state=overdue.*"))
    page.wait_for_function("document.querySelectorAll('table.matrix tbody tr').length == 2")
    assert "UCM-TEH-003" not in page.locator("#matrix").inner_text()
    cell = page.locator("td.cell.state-overdue a").first
    with page.expect_navigation():
        cell.click()
    assert re.search(r"/participants/UCM-TEH-00\d#visit-V_W\d", page.url)
    assert page.locator("tr.state-overdue").count() >= 1
    assert problems == []  # no CSP violation, no script error, no missing file


def test_register_and_consent_through_the_forms(browser: Any, server: LiveServer) -> None:
    page, problems = _page(browser, server, "dr.amini")
    page.goto(f"{server.url}/studies/{UCM}")
    page.click("details.register summary")
    with page.expect_navigation():
        page.click("details.register button[type=submit]")
    assert re.search(r"/participants/UCM-TEH-\d+$", page.url)
    page.fill("#consent-fv", "1.0")
    with page.expect_navigation():
        page.click("form[action$='/consent'] button[type=submit]")
    assert page.locator("h1 .status").inner_text() == "Consented"
    assert problems == []


def test_a_persian_session_is_right_to_left(browser: Any, server: LiveServer) -> None:
    page, problems = _page(browser, server, "stat.moradi")
    page.goto(f"{server.url}/studies/{UCM}/participants/UCM-TEH-001")
    with page.expect_navigation():
        page.click("button[name=language][value=fa]")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Noto Sans Arabic" in font
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] > 640  # the header is mirrored: the name is on the right
    text = page.locator("main").inner_text()
    assert "تقویم ویزیت‌ها" in text
    assert re.search(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2} \(\d{4}-\d{2}-\d{2}\)", text)
    assert problems == []


def test_the_idle_warning_and_staying_signed_in(browser: Any, server: LiveServer) -> None:
    page, problems = _page(browser, server, "dm.karimi")
    page.clock.install()  # the page's clock, moved by the test
    page.goto(f"{server.url}/studies/{UCM}")
    dialog = page.locator("dialog#idle-warning")
    assert not dialog.is_visible()
    # idle 3 min, warned 1 min before the end; the server's clock moves with the page's.
    # Working in another tab (here a request on the same session) keeps this one quiet: the
    # page asks the server before it warns.
    server.clock.advance(minutes=2, seconds=10)  # type: ignore[attr-defined]
    assert page.request.get(f"{server.url}/studies/{UCM}").status == 200
    with page.expect_response(lambda r: r.url.endswith("/api/session")) as asked:
        page.clock.run_for("02:10")
    assert asked.value.json()["idle_seconds"] == 180
    assert not dialog.is_visible()
    server.clock.advance(minutes=2, seconds=10)  # type: ignore[attr-defined]
    page.clock.run_for("02:10")
    dialog.wait_for(state="visible", timeout=20000)
    assert "still there" in dialog.inner_text()
    assert "Seconds left: 50" in dialog.inner_text()
    with page.expect_response(lambda r: r.url.endswith("/session/keepalive")) as info:
        page.click("#stay-signed-in")
    assert info.value.status == 200
    dialog.wait_for(state="hidden", timeout=20000)
    server.clock.advance(minutes=3, seconds=1)  # type: ignore[attr-defined]
    page.clock.run_for("03:01")  # nothing done for the whole idle time: signed out
    page.wait_for_url(re.compile(r".*/login\?ended=WEB\.E003"))
    assert "timed out" in page.locator("main").inner_text()
    # the one expected: chromium logs the 401 by which the page learnt that the session ended
    ended = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    assert [p for p in problems if p != ended] == []


def test_journey_screen_enrol_allocate_then_a_solar_hijri_visit_date(
    browser: Any, server: LiveServer
) -> None:
    """The investigator registers and consents a candidate, screens them (the verdict with its
    explanation in the protocol's wording), enrols them (allocated to the open dose cohort),
    then, in Persian, records the screening visit done on a Solar Hijri date."""
    from tests.services.conftest import ELIGIBLE

    from trialkit.services import authenticate, calendar, save_form

    page, problems = _page(browser, server, "dr.amini")
    page.goto(f"{server.url}/studies/{PAE}")
    page.click("details.register summary")
    with page.expect_navigation():
        page.click("details.register button[type=submit]")
    code = page.url.rsplit("/", 1)[1]
    assert "-TEH-" in code
    page.fill("#consent-fv", "1.0")
    with page.expect_navigation():
        page.click("form[action$='/consent'] button[type=submit]")
    assert page.locator("h1 .status").inner_text() == "Consented"
    # The screening forms are entered through the service (data entry in the browser is the
    # forms pages' own test), as the investigator.
    db = server.db  # type: ignore[attr-defined]
    doctor = authenticate(db, "dr.amini", DEMO_PASSWORD, NOW)
    for form_id, values in ELIGIBLE[PAE].items():
        save_form(db, doctor, PAE, code, visit="SCR", form_id=form_id, values=values)
    page.reload()
    with page.expect_navigation():
        page.click("form[action$='/screen'] button[type=submit]")
    assert page.locator("p.verdict").inner_text().strip() == "Eligible"
    page.click("text=Explanation, in the protocol's wording")
    explanation = page.locator("pre.explanation")
    assert explanation.get_attribute("lang") == "en"
    assert "psoriasis" in explanation.inner_text().lower()
    with page.expect_navigation():
        page.click("form[action$='/enrol'] button[type=submit]")
    assert page.locator("h1 .status").inner_text() == "Enrolled"
    assert re.search(r"Arm \S+", page.locator("hgroup p").inner_text())  # allocated (open label)
    with page.expect_navigation():
        page.click("button[name=language][value=fa]")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    page.click("#visit-SCR details.record-visit summary")
    page.fill("#done-SCR", "۱۴۰۴/۰۳/۱۱")  # 1 June 2025, typed in Persian digits
    with page.expect_navigation():
        page.click("form[action$='/visits/SCR/done'] button[type=submit]")
    row = page.locator("#visit-SCR")
    assert "state-done" in (row.get_attribute("class") or "")
    assert "۱۴۰۴/۰۳/۱۱ (2025-06-01)" in row.inner_text()
    scr = next(v for v in calendar(db, doctor, PAE, code, NOW.date()).visits if v.key == "SCR")
    assert str(scr.on_date) == "2025-06-01"  # stored Gregorian
    assert problems == []
