"""Oversight in a real browser (Debian's chromium driven by Playwright): the monitor opens a
query on an empty item from the form's own link and ticks an item verified (English); the
investigator signs the form with the password and a stated meaning, and the coordinator answers
the query in Persian. One server and one browser for the module; any console error fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, NOW, SECRET, Clock, LiveServer, copy_demo

from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
UCM = "psoriasis-ucmsc"
FORM = f"/studies/{UCM}/participants/UCM-TEH-003/forms/SCR/VITALS"


@pytest.fixture(scope="module")
def server(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db: Database = copy_demo(demo_file, tmp_path_factory.mktemp("browser-oversight"))
    live = LiveServer(create_app(Settings(secret_key=SECRET), db=db, clock=Clock(NOW)))
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


def _signed_in(browser: Any, server: LiveServer, username: str, language: str = "en") -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.goto(server.url + "/login")
    if language == "fa":
        with page.expect_navigation():
            page.click("button[name=language][value=fa]")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page


def test_query_sdv_and_signature_in_the_browser(browser: Any, server: LiveServer) -> None:
    monitor = _signed_in(browser, server, "mon.hosseini")
    monitor.goto(server.url + FORM)
    # "Open a query" beside the empty weight field preselects it in the query form
    with monitor.expect_navigation():
        monitor.click(
            "#f-VS-weight >> xpath=ancestor::div[contains(@class,'field')][1]//a[@class='ask']"
        )
    assert monitor.locator("#open-query").get_attribute("open") is not None
    assert monitor.input_value("#query-item") == "VS/weight"
    monitor.fill("#query-text", "The weight is empty: was it measured?")
    with monitor.expect_navigation():
        monitor.click("#open-query button[type=submit]")
    assert "The query is open." in monitor.content()
    query_url = monitor.url
    monitor.goto(server.url + FORM)
    monitor.check("input[form=sdv-form][value='VS/heart_rate']")
    with monitor.expect_navigation():
        monitor.click("#verify-items")
    assert "Marked verified." in monitor.content()
    assert monitor.locator(".sdv-ok").count() == 1
    assert monitor.problems == []

    doctor = _signed_in(browser, server, "dr.amini")
    doctor.goto(server.url + FORM)
    doctor.click("#sign summary")
    doctor.check("input[name=meaning] >> nth=0")
    doctor.fill("#sign-password", DEMO_PASSWORD)
    with doctor.expect_navigation():
        doctor.click("#sign button[type=submit]")
    text = doctor.content()
    assert "Signed." in text
    assert "Signatures covering this form" in text
    assert doctor.problems == []

    nurse = _signed_in(browser, server, "n.rahimi", "fa")
    nurse.goto(query_url.split("?")[0])
    assert nurse.locator("html").get_attribute("dir") == "rtl"
    nurse.fill("#text-answer", "وزن در این ویزیت اندازه‌گیری نشد")
    with nurse.expect_navigation():
        nurse.click("form[action$='/answer'] button[type=submit]")
    assert "پاسخ ثبت شد." in nurse.content()
    assert nurse.problems == []
