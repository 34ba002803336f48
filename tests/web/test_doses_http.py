"""Dosing over HTTP: recording a dose (lot, vials, the amount against the computed dose, its
deviations), the pharmacist's preparation, unscheduled visits; allowed, denied by role, and
another site's participant read as not found."""

from __future__ import annotations

import re

import pytest
from tests.web.conftest import NOW, Login, form_token

from trialkit.services import Context, save_form
from trialkit.services.doses import dose_timeline
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
VITALS = {"systolic_bp": "118", "diastolic_bp": "76", "heart_rate": "70", "temperature": "36.8"}


def post(client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = form_token(client.get("/").text)
    return client.post(path, data={**data, "csrftoken": token}, follow_redirects=False)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def dose_path(code: str, event: str, what: str = "record") -> str:
    return f"/studies/{UCM}/participants/{code}/doses/{event}/{what}"


def weight(db: Database, code: str, visit: str) -> None:
    values = {**VITALS, "weight": "72"}
    save_form(
        db,
        Context.operator("dr.amini", NOW),
        UCM,
        code,
        visit=visit,
        form_id="VITALS",
        values=values,
    )


@pytest.mark.parametrize(
    ("username", "what", "status", "code"),
    [
        ("mon.hosseini", "record", 403, "AUTH.E010"),  # a monitor reads, never doses
        ("pharm.jafari", "record", 403, "AUTH.E010"),  # the pharmacist prepares, never gives
        ("n.rahimi", "prepare", 403, "AUTH.E010"),  # a coordinator never prepares
        ("s.ahmadi", "record", 404, "PART.E003"),  # another site: as if no participant
        ("dr.kazemi", "prepare", 404, "PART.E003"),
    ],
)
def test_dosing_is_denied_by_role_and_site(
    login: Login, username: str, what: str, status: int, code: str
) -> None:
    data = {"given_on": "2025-06-02", "given_time": "10:00", "product_lot": "L", "kit": "K-1"}
    data |= {"amount": "1", "unit": "cells", "given_amount": "1", "given_unit": "cells"}
    r = post(login(username), dose_path("UCM-TEH-002", "W2", what), data)
    assert r.status_code == status
    assert code in r.text
    if status == 404:
        assert "UC-0425" not in r.text  # nothing of the participant


def test_record_a_dose_with_lot_vials_and_its_deviation(login: Login, web_db: Database) -> None:
    code = "UCM-TEH-002"
    client = login("dr.amini")
    reader = Context.operator("t", NOW)
    planned = next(d for d in dose_timeline(web_db, reader, UCM, code).doses if d.id == "W2")
    assert planned.planned.target is not None
    on, at = planned.planned.target.date().isoformat(), planned.planned.target.strftime("%H:%M")
    typed = {
        "given_on": on,
        "given_time": at,
        "product_lot": "UC-0999",
        "given_amount": "2.0e8",
        "given_unit": "cells",
        "vials": "UC-0999-01, UC-0999-02",
    }
    no_time = post(client, dose_path(code, "W2"), {**typed, "given_time": ""})
    assert no_time.status_code == 422
    assert "is not a time of day" in no_time.text
    assert 'value="UC-0999"' in no_time.text
    refused = post(client, dose_path(code, "W2"), typed)  # no weight at V_W2 yet
    assert refused.status_code == 400
    assert "weight" in refused.text
    assert 'value="UC-0999-01, UC-0999-02"' in refused.text  # what was typed is kept
    weight(web_db, code, "V_W2")
    page = text_of(client.get(f"/studies/{UCM}/participants/{code}").text)
    # 2e6 cells/kg x 72 kg, computed before it is given; grouped, with its power of ten, so that
    # no one counts zeros
    assert "144,000,000 (1.44 × 10⁸) cells" in page
    assert "(2,000,000 cells per kg of weight)" in page
    r = post(client, dose_path(code, "W2"), typed)
    assert r.status_code == 303
    assert r.headers["location"].endswith("#dose-W2")
    page = text_of(client.get(f"/studies/{UCM}/participants/{code}").text)
    assert "UC-0999-01, UC-0999-02" in page
    assert "UC-0999" in page
    assert "200,000,000 (2 × 10⁸) cells" in page  # given, typed as 2.0e8
    assert "Deviations" in page  # 2.0e8 given for 1.44e8 computed: beyond the 10 % tolerance
    again = post(client, dose_path(code, "W2"), typed)
    assert again.status_code == 409
    assert "already recorded" in again.text


def test_the_pharmacist_prepares_and_the_team_records_the_kit(
    login: Login, web_db: Database
) -> None:
    code = "UCM-TEH-001"
    weight(web_db, code, "V_W4")
    pharmacist = login("pharm.jafari")
    prepared = {"kit": "K-77", "amount": "1.44e8", "unit": "cells", "product_lot": "UC-0500"}
    r = post(pharmacist, dose_path(code, "W4", "prepare"), prepared)
    assert r.status_code == 303
    page = login("n.rahimi").get(f"/studies/{UCM}/participants/{code}").text
    assert "kit K-77, by pharm.jafari" in text_of(page)
    assert 'name="kit" dir="ltr" value="K-77" required' in page  # the record form names the kit
    again = post(pharmacist, dose_path(code, "W4", "prepare"), prepared)
    assert again.status_code == 409


def test_an_unscheduled_visit_and_its_adverse_event_entry(login: Login) -> None:
    client = login("n.rahimi")
    base = f"/studies/{UCM}/participants/UCM-TEH-001"
    bad = post(client, base + "/visits/unscheduled/new", {"on": "June", "reason": "rash review"})
    assert bad.status_code == 422
    assert 'value="rash review"' in bad.text
    no_reason = post(client, base + "/visits/unscheduled/new", {"on": "2025-06-02"})
    assert no_reason.status_code == 422
    assert "an unscheduled visit needs its reason" in no_reason.text
    r = post(client, base + "/visits/unscheduled/new", {"on": "2025-06-02", "reason": "rash"})
    assert r.status_code == 303
    page = client.get(base).text
    assert "Unscheduled visit 1" in page
    # each visit's window with its bounds around the target (V_W2: -2 / +2 days)
    assert '<bdi dir="ltr">-2</bdi> / <bdi dir="ltr">+2</bdi> days' in page
    entry = client.get(base + "/adverse-events").text
    assert '<option value="UNS-001"' in entry
    denied = post(
        login("mon.hosseini"), base + "/visits/unscheduled/new", {"on": "2025-06-02", "reason": "x"}
    )
    assert denied.status_code == 403


def test_a_moment_is_typed_in_the_users_calendar_and_clock() -> None:
    from datetime import datetime

    from trialkit.errors import ValidationFailed
    from trialkit.web.i18n import parse_moment

    assert parse_moment("۱۴۰۴/۰۳/۱۲", "۰۹:۰۵", "fa") == datetime(2025, 6, 2, 9, 5)
    assert parse_moment("2025-06-02", "23:59", "en") == datetime(2025, 6, 2, 23, 59)
    for clock in ("24:00", "9h", "12:60", ""):
        with pytest.raises(ValidationFailed) as bad:
            parse_moment("2025-06-02", clock, "en", "given_at")
        assert bad.value.code == "WEB.E033"
        assert bad.value.errors == {"given_at": ["e.g. 14:30"]}
