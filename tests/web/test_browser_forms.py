"""Data entry in a real browser (Debian's chromium driven by Playwright): the lesion form typed
from the keyboard with a hard-check failure and its correction, and a stale-save conflict
between two browser contexts. One server and one browser for the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
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

from trialkit.services import Context, read_form
from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
PAE = "psoriasis-adipose-exosomes"
UCM = "psoriasis-ucmsc"


@pytest.fixture(scope="module")
def served(
    demo_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Database]]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("browser-forms"))
    live = LiveServer(create_app(Settings(secret_key=SECRET), db=db, clock=Clock(NOW)))
    try:
        yield live, db
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


def _signed_in(browser: Any, server: LiveServer, username: str) -> tuple[Any, list[str]]:
    """A page in its own browser context (its own cookies), signed in as ``username``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    # A refused save answers 422 and a stale one 409 (the form again, with what was typed):
    # chromium logs those statuses; anything else (a CSP violation, a script error) fails.
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page, problems


def _unexpected(problems: list[str]) -> list[str]:
    expected = tuple(
        f"Failed to load resource: the server responded with a status of {s}" for s in (409, 422)
    )
    return [p for p in problems if not p.startswith(expected)]


def _type_row(page: Any, row: int, values: dict[str, str]) -> None:
    """Type one lesion row from the keyboard: Enter moves to the next field, never submits."""
    page.focus(f"#f-LESIONS-{row}-lesion_site")
    for name, text in values.items():
        focused = page.evaluate("document.activeElement.id")
        assert focused == f"f-LESIONS-{row}-{name}", (focused, name)
        page.keyboard.type(text)
        page.keyboard.press("Enter")


LESION = {
    "lesion_site": "left elbow",
    "plaque_area": "2.5",
    "lesion_grade_v": "2",
    "erythema": "2",
    "scaling": "1",
    "induration": "1",
    "redness": "2",
    "pain_nrs": "4",
}


def test_the_lesion_form_with_a_hard_check_failure_and_its_correction(
    browser: Any, served: tuple[LiveServer, Database]
) -> None:
    server, db = served
    page, problems = _signed_in(browser, server, "n.rahimi")
    page.goto(f"{server.url}/studies/{PAE}/participants/PAE-TEH-002")
    with page.expect_navigation():
        page.click(f"a[href='/studies/{PAE}/participants/PAE-TEH-002/forms/W1/LESION']")
    assert page.locator("#f-LESIONS-1-lesion_role").input_value() == "treated"
    assert page.locator("#f-LESIONS-2-lesion_role").input_value() == "control"
    _type_row(page, 1, LESION)
    # After the last item of row 1, Enter went on to the role of row 2 (a select).
    assert page.evaluate("document.activeElement.id") == "f-LESIONS-2-lesion_role"
    page.keyboard.press("Enter")
    _type_row(page, 2, {**LESION, "lesion_site": "right elbow", "plaque_area": "500"})
    assert page.evaluate("document.activeElement.id") == "save"  # nothing submitted yet
    assert "/forms/W1/LESION" in page.url
    page.select_option("#f-LESIONS-2-lesion_role", "treated")  # two treated rows
    with page.expect_navigation():
        page.keyboard.press("Enter")  # on the save button: saves
    errors = page.locator(".field-error").all_inner_texts()
    assert any("exactly one row may have lesion_role treated" in e for e in errors)
    assert any(
        "plaque_area (Plaque area): 500 cm2 is out of range 0.1..400 cm2" in e for e in errors
    )
    # Everything typed is kept, and the first field in error has the focus.
    assert page.locator("#f-LESIONS-2-lesion_site").input_value() == "right elbow"
    assert page.locator("#f-LESIONS-1-pain_nrs").input_value() == "4"
    assert page.evaluate("document.activeElement.id") == "f-LESIONS-2-plaque_area"
    page.fill("#f-LESIONS-2-plaque_area", "3.0")
    page.select_option("#f-LESIONS-2-lesion_role", "control")
    with page.expect_navigation():
        page.click("#save")
    assert page.locator(".saved").inner_text() == "Saved (version 1)."
    ctx = Context.operator("check", datetime(2025, 6, 2, 12))
    rec = read_form(db, ctx, PAE, "PAE-TEH-002", visit="W1", form_id="LESION")
    roles = [(r["lesion_role"], str(r["plaque_area"])) for r in rec.values()["LESIONS"]]
    assert roles == [("treated", "2.5"), ("control", "3.0")]
    assert _unexpected(problems) == []


def test_a_stale_save_between_two_browser_contexts(
    browser: Any, served: tuple[LiveServer, Database]
) -> None:
    server, db = served
    target = f"{server.url}/studies/{UCM}/participants/UCM-TEH-001/forms/V_W0/VITALS"
    nurse, nurse_problems = _signed_in(browser, server, "n.rahimi")
    doctor, doctor_problems = _signed_in(browser, server, "dr.amini")
    nurse.goto(target)
    doctor.goto(target)
    doctor.fill("#f-VS-heart_rate", "64")
    doctor.fill("#reason", "re-measured after rest")
    with doctor.expect_navigation():
        doctor.click("#save")
    assert "Saved (version 2)." in doctor.locator(".saved").inner_text()
    # The nurse, still on version 1, saves her own reading.
    nurse.fill("#f-VS-heart_rate", "91")
    nurse.fill("#reason", "transcription error")
    with nurse.expect_navigation():
        nurse.click("#save")
    assert (
        "Someone else saved this form after you opened it."
        in nurse.locator("#problem").inner_text()
    )
    assert nurse.locator("#f-VS-heart_rate").input_value() == "91"  # hers, kept
    assert "64" in nurse.locator(".field.differs .theirs").inner_text()  # theirs, beside
    assert nurse.locator("#reason").input_value() == "transcription error"
    # "Use this value" takes theirs into the field; she puts hers back and re-applies it.
    nurse.click("button.take-theirs[data-field=f-VS-heart_rate]")
    assert nurse.locator("#f-VS-heart_rate").input_value() == "64"
    nurse.fill("#f-VS-heart_rate", "91")
    with nurse.expect_navigation():
        nurse.click("#save")
    assert "Saved (version 3)." in nurse.locator(".saved").inner_text()
    ctx = Context.operator("check", datetime(2025, 6, 2, 12))
    rec = read_form(db, ctx, UCM, "UCM-TEH-001", visit="V_W0", form_id="VITALS")
    assert (rec.version, rec.values()["heart_rate"]) == (3, 91)
    # The history shows both changes, who made them and why.
    nurse.goto(target + "/history")
    text = nurse.locator("main").inner_text()
    assert "re-measured after rest" in text
    assert "transcription error" in text
    assert _unexpected(nurse_problems) == _unexpected(doctor_problems) == []
