"""Refresh the screenshots of docs/web.md: the main pages in English and in Persian.

    python scripts/screenshots.py [--out docs/web]

Makes a fresh demo database in a temporary folder (demo mode's seeding), serves the
application on 127.0.0.1 with uvicorn, and drives Debian's chromium (/usr/bin/chromium) with
Playwright, signed in as the demo coordinator of Tehran.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD, ensure_demo_database

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
PAGES = (
    ("home", "/"),
    ("matrix", f"/studies/{UCM}"),
    ("participant", f"/studies/{UCM}/participants/UCM-TEH-001"),
    ("not-found", f"/studies/{UCM}/participants/UCM-ISF-001"),
    # after the adverse event below: its dose group paused, the next participant's dosing
    ("adverse-events", f"/studies/{PAE}/participants/PAE-TEH-001/adverse-events"),
    ("dosing", f"/studies/{PAE}/participants/PAE-TEH-002"),
    ("form", f"/studies/{PAE}/participants/PAE-TEH-001/forms/D1/LESION"),
    ("form-history", f"/studies/{UCM}/participants/UCM-TEH-001/forms/V_W0/VITALS/history"),
)
#: Pages of other roles: (user, name, path), after the adverse event above.
OTHERS = (
    ("dsmb.safavi", "safety-board", f"/studies/{PAE}/safety"),
    ("dm.karimi", "audit-trail", f"/studies/{PAE}/participants/PAE-TEH-001/audit"),
)


def _refused_form(page: Page, base: str, path: str) -> None:
    """The vital signs entered with a diastolic pressure above the systolic: the hard edit
    check refuses the save, the errors beside their fields, everything typed kept."""
    page.goto(base + f"/studies/{UCM}/participants/UCM-TEH-002/forms/V_W2/VITALS")
    for name, value in (
        ("systolic_bp", "80"),
        ("diastolic_bp", "90"),
        ("heart_rate", "72"),
        ("temperature", "36.6"),
    ):
        page.fill(f"#f-VS-{name}", value)
    with page.expect_navigation():
        page.click("#save")
    page.screenshot(path=path, full_page=True)


def _serve(db: Database) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    app = create_app(Settings.from_env({}, demo=True), db=db)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _sign_in(page: Page, base: str, username: str = "n.rahimi") -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")


def _adverse_event(page: Page, base: str, out: Path) -> None:
    """Enter a related, serious grade 3 adverse event through the page: stopping rule S1
    pauses the participant's dose group, S2 enrolment, its report clock starts, and the page
    says so (``ae-saved-en.png``)."""
    page.goto(f"{base}/studies/{PAE}/participants/PAE-TEH-001/adverse-events")
    page.select_option("#f-visit", "D1")
    page.fill("#f-ae_term", "Injection site ulceration")
    page.fill("#f-ae_onset", date.today().isoformat())
    page.select_option("#f-ae_grade", "3")
    page.select_option("#f-ae_serious", "yes")
    page.select_option("#f-ae_relation", "probable")
    page.select_option("#f-ae_outcome", "recovering")
    page.select_option("#f-ae_at_injection_site", "yes")
    with page.expect_navigation():
        page.click("form.ae-form button[type=submit]")
    page.screenshot(path=str(out / "ae-saved-en.png"), full_page=True)
    print(out / "ae-saved-en.png")


OVERSIGHT_FORM = f"/studies/{UCM}/participants/UCM-TEH-003/forms/SCR/VITALS"
#: The oversight pages: (file name, who, path), after the actions of :func:`_oversight_actions`.
OVERSIGHT = (
    ("oversight-form", "mon.hosseini", OVERSIGHT_FORM),
    ("queries", "mon.hosseini", f"/studies/{UCM}/queries?status=any"),
    ("query", "n.rahimi", f"/studies/{UCM}/queries/1"),
    ("sdv", "mon.hosseini", f"/studies/{UCM}/sdv"),
    ("signatures", "dr.amini", f"/studies/{UCM}/participants/UCM-TEH-003/signatures"),
    ("locks", "dm.karimi", f"/studies/{UCM}/locks"),
    ("locked-form", "n.rahimi", f"/studies/{UCM}/participants/UCM-TEH-001/forms/SCR/VITALS"),
)


def _oversight_actions(browser: Browser, base: str) -> None:
    """Through the pages: the monitor verifies two items of the vital signs at screening, the
    nurse changes one with a reason (its mark clears), the investigator signs the form, the data
    manager locks another participant's records."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _sign_in(page, base, "mon.hosseini")
    page.goto(base + OVERSIGHT_FORM)
    page.check("input[form=sdv-form][value='VS/heart_rate']")
    page.check("input[form=sdv-form][value='VS/systolic_bp']")
    with page.expect_navigation():
        page.click("#verify-items")
    page.context.clear_cookies()
    _sign_in(page, base, "n.rahimi")
    page.goto(base + OVERSIGHT_FORM)
    page.fill("#f-VS-heart_rate", "76")
    page.fill("#reason", "re-read from the clinic chart")
    with page.expect_navigation():
        page.click("#save")
    page.context.clear_cookies()
    _sign_in(page, base, "dr.amini")
    page.goto(base + OVERSIGHT_FORM)
    page.click("#sign summary")
    page.check("input[name=meaning] >> nth=0")
    page.fill("#sign-password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("#sign button[type=submit]")
    page.context.clear_cookies()
    _sign_in(page, base, "dm.karimi")
    page.goto(f"{base}/studies/{UCM}/locks")
    page.fill("#lock-participant", "UCM-TEH-001")
    page.fill("#lock-reason", "source documents under review")
    with page.expect_navigation():
        page.click("form.lock-form button[type=submit]")
    page.close()


def _oversight_shots(browser: Browser, base: str, out: Path, language: str) -> None:
    for name, who, path in OVERSIGHT:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base + "/login")
        if language == "fa":
            with page.expect_navigation():
                page.click("button[name=language][value=fa]")
        _sign_in(page, base, who)
        page.goto(base + path)
        page.screenshot(path=str(out / f"{name}-{language}.png"), full_page=True)
        print(out / f"{name}-{language}.png")
        page.close()


