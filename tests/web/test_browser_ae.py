"""An adverse event that pauses a dose group, in a real browser (Debian's chromium driven by
Playwright, the app served by uvicorn on a fresh copy of the demo database): the computed grade
shown as the term is chosen (htmx), the event saved, the page saying which rule paused which
dose group, and the next participant of that group held back from dosing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, NOW, SECRET, Clock, LiveServer, copy_demo

from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
PAE = "psoriasis-adipose-exosomes"


@pytest.fixture(scope="module")
def server(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("browser-ae"))
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


def test_an_adverse_event_pauses_its_dose_group(browser: Any, server: LiveServer) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/login")
    page.fill("#username", "dr.amini")
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    page.goto(f"{server.url}/studies/{PAE}/participants/PAE-TEH-001")
    with page.expect_navigation():
        page.click("a.ae-link")
    assert "Dose group: G50" in page.locator("hgroup").inner_text()
    page.select_option("#f-visit", "D1")
    # Choosing a CTCAE term asks for its grade from the visit's values (htmx, no reload).
    page.select_option("#f-ae_ctcae_term", "fever")
    page.locator("#grade-preview", has_text="temperature").wait_for(
        timeout=30000
    )  # a busy CI worker
    assert "No grade is computed" in page.locator("#grade-preview").inner_text()
    page.select_option("#f-ae_ctcae_term", "")
    page.fill("#f-ae_term", "Injection site ulceration")
    page.fill("#f-ae_onset", "2025-06-01")
    page.select_option("#f-ae_grade", "3")
    page.select_option("#f-ae_serious", "no")
    page.select_option("#f-ae_relation", "probable")
    page.select_option("#f-ae_outcome", "recovering")
    page.select_option("#f-ae_at_injection_site", "yes")
    with page.expect_navigation():
        page.click("form.ae-form button[type=submit]")
    saved = page.locator("#saved").inner_text()
    assert "The adverse event was saved at visit D1." in saved
    assert "Stopping rule S1 fired" in saved
    assert "Dose group G50 is paused" in saved
    assert page.locator("table.aes tbody tr").count() == 1
    # The other participant of the dose group cannot be dosed; the page says why.
    page.goto(f"{server.url}/studies/{PAE}/participants/PAE-TEH-002")
    assert "Dose group G50 is paused" in page.locator("#pauses").inner_text()
    assert "paused by the stopping rules" in page.locator("#dose-INJ").inner_text()
    assert page.locator("#dose-INJ form").count() == 0
    assert problems == []  # no CSP violation, no script error
