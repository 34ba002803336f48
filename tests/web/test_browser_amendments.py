"""An amendment in a real browser (Debian's chromium driven by Playwright, the app served by
uvicorn on a fresh copy of the demo database), in English: the study's administrator chooses the
new version's YAML file with the file input (read into the box by the page's own script: the
form stays urlencoded), sees what it changes, records the committee's approval with the load,
and moves one participant to it with a reason; then the page renders in Persian, right to left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, NOW, SECRET, Clock, LiveServer, copy_demo

from trialkit.protocol import shipped_studies
from trialkit.services import Context, add_membership
from trialkit.services.participants import get
from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
UCM = "psoriasis-ucmsc"
V2 = (
    dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    .replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1)
    .replace("expression: age between 18 and 65", "expression: age between 18 and 70", 1)
)


@pytest.fixture(scope="module")
def served(
    demo_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Database]]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("browser-amend"))
    add_membership(db, Context.operator("admin", NOW), "stat.moradi", UCM, "administrator")
    live = LiveServer(create_app(Settings(secret_key=SECRET), db=db, clock=Clock(NOW)))
    try:
        yield live, db
    finally:
        live.stop()
        db.dispose()


def _signed_in(browser: Any, server: LiveServer, problems: list[str], language: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/login")
    if language == "fa":
        with page.expect_navigation():
            page.click("button[name=language][value=fa]")
    page.fill("#username", "stat.moradi")
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page


def test_load_a_file_see_the_changes_approve_and_apply(
    served: tuple[LiveServer, Database], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    server, db = served
    yaml_file = tmp_path / "psoriasis-ucmsc-2.0.yaml"
    yaml_file.write_text(V2, encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = _signed_in(browser, server, problems, "en")
            page.goto(f"{server.url}/studies/{UCM}/amendments")
            assert page.locator("#protocol-chooser").is_visible()  # the script showed it
            page.set_input_files("#protocol-file", str(yaml_file))
            page.wait_for_function(
                "document.getElementById('protocol').value.includes('protocol_version: \"2.0\"')"
            )
            assert "psoriasis-ucmsc-2.0.yaml" in page.locator("#protocol-file-status").inner_text()
            assert page.locator("#protocol").input_value() == V2
            with page.expect_navigation():
                page.click("#amend-form button[type=submit]")
            preview = page.locator("#preview")
            assert "Version 2.0 against the current version 1.0" in preview.inner_text()
            diff = preview.locator("table.amendment-diff").inner_text()
            assert "age between 18 and 65" in diff
            assert "age between 18 and 70" in diff
            page.fill("#load-committee", "TUMS Research Ethics Committee")
            page.fill("#load-reference", "IR.TUMS.REC.1404.123")
            page.fill("#load-date", "2025-05-20")
            with page.expect_navigation():
                page.click("#approve-load button[type=submit]")
            assert "Version 2.0 was loaded with its approval" in page.locator("#done").inner_text()
            row = page.locator("#version-2\\.0").inner_text()
            assert "IR.TUMS.REC.1404.123" in row
            assert "stat.moradi" in row
            first = page.locator("#apply-form button[name=participant]").first
            code = first.get_attribute("value")
            assert code
            page.fill("#apply-reason", "Re-consented to amendment 2 on 2025-06-02")
            with page.expect_navigation():
                first.click()
            assert (
                f"Participant {code} was moved to version 2.0."
                in page.locator("#done").inner_text()
            )
            page.close()

            page = _signed_in(browser, server, problems, "fa")
            page.goto(f"{server.url}/studies/{UCM}/amendments")
            assert page.locator("html").get_attribute("dir") == "rtl"
            assert "نسخه‌های بارگذاری‌شده" in page.locator("#versions").inner_text()
            assert "IR.TUMS.REC.1404.123" in page.locator("#version-2\\.0").inner_text()
            assert "اعمال نسخهٔ" in page.locator("#apply-h").inner_text()
            page.close()
        finally:
            browser.close()
    assert problems == []
    moved = get(db, Context.operator("admin", NOW), UCM, code)
    assert moved.protocol_version == "2.0"
