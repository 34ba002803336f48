"""Adverse events over HTTP: the page by role and site, entry with the computed grade and its
override, the pause it fires said in words, the serious-event clock, and Persian entry."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from tests.web.conftest import NOW, Login, form_token

from trialkit.services import Context, save_form
from trialkit.services.adverse_events import list_adverse_events
from trialkit.store import Database

PAE = "psoriasis-adipose-exosomes"
UCM = "psoriasis-ucmsc"
FIRST, SECOND = "PAE-TEH-001", "PAE-TEH-002"


def page_of(study: str, code: str) -> str:
    return f"/studies/{study}/participants/{code}/adverse-events"


def ae_row(**more: str) -> dict[str, str]:
    return {
        "visit": "D1",
        "ae_term": "Injection site ulceration",
        "ae_onset": "2025-06-01",
        "ae_serious": "no",
        "ae_relation": "probable",
        "ae_outcome": "recovering",
        "ae_at_injection_site": "yes",
        **more,
    }


def post(client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = form_token(client.get("/").text)
    return client.post(path, data={**data, "csrftoken": token}, follow_redirects=False)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    ("username", "status", "may_enter"),
    [
        ("n.rahimi", 200, True),  # coordinator at TEH
        ("dr.amini", 200, True),  # principal investigator at TEH
        ("mon.hosseini", 200, False),  # monitor at TEH: reads
        ("stat.moradi", 200, False),  # statistician, every site: reads
        ("s.ahmadi", 404, False),  # coordinator at ISF: not found, like no participant
        ("dr.kazemi", 404, False),  # investigator at ISF
    ],
)
def test_the_page_by_role_and_site(
    login: Login, username: str, status: int, may_enter: bool
) -> None:
    client = login(username)
    r = client.get(page_of(PAE, FIRST))
    assert r.status_code == status
    assert (
        'action="/studies/' + PAE + f'/participants/{FIRST}/adverse-events/new"' in r.text
    ) is may_enter
    if status == 404:
        missing = client.get(page_of(PAE, "PAE-TEH-999"))
        assert missing.status_code == 404
        assert "PART.E003" in r.text
        assert "G50" not in r.text  # nothing about the participant
        assert r.text.replace(FIRST, "X") == missing.text.replace("PAE-TEH-999", "X")


def test_entering_needs_the_role_and_the_site(login: Login, web_db: Database) -> None:
    r = post(login("mon.hosseini"), page_of(PAE, FIRST) + "/new", ae_row(ae_grade="1"))
    assert r.status_code == 403
    assert "AUTH.E010" in r.text
    isf = login("s.ahmadi")
    r = post(isf, page_of(PAE, FIRST) + "/new", ae_row(ae_grade="1"))
    assert r.status_code == 404
    assert "PART.E003" in r.text
    preview = isf.get(
        page_of(PAE, FIRST) + "/grade", params={"visit": "D1", "ae_ctcae_term": "fever"}
    )
    assert preview.status_code == 404
    report = post(isf, page_of(PAE, FIRST) + "/reports/1", {"reported_on": "2025-06-02"})
    assert report.status_code == 404
    reader = Context.operator("test", NOW)
    assert list_adverse_events(web_db, reader, PAE, FIRST) == []


def test_a_refused_entry_keeps_what_was_typed(login: Login) -> None:
    client = login("dr.amini")
    typed = ae_row(ae_term="", ae_grade="4", ae_grade_reason="kept: biopsy confirmed")
    r = post(client, page_of(PAE, FIRST) + "/new", typed)
    assert r.status_code == 422
    assert "ae_term (Adverse event term) is required" in r.text
    assert "kept: biopsy confirmed" in r.text
    assert re.search(r'<option value="4" selected>', r.text)
    assert 'aria-invalid="true"' in r.text


def test_an_event_that_pauses_the_dose_group_says_what_was_paused(login: Login) -> None:
    client = login("dr.amini")
    r = post(client, page_of(PAE, FIRST) + "/new", ae_row(ae_grade="3"))
    assert r.status_code == 303
    assert "fired=" in r.headers["location"]
    shown = text_of(client.get(r.headers["location"]).text)
    assert "The adverse event was saved at visit D1." in shown
    assert "Stopping rule S1 fired on" in shown
    assert "Dose group G50 is paused: no one is enrolled into it or dosed in it." in shown
    assert "Grade 3" in shown
    # The other participant of the dose group: the pause stands on their page, no dose form.
    other = client.get(f"/studies/{PAE}/participants/{SECOND}")
    assert "This participant is affected" in text_of(other.text)
    assert f"/participants/{SECOND}/doses/INJ/record" not in other.text
    # Another event: the pause is active already, nothing new fires.
    r = post(client, page_of(PAE, FIRST) + "/new", ae_row(ae_term="Erythema", ae_grade="3"))
    assert "fired=" not in r.headers["location"]
    assert "No stopping rule fired." in client.get(r.headers["location"]).text


def test_the_grade_is_computed_from_the_visits_values(login: Login, web_db: Database) -> None:
    code = "UCM-TEH-001"
    entry = Context.operator("dr.amini", NOW)
    labs = {"hemoglobin": "13.5", "wbc": "6", "neutrophils": "3.5", "lymphocytes": "1.8"}
    labs |= {"platelets": "250", "ast": "28", "total_bilirubin": "0.8", "creatinine": "0.9"}
    for visit, alt in (("SCR", "30"), ("V_W2", "130")):
        save_form(
            web_db, entry, UCM, code, visit=visit, form_id="LABS", values={**labs, "alt": alt}
        )
    client = login("n.rahimi")
    base = page_of(UCM, code)
    r = client.get(base + "/grade", params={"visit": "V_W2", "ae_ctcae_term": "alt_increased"})
    assert r.status_code == 200
    assert 'id="grade-preview"' in r.text
    assert "Computed grade: 2" in r.text  # ALT 130 U/L, ULN 40: > 3.0-5.0 x ULN (CTCAE v5.0)
    r = client.get(base + "/grade", params={"visit": "V_W0", "ae_ctcae_term": "alt_increased"})
    assert "No grade is computed" in r.text
    assert "alt is not entered at this visit" in r.text
    row = {
        "visit": "V_W2",
        "ae_term": "ALT raised",
        "ae_onset": "2025-06-01",
        "ae_ctcae_term": "alt_increased",
        "ae_serious": "no",
        "ae_relation": "unlikely",
        "ae_outcome": "recovering",
        "ae_during_infusion": "no",
    }
    refused = post(client, base + "/new", {**row, "ae_grade": "3"})
    assert refused.status_code == 422
    assert "ae_grade_reason" in refused.text
    assert "overrides the computed grade 2" in refused.text
    saved = post(client, base + "/new", {**row, "ae_grade": "3", "ae_grade_reason": "jaundice"})
    assert saved.status_code == 303
    shown = text_of(client.get(base).text)
    assert "Grade 3" in shown
    assert "overrides the computed grade 2: jaundice" in shown.replace(" :", ":")


def test_the_serious_event_clock_in_persian(login: Login, web_db: Database) -> None:
    code = "UCM-TEH-002"
    client = login("n.rahimi", language="fa")
    base = page_of(UCM, code)
    row = {
        "visit": "V_W0",
        "ae_term": "Anaphylaxis",
        "ae_onset": "۱۴۰۴/۰۳/۱۱",  # 2025-06-01, typed in the Solar Hijri calendar
        "ae_grade": "3",
        "ae_serious": "yes",
        "ae_aware_at__day": "1404/03/11",
        "ae_aware_at__time": "۰۸:۳۰",
        "ae_relation": "not_related",
        "ae_outcome": "recovering",
        "ae_during_infusion": "yes",
    }
    r = post(client, base + "/new", row)
    assert r.status_code == 303, text_of(r.text)
    (event,) = list_adverse_events(web_db, Context.operator("t", NOW), UCM, code)
    assert str(event.values["ae_onset"]) == "2025-06-01"
    assert event.report is not None
    assert event.report.due_at == datetime(2025, 6, 2, 8, 30)  # 24 hours after awareness
    page = client.get(base).text
    assert 'dir="rtl"' in page
    assert "عوارض ناخواسته" in page
    assert "دیرکرد" in page  # overdue at 10:00 on 2025-06-02
    report_id = event.report.id
    # another participant's report id reads as not found
    assert (
        post(
            client,
            page_of(UCM, "UCM-TEH-001") + f"/reports/{report_id}",
            {"reported_on": "1404/03/12", "reported_time": "09:00", "reference": "x"},
        ).status_code
        == 404
    )
    bad = post(
        client,
        base + f"/reports/{report_id}",
        {"reported_on": "1404/03/12", "reported_time": "25:00", "reference": "sponsor SAE 7"},
    )
    assert bad.status_code == 422
    assert "sponsor SAE 7" in bad.text  # kept
    done = post(
        client,
        base + f"/reports/{report_id}",
        {"reported_on": "1404/03/12", "reported_time": "09:00", "reference": "sponsor SAE 7"},
    )
    assert done.status_code == 303
    page = client.get(base).text
    assert "گزارش‌شده در" in page
    assert "با تأخیر" in page  # 09:00 is after the 08:30 due time


def test_a_blinded_user_is_told_a_dose_group_is_paused_never_which(
    app: object, web_db: Database
) -> None:
    """A masked copy of the adipose-exosome study: a blinded coordinator enters the event that
    pauses the participant's dose group and reads that a dose group is paused, never its name."""
    from starlette.testclient import TestClient
    from tests.services.conftest import ELIGIBLE
    from tests.web.conftest import csrf_of

    from trialkit.protocol import shipped_studies
    from trialkit.services import (
        add_membership,
        add_site,
        consent,
        create_user,
        enrol,
        load_study,
        register,
        screen,
        unscheduled_visit,
    )
    from trialkit.web.demo_mode import DEMO_PASSWORD

    masked = "masked-adipose-exosomes"
    text = dict(shipped_studies())["psoriasis-adipose-exosomes.yaml"]
    text = text.replace(f"id: {PAE}", f"id: {masked}", 1).replace(
        "masking: {level: none, placebo: false, description: Not blinded}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    admin = Context.operator("admin", NOW)
    load_study(web_db, admin, text, source="masked.yaml")
    add_site(web_db, admin, masked, "TEH", "Tehran")
    create_user(web_db, admin, "blind.nurse", DEMO_PASSWORD, display_name="Blind Nurse")
    add_membership(web_db, admin, "blind.nurse", masked, "coordinator", site_code="TEH")
    code = register(web_db, admin, masked, "TEH").code
    consent(web_db, admin, masked, code, on=NOW.date(), form_version="1", obtained_by="dr.b")
    for form_id, values in ELIGIBLE[PAE].items():  # the study's eligible screening values
        save_form(web_db, admin, masked, code, visit="SCR", form_id=form_id, values=values)
    screen(web_db, admin, masked, code)
    enrol(web_db, admin, masked, code, investigator_override="confirmed by the investigator")
    unscheduled_visit(web_db, admin, masked, code, NOW.date(), "injection site review")
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    r = client.post(
        "/login",
        data={"username": "blind.nurse", "password": DEMO_PASSWORD, "csrftoken": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    base = page_of(masked, code)
    assert "not shown: the allocation is masked" in client.get(base).text
    r = post(client, base + "/new", ae_row(visit="UNS-001", ae_grade="3"))
    assert r.status_code == 303
    saved = client.get(r.headers["location"]).text
    shown = text_of(saved)
    assert "Stopping rule S1 fired on" in shown
    assert "A dose group is paused" in shown
    assert "which one is not shown to blinded roles" in shown
    participant = client.get(f"/studies/{masked}/participants/{code}").text
    for page in (saved, participant):
        assert "G50" not in page
        assert "50 µg" not in page