AMEND_ADMIN = "adm.tehrani"


def _amendment_shots(browser: Browser, base: str, out: Path, db: Database, tmp: str) -> None:
    """The study's administrator loads amendment 2.0 of the UCM study from a file: its
    comparison (``amendment-diff-en.png``), then loaded with its approval and applied to one
    participant (``amendments-en.png``, ``amendments-fa.png``)."""
    from trialkit.protocol import shipped_studies

    new = Path(tmp) / "psoriasis-ucmsc-2.0.yaml"
    new.write_text(
        dict(shipped_studies())["psoriasis-ucmsc.yaml"]
        .replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1)
        .replace("expression: age between 18 and 65", "expression: age between 18 and 70", 1)
        .replace("bsa_percent > 10", "bsa_percent >= 10", 1),
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _sign_in(page, base, AMEND_ADMIN)
    page.goto(f"{base}/studies/{UCM}/amendments")
    page.set_input_files("#protocol-file", str(new))
    page.wait_for_function("document.getElementById('protocol').value.length > 0")
    with page.expect_navigation():
        page.click("#amend-form button[type=submit]")
    page.fill("#load-committee", "TUMS Research Ethics Committee")
    page.fill("#load-reference", "IR.TUMS.REC.1404.123")
    page.fill("#load-date", date.today().isoformat())
    page.screenshot(path=str(out / "amendment-diff-en.png"), full_page=True)
    print(out / "amendment-diff-en.png")
    with page.expect_navigation():
        page.click("#approve-load button[type=submit]")
    page.fill("#apply-reason", "Re-consented to amendment 2")
    with page.expect_navigation():
        page.click("#apply-form button[name=participant] >> nth=0")
    page.screenshot(path=str(out / "amendments-en.png"), full_page=True)
    print(out / "amendments-en.png")
    page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(base + "/login")
    with page.expect_navigation():
        page.click("button[name=language][value=fa]")
    _sign_in(page, base, AMEND_ADMIN)
    page.goto(f"{base}/studies/{UCM}/amendments")
    page.screenshot(path=str(out / "amendments-fa.png"), full_page=True)
    print(out / "amendments-fa.png")
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/web"))
    parser.add_argument(
        "--only", default="", help="Comma-separated page names: refresh only those (and login)."
    )
    parser.add_argument(
        "--only-oversight", action="store_true", help="only the oversight pages' screenshots"
    )
    args = parser.parse_args()
    out: Path = args.out
    only = {n for n in args.only.split(",") if n}
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{Path(tmp) / 'demo.sqlite3'}")
        ensure_demo_database(db, date.today())
        server, thread, base = _serve(db)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                if not only or only & {name for name, _, _ in OVERSIGHT}:
                    _oversight_actions(browser, base)
                    for language in ("en", "fa"):
                        _oversight_shots(browser, base, out, language)
                if not only or "amendments" in only:
                    _amendment_shots(browser, base, out, db, tmp)
                for language in () if args.only_oversight else ("en", "fa"):
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(base + "/login")
                    if language == "fa":
                        with page.expect_navigation():
                            page.click("button[name=language][value=fa]")
                    page.screenshot(path=str(out / f"login-{language}.png"))
                    _sign_in(page, base)
                    if language == "en":
                        _adverse_event(page, base, out)
                    for name, path in PAGES:
                        if only and name not in only:
                            continue
                        page.goto(base + path)
                        page.screenshot(path=str(out / f"{name}-{language}.png"), full_page=True)
                        print(f"{out / f'{name}-{language}.png'}")
                    if not only or "form-refused" in only:
                        refused = str(out / f"form-refused-{language}.png")
                        _refused_form(page, base, refused)
                        print(refused)
                    page.close()
                    for username, name, path in OTHERS:
                        if only and name not in only:
                            continue
                        other = browser.new_page(viewport={"width": 1280, "height": 800})
                        other.goto(base + "/login")
                        if language == "fa":
                            with other.expect_navigation():
                                other.click("button[name=language][value=fa]")
                        _sign_in(other, base, username)
                        other.goto(base + path)
                        shot = out / f"{name}-{language}.png"
                        other.screenshot(path=str(shot), full_page=True)
                        print(shot)
                        other.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join()
            db.dispose()


if __name__ == "__main__":
    main()
