"""The safety board's page over HTTP: who may see it, the adverse-event tables, the stopping
rules with what fired and on which events, lifting a pause with the data the board saw, the
cohort review, the serious-event clock, and the blinded view of a masked study."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import NOW, Login, csrf_of, form_token

from trialkit.services import Context
from trialkit.services.adverse_events import record_adverse_event
from trialkit.store import Database

PAE = "psoriasis-adipose-exosomes"
FIRST = "PAE-TEH-001"
BOARD = f"/studies/{PAE}/safety"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def post(client: TestClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = form_token(client.get("/").text)
    return client.post(path, data={**data, "csrftoken": token}, follow_redirects=False)


def serious_related_grade_3(db: Database, study: str, code: str) -> None:
    """A related serious grade-3 event: S1 pauses the dose group, S2 enrolment."""
    record_adverse_event(
        db,
        Context.operator("dr.amini", NOW),
        study,
        code,
        visit="D1",
        values={
            "ae_term": "Injection site ulceration",
            "ae_onset": "2025-06-01",
            "ae_grade": "3",
            "ae_serious": "yes",
            "ae_relation": "probable",
            "ae_outcome": "recovering",
            "ae_at_injection_site": "yes",
        },
    )


@pytest.fixture(scope="module")
def fired(web_db: Database) -> Database:
    serious_related_grade_3(web_db, PAE, FIRST)
    return web_db


@pytest.mark.parametrize(
    ("username", "status", "tables", "decides"),
    [
        ("dsmb.safavi", 200, True, True),  # safety board: everything, and decides
        ("dm.karimi", 200, True, False),  # data manager, every site: reads and analyses
        ("stat.moradi", 200, True, False),  # statistician
        ("mon.hosseini", 403, False, False),  # monitor at TEH only: not study-wide
        ("n.rahimi", 403, False, False),  # coordinator at TEH
    ],
)
def test_the_page_by_role(
    login: Login, fired: Database, username: str, status: int, tables: bool, decides: bool
) -> None:
    r = login(username).get(BOARD)
    assert r.status_code == status
    if status == 403:
        assert "AUTH.E010" in r.text
        assert "Injection site ulceration" not in r.text
        return
    assert ('class="ae-incidence"' in r.text) is tables
    assert ("/safety/pauses/" in r.text and 'name="reason"' in r.text) is decides


def test_a_study_without_a_membership_tells_nothing(login: Login) -> None:
    unknown = login("dsmb.safavi").get("/studies/no-such-study/safety")
    assert unknown.status_code == 403  # no role there: whether it exists is not said
    assert "AUTH.E010" in unknown.text


def test_what_fired_on_which_events_and_the_clock(login: Login, fired: Database) -> None:
    shown = text_of(login("dsmb.safavi").get(BOARD).text)
    assert "S1 · In force: a pause is active" in shown
    assert "S2 · In force: a pause is active" in shown
    assert "Injection site ulceration Grade 3 Yes Yes" in shown
    assert FIRST in shown
    assert "Enrolment: paused" in shown
    assert "Dose groups paused: G50" in shown
    # The serious-event clock: due 24 hours after the site became aware (the save, 10:00).
    assert "1 report due, 0 overdue." in shown
    assert "Report due by" in shown
    # The tables by worst grade: one of the group's participants at grade 3.
    assert re.search(r"G50 Grade 3 1 2 50", shown)


def test_lifting_a_pause_needs_the_reason_and_the_board(login: Login, fired: Database) -> None:
    board = login("dsmb.safavi")
    page = board.get(BOARD).text
    pause_id = re.search(r"/safety/pauses/(\d+)/lift", page)
    assert pause_id
    lift = f"{BOARD}/pauses/{pause_id.group(1)}/lift"
    refused = post(login("dm.karimi"), lift, {"reason": "not my decision"})
    assert refused.status_code == 403
    empty = post(board, lift, {"reason": "  "})
    assert empty.status_code == 422
    assert "SAFETY.E020" not in empty.text or "reason" in empty.text
    assert "Nothing was recorded" in empty.text
    why = "Reviewed the ulceration: local, resolving; resume the group at the same dose."
    done = post(board, lift, {"reason": why})
    assert done.status_code == 303
    shown = text_of(board.get(done.headers["location"]).text)
    assert "The decision was recorded." in shown
    assert "Pause lifted" in shown
    assert why in shown
    assert "The data the board saw (rule" in shown
    again = post(board, lift, {"reason": why})
    assert again.status_code == 409  # lifted already: said, not done twice
    assert "was lifted on" in again.text


def test_opening_a_cohort_before_its_review_is_refused(login: Login) -> None:
    board = login("dsmb.safavi")
    shown = text_of(board.get(BOARD).text)
    assert "Sequential cohorts" in shown
    r = post(board, f"{BOARD}/cohorts/G100/open", {"reason": "reviewed"})
    assert r.status_code == 409
    assert "cannot open yet" in r.text
    assert "ALLOC.E059" not in text_of(r.text) or "review is due" in r.text
    assert "G50 Open" in text_of(r.text)  # the page again, with the cohorts as they are


def test_persian(login: Login, fired: Database) -> None:
    r = login("dsmb.safavi", language="fa").get(BOARD)
    assert r.status_code == 200
    assert 'dir="rtl"' in r.text
    assert "کمیتهٔ ایمنی" in r.text
    assert "قواعد توقف" in r.text


def test_a_blinded_reader_sees_no_dose_group(app: object, web_db: Database) -> None:
    from tests.services.conftest import ELIGIBLE

    from trialkit.protocol import shipped_studies
    from trialkit.services import (
        add_membership,
        add_site,
        consent,
        create_user,
        enrol,
        load_study,
        register,
        save_form,
        screen,
    )
    from trialkit.web.demo_mode import DEMO_PASSWORD

    masked = "masked-board-exosomes"
    text = dict(shipped_studies())["psoriasis-adipose-exosomes.yaml"]
    text = text.replace(f"id: {PAE}", f"id: {masked}", 1).replace(
        "masking: {level: none, placebo: false, description: Not blinded}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    admin = Context.operator("admin", NOW)
    load_study(web_db, admin, text, source="masked.yaml")
    add_site(web_db, admin, masked, "TEH", "Tehran")
    create_user(web_db, admin, "blind.dm", DEMO_PASSWORD, display_name="Blind DM")
    add_membership(web_db, admin, "blind.dm", masked, "data_manager")
    add_membership(web_db, admin, "dsmb.safavi", masked, "safety_board")
    code = register(web_db, admin, masked, "TEH").code
    consent(web_db, admin, masked, code, on=NOW.date(), form_version="1", obtained_by="dr.b")
    for form_id, values in ELIGIBLE[PAE].items():
        save_form(web_db, admin, masked, code, visit="SCR", form_id=form_id, values=values)
    screen(web_db, admin, masked, code)
    enrol(web_db, admin, masked, code, investigator_override="confirmed by the investigator")
    serious_related_grade_3(web_db, masked, code)

    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    r = client.post(
        "/login",
        data={"username": "blind.dm", "password": DEMO_PASSWORD, "csrftoken": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/studies/{masked}/safety").text
    shown = text_of(page)
    assert "Blinded view" in shown
    assert "Blinded (pooled)" in shown
    assert "one or more (not shown to blinded roles)" in shown
    assert "Injection site ulceration" in shown  # the events, without their dose group
    # The cohort table names the dose groups as the design does (public); nothing ties the
    # paused group, an event or a participant to one.
    rules = page[page.index('id="rules"') : page.index('id="cohorts"')]
    tables = page[page.index('id="ae-tables"') : page.index('id="rules"')]
    for part in (rules, tables, page[: page.index('id="ae-tables"')]):
        assert "G50" not in part
        assert "50 µg" not in part
    unblinded = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    unblinded.post(
        "/login",
        data={
            "username": "dsmb.safavi",
            "password": DEMO_PASSWORD,
            "csrftoken": csrf_of(unblinded),
        },
    )
    board = text_of(unblinded.get(f"/studies/{masked}/safety").text)
    assert "Unblinded view" in board
    assert "Dose groups paused: G50" in board
