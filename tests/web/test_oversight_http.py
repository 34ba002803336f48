"""Queries, source data verification, signatures and locks over HTTP, on the demo database:
allowed for the role that may, denied (403) for a role that may not, and another site's
participant or query not found exactly like one that does not exist."""

from __future__ import annotations

import re

from tests.web.conftest import Login, form_token

from trialkit.web.demo_mode import DEMO_PASSWORD

UCM = "psoriasis-ucmsc"
OWN, OTHER = "UCM-TEH-003", "UCM-ISF-001"
FORM = f"/studies/{UCM}/participants/{OWN}/forms/SCR/VITALS"


def _post(client, page_url: str, target: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = form_token(client.get(page_url).text)
    return client.post(target, data={"csrftoken": token, **data}, follow_redirects=False)


def test_a_query_opened_answered_closed_and_reopened_with_its_history(login: Login) -> None:
    monitor, nurse = login("mon.hosseini"), login("n.rahimi")
    page = monitor.get(FORM)
    assert page.status_code == 200
    assert 'id="open-query"' in page.text
    assert "verify-form" in page.text
    r = _post(monitor, FORM, FORM + "/queries", {"item": "VS/weight", "text": "Weight is empty?"})
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    qid = url.rsplit("/", 1)[1]
    # the nurse (site staff) answers; she may not close
    page = nurse.get(url)
    assert "Weight is empty?" in page.text
    assert f"/queries/{qid}/answer" in page.text
    assert f"/queries/{qid}/close" not in page.text
    assert "Enter the correction on the form" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    r = nurse.post(
        f"{url}/answer",
        data={"csrftoken": form_token(page.text), "version": version.group(1), "text": "Not done"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    denied = _post(nurse, url, f"{url}/close", {"text": "no"})
    assert denied.status_code == 403
    # a stale action is refused and shows the query again with the text kept
    stale = _post(monitor, url, f"{url}/close", {"version": "1", "text": "ok now"})
    assert stale.status_code == 409
    assert "ok now" in stale.text
    assert "QUERY.E005" in stale.text
    for action in ("close", "reopen"):
        page = monitor.get(url)
        v = re.search(r'name="version" value="(\d+)"', page.text)
        assert v
        r = monitor.post(
            f"{url}/{action}",
            data={"csrftoken": form_token(page.text), "version": v.group(1), "text": action},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    history = monitor.get(url).text
    for word in ("Opened", "Answered", "Closed", "Re-opened"):
        assert word in history
    listing = monitor.get(f"/studies/{UCM}/queries?status=any&form=VITALS")
    assert listing.status_code == 200
    assert "Weight is empty?" in listing.text
    assert "By participant" in listing.text
    assert OTHER not in listing.text
    empty_text = _post(monitor, FORM, FORM + "/queries", {"item": "VS/weight", "text": " "})
    assert empty_text.status_code == 422
    assert "QUERY.E001" in empty_text.text


def test_another_sites_query_and_participant_are_not_found(login: Login) -> None:
    isf = login("s.ahmadi")
    listing = isf.get(f"/studies/{UCM}/queries?status=any")
    ids = re.findall(
        rf"/studies/{UCM}/queries/(\d+)",
        login("mon.hosseini").get(f"/studies/{UCM}/queries?status=any").text,
    )
    assert ids
    assert OWN not in listing.text
    for qid in ids[:1]:
        hidden = isf.get(f"/studies/{UCM}/queries/{qid}")
        missing = isf.get(f"/studies/{UCM}/queries/999999")
        assert hidden.status_code == missing.status_code == 404
        assert "QUERY.E002" in hidden.text
        assert OWN not in hidden.text
    monitor = login("mon.hosseini")
    other = monitor.get(f"/studies/{UCM}/participants/{OTHER}/forms/SCR/VITALS")
    assert other.status_code == 404
    assert "PART.E003" in other.text
    sigs = monitor.get(f"/studies/{UCM}/participants/{OTHER}/signatures")
    assert sigs.status_code == 404


def test_sdv_marks_clear_on_a_change_and_progress_counts(login: Login) -> None:
    monitor, nurse = login("mon.hosseini"), login("n.rahimi")
    r = _post(monitor, FORM, FORM + "/verify", {"item": "VS/heart_rate"})
    assert r.status_code == 303
    page = monitor.get(FORM).text
    assert "1 of 5 items verified" in page
    r = _post(monitor, FORM, FORM + "/verify", {"whole": "1"})
    assert "Every item is verified" in monitor.get(FORM).text
    assert _post(nurse, FORM, FORM + "/verify", {"whole": "1"}).status_code == 403
    # the nurse changes the heart rate with a reason: the marks clear and say what, who, why
    page = nurse.get(FORM).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    values = dict(re.findall(r'name="(v:VS/[a-z_]+)" value="([^"]*)"', page))
    values["v:VS/heart_rate"] = "75"
    r = nurse.post(
        FORM,
        data={
            "csrftoken": form_token(page),
            "version": version.group(1),
            "reason": "transcription error",
            **values,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = monitor.get(FORM).text
    assert "Changed after verification" in page
    assert "VS/heart_rate changed by n.rahimi" in page
    assert "transcription error" in page
    assert _post(monitor, FORM, FORM + "/verify", {"item": "VS/heart_rate"}).status_code == 303
    progress = monitor.get(f"/studies/{UCM}/sdv")
    assert progress.status_code == 200
    assert "mon.hosseini" in progress.text
    assert "UCM-ISF" not in progress.text
    assert ">ISF<" not in progress.text


def test_signing_with_password_and_meaning_then_void_by_a_change(login: Login) -> None:
    doctor, nurse = login("dr.amini"), login("n.rahimi")
    sign = f"/studies/{UCM}/participants/{OWN}/signatures"
    meaning = "I confirm that I reviewed these data and they are accurate"
    base = {"scope": "form", "visit": "SCR", "form": "VITALS", "meaning": meaning}
    wrong = _post(doctor, FORM, sign, {**base, "password": "wrong"})
    assert wrong.status_code == 403
    assert "SIGN.E001" in wrong.text
    r = _post(doctor, FORM, sign, {**base, "password": DEMO_PASSWORD})
    assert r.status_code == 303, r.text
    page = doctor.get(FORM).text
    assert "Signatures covering this form" in page
    assert "Valid" in page
    assert re.search(r"[0-9a-f]{64}", page)
    assert _post(nurse, FORM, sign, {**base, "password": DEMO_PASSWORD}).status_code == 403
    r = _post(
        doctor, sign, sign, {"scope": "casebook", "meaning": meaning, "password": DEMO_PASSWORD}
    )
    assert r.status_code == 303, r.text
    page = nurse.get(FORM).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    values = dict(re.findall(r'name="(v:VS/[a-z_]+)" value="([^"]*)"', page))
    values["v:VS/temperature"] = "36.9"
    r = nurse.post(
        FORM,
        data={
            "csrftoken": form_token(page),
            "version": version.group(1),
            "reason": "re-measured",
            **values,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    listing = doctor.get(sign).text
    assert "Void" in listing
    assert "changed by n.rahimi" in listing


def test_locks_refuse_edits_with_reason_and_holder(login: Login) -> None:
    dm, nurse, monitor = login("dm.karimi"), login("n.rahimi"), login("mon.hosseini")
    locks = f"/studies/{UCM}/locks"
    data = {
        "action": "lock",
        "scope": "form",
        "back": "form",
        "participant": OWN,
        "visit": "SCR",
        "form": "VITALS",
        "reason": "database lock for the interim",
    }
    assert _post(monitor, FORM, locks, data).status_code == 403
    r = _post(dm, FORM, locks, data)
    assert r.status_code == 303, r.text
    page = nurse.get(FORM).text
    assert "This form is locked." in page
    assert "dm.karimi" in page
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    r = nurse.post(
        FORM,
        data={
            "csrftoken": form_token(page),
            "version": version.group(1),
            "reason": "x",
            "v:VS/heart_rate": "80",
        },
        follow_redirects=False,
    )
    assert r.status_code == 423
    assert "database lock for the interim" in r.text
    assert "dm.karimi" in dm.get(locks).text
    hidden = _post(
        dm,
        locks,
        locks,
        {"action": "lock", "scope": "participant", "participant": "UCM-XXX-999", "reason": "x"},
    )
    assert hidden.status_code == 404
    r = _post(dm, FORM, locks, {**data, "action": "unlock", "reason": "interim done"})
    assert r.status_code == 303
    assert "This form is locked." not in nurse.get(FORM).text
    r = _post(
        dm,
        locks,
        locks,
        {
            "action": "lock",
            "scope": "participant",
            "participant": OWN,
            "reason": "withdrawn consent review",
        },
    )
    assert r.status_code == 303
    assert "This participant&#39;s records are locked." in nurse.get(FORM).text
    r = _post(
        dm,
        locks,
        locks,
        {"action": "unlock", "scope": "participant", "participant": OWN, "reason": "reviewed"},
    )
    assert r.status_code == 303


def test_the_correction_is_entered_from_the_query_page(login: Login) -> None:
    monitor, nurse = login("mon.hosseini"), login("n.rahimi")
    target = f"/studies/{UCM}/participants/{OWN}/forms/SCR/VITALS"
    r = _post(monitor, target, target + "/queries", {"item": "VS/systolic_bp", "text": "chart?"})
    url = r.headers["location"].split("?")[0]
    page = nurse.get(url).text
    assert 'id="correct"' in page
    # the item as the form names it, its path beside it; the field with its unit
    assert '<span lang="en" dir="auto">Systolic blood pressure</span>' in page
    assert '<bdi dir="ltr">VS/systolic_bp</bdi>' in page
    assert "Corrected value of Systolic blood pressure" in page
    assert '<span class="unit" dir="ltr">(mmHg)</span>' in page
    seen = monitor.get(url).text
    assert 'id="correct"' not in seen  # a monitor does not enter data
    assert "Systolic blood pressure" in seen  # but reads the item's name
    # and the study's list of queries names it so too, its path beside it
    listed = monitor.get(f"/studies/{UCM}/queries").text
    assert (
        '<span lang="en" dir="auto">Systolic blood pressure</span> <small class="muted">' in listed
    )
    assert '<bdi dir="ltr">VS/systolic_bp</bdi>' in listed
    version = re.search(r'name="version" value="(\d+)"', page[page.index('id="correct"') :])
    assert version
    no_reason = nurse.post(
        f"{url}/correct",
        data={"csrftoken": form_token(page), "version": version.group(1), "value": "131"},
        follow_redirects=False,
    )
    assert no_reason.status_code == 422
    assert 'value="131"' in no_reason.text  # what was typed is kept
    r = nurse.post(
        f"{url}/correct",
        data={
            "csrftoken": form_token(page),
            "version": version.group(1),
            "value": "131",
            "reason": "clinic chart says 131",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    form_page = nurse.get(target).text
    assert re.search(r'name="v:VS/systolic_bp" value="131"', form_page)
    assert "clinic chart says 131" in nurse.get(target + "/history").text


def test_the_participant_page_links_to_the_oversight_pages(login: Login) -> None:
    page = login("dm.karimi").get(f"/studies/{UCM}/participants/{OWN}").text
    for target in (f"/studies/{UCM}/participants/{OWN}/signatures", f"/studies/{UCM}/locks"):
        assert target in page
    assert login("dm.karimi").get(f"/studies/{UCM}/sdv").status_code == 200
    statistician = login("stat.moradi").get(f"/studies/{UCM}/locks")  # reads, does not lock
    assert statistician.status_code == 200
    assert "lock-form" not in statistician.text
