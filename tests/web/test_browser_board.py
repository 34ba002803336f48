"""The safety board in a real browser (Debian's chromium driven by Playwright, the app served by
uvicorn on a fresh copy of the demo database), in Persian: the board sees what a stopping rule
paused and on which event, lifts the pause with its reason from the keyboard, and the decision
shows with the data it saw; then the data manager verifies the audit trail from its page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, NOW, SECRET, Clock, LiveServer, copy_demo

from trialkit.services import Context
from trialkit.services.adverse_events import record_adverse_event
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
PAE = "psoriasis-adipose-exosomes"


@pytest.fixture(scope="module")
def server(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("browser-board"))
    record_adverse_event(
        db,
        Context.operator("dr.amini", NOW),
        PAE,
        "PAE-TEH-001",
        visit="D1",
        values={
            "ae_term": "Injection site ulceration",
            "ae_onset": "2025-06-01",
            "ae_grade": "3",
            "ae_serious": "no",
            "ae_relation": "probable",
            "ae_outcome": "recovering",
            "ae_at_injection_site": "yes",
        },
    )
    live = LiveServer(create_app(Settings(secret_key=SECRET), db=db, clock=Clock(NOW)))
    try:
        yield live
    finally:
        live.stop()
        db.dispose()


def _signed_in(browser: Any, server: LiveServer, username: str, problems: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/login")
    with page.expect_navigation():
        page.click("button[name=language][value=fa]")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page


def test_the_board_lifts_a_pause_and_the_trail_is_verified(server: LiveServer) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = _signed_in(browser, server, "dsmb.safavi", problems)
            page.goto(f"{server.url}/studies/{PAE}/safety")
            assert page.locator("html").get_attribute("dir") == "rtl"
            rule = page.locator("#rule-S1")
            assert "در جریان: یک توقف فعال است" in rule.inner_text()
            assert "Injection site ulceration" in rule.locator("table").inner_text()
            box = rule.locator("textarea[name=reason]")
            box.focus()
            page.keyboard.type("Local ulceration, resolving: resume G50 at the same dose.")
            page.keyboard.press("Tab")  # to the button, then Enter submits the form
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert "تصمیم ثبت شد." in page.locator("#decided").inner_text()
            assert "برداشته‌شده در" in page.locator("#rule-S1").inner_text()
            decision = page.locator("#decisions article").first
            assert "resume G50" in decision.inner_text()
            decision.locator("summary").click()
            assert "Injection site ulceration" in decision.locator("table").inner_text()
            page.close()

            page = _signed_in(browser, server, "dm.karimi", problems)
            page.goto(f"{server.url}/studies/{PAE}/audit")
            with page.expect_navigation():
                page.click("form[action$='/audit/verify'] button[type=submit]")
            assert "ردپای ممیزی سالم است" in page.locator("#verified").inner_text()
            page.close()
        finally:
            browser.close()
    assert problems == []
