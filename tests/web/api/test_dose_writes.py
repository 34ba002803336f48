"""Dose writes over /api/v1, on SQLite and PostgreSQL: recording an administration (the amount
against the dose the protocol computes, lot, vials, deviations), the pharmacist's preparation
and the blinded team's record of the kit, unscheduled visits; denied by role, another site's
participant read as not found, every client mistake a 4xx."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.api.conftest import Bearer
from tests.web.api.databases import web_db
from tests.web.api.masked import masked_study
from tests.web.conftest import NOW

from trialkit.services import Context, save_form
from trialkit.services.doses import dose_timeline
from trialkit.store import Database

__all__ = ["web_db"]

UCM = "psoriasis-ucmsc"
BASE = f"/api/v1/studies/{UCM}/participants"
VITALS = {"systolic_bp": "118", "diastolic_bp": "76", "heart_rate": "70", "temperature": "36.8"}


def error(r: Any) -> tuple[int, str]:
    body = r.json()
    assert set(body) == {"error"}, body
    return r.status_code, body["error"]["code"]


def weight(db: Database, code: str, visit: str) -> None:
    save_form(
        db,
        Context.operator("dr.amini", NOW),
        UCM,
        code,
        visit=visit,
        form_id="VITALS",
        values={**VITALS, "weight": "72"},
    )


def given(code: str, event: str) -> str:
    return f"{BASE}/{code}/doses/{event}/administration"


@pytest.mark.parametrize(
    ("username", "what", "status", "code"),
    [
        ("mon.hosseini", "administration", 403, "AUTH.E010"),  # a monitor reads, never doses
        ("pharm.jafari", "administration", 403, "AUTH.E010"),  # the pharmacist never gives
        ("n.rahimi", "preparation", 403, "AUTH.E010"),  # a coordinator never prepares
        ("s.ahmadi", "administration", 404, "PART.E003"),  # another site: no such participant
        ("dr.kazemi", "preparation", 404, "PART.E003"),
    ],
)
def test_dose_writes_are_denied_by_role_and_site(
    bearer: Bearer, username: str, what: str, status: int, code: str
) -> None:
    body = (
        {"kit": "K-1", "amount": "1", "unit": "cells", "product_lot": "L"}
        if what == "preparation"
        else {"given_at": "2025-06-02T10:00:00", "product_lot": "L", "kit": "K-1"}
    )
    r = bearer(username).post(f"{BASE}/UCM-TEH-002/doses/W2/{what}", json=body)
    assert error(r) == (status, code)
    assert "UC-" not in r.text  # nothing of the participant's product


def test_record_a_dose_with_lot_vials_and_its_deviation(bearer: Bearer, web_db: Database) -> None:
    code = "UCM-TEH-002"
    doctor = bearer("dr.amini")
    reader = Context.operator("t", NOW)
    planned = next(d for d in dose_timeline(web_db, reader, UCM, code).doses if d.id == "W2")
    assert planned.planned.target is not None
    body = {
        "given_at": planned.planned.target.isoformat(),
        "product_lot": "UC-0999",
        "given_amount": "2.0e8",
        "given_unit": "cells",
        "vials": ["UC-0999-01", "UC-0999-02"],
    }
    # client mistakes, each a 4xx with the envelope, and nothing written
    assert error(doctor.post(given(code, "W2"), json={**body, "given_amount": "lots"})) == (
        422,
        "WEB.E422",
    )
    assert error(doctor.post(given(code, "W2"), json={**body, "given_at": "June"}))[0] == 422
    assert error(doctor.post(given(code, "W2"), json={**body, "id": 7}))[0] == 422
    assert error(doctor.post(given(code, "W2"), json={**body, "given_unit": None})) == (
        400,
        "DOSE.E001",
    )
    assert error(doctor.post(given(code, "NOPE"), json=body)) == (404, "DOSE.E013")
    assert error(doctor.post(given(code, "W2"), json=body)) == (400, "DOSE.E004")  # no weight
    weight(web_db, code, "V_W2")
    timeline = doctor.get(f"{BASE}/{code}/doses").json()
    w2 = next(d for d in timeline["doses"] if d["event"] == "W2")
    assert w2["computed"]["amount"] == "144000000"  # 2e6 cells/kg x 72 kg, before it is given
    r = doctor.post(given(code, "W2"), json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["blinded"] is False
    assert out["computed"] == {"amount": "144000000", "unit": "cells", "text": "144000000 cells"}
    assert [d["kind"] for d in out["deviations"]] == ["dose"]  # 2.0e8 for 1.44e8: beyond 10 %
    assert out["kit"] == "UC-0999-01"
    w2 = next(d for d in doctor.get(f"{BASE}/{code}/doses").json()["doses"] if d["event"] == "W2")
    assert w2["given"]["given_amount"] == "2.0e8"
    assert w2["given"]["product_lot"] == "UC-0999"
    assert w2["given"]["vials"] == ["UC-0999-01", "UC-0999-02"]
    assert error(doctor.post(given(code, "W2"), json=body)) == (409, "DOSE.E014")


def test_the_pharmacist_prepares_and_the_team_records_the_kit(
    bearer: Bearer, web_db: Database
) -> None:
    code = "UCM-TEH-001"
    weight(web_db, code, "V_W4")
    pharmacist = bearer("pharm.jafari")
    prepared = {"kit": "K-77", "amount": "1.44e8", "unit": "cells", "product_lot": "UC-0500"}
    prep = f"{BASE}/{code}/doses/W4/preparation"
    assert error(pharmacist.post(prep, json={**prepared, "amount": "1e99999"}))[0] == 422
    r = pharmacist.post(prep, json=prepared)
    assert r.status_code == 201, r.text
    assert r.json()["computed"]["amount"] == "144000000"
    assert r.json()["deviations"] == []
    assert error(pharmacist.post(prep, json=prepared)) == (409, "DOSE.E027")
    nurse = bearer("n.rahimi")
    at = {"given_at": "2025-06-02T10:00:00", "product_lot": "UC-0500"}
    assert error(nurse.post(given(code, "W4"), json=at)) == (400, "DOSE.E021")  # no kit
    assert error(nurse.post(given(code, "W4"), json={**at, "kit": "K-78"})) == (400, "DOSE.E023")
    r = nurse.post(given(code, "W4"), json={**at, "kit": "K-77", "volume": "2"})
    assert r.status_code == 201, r.text
    assert r.json()["kit"] == "K-77"
    assert r.json()["volume"] == "2"
    timeline = nurse.get(f"{BASE}/{code}/doses").json()
    w4 = next(d for d in timeline["doses"] if d["event"] == "W4")
    assert w4["prepared"]["kit"] == "K-77"
    assert w4["given"]["given_amount"] == "1.44e8"


def test_a_blinded_role_records_the_kit_never_an_amount(
    bearer: Bearer, web_db: Database, request: pytest.FixtureRequest
) -> None:
    masked = masked_study(web_db, f"masked-doses-{request.node.callspec.id[:2]}")
    nurse = bearer(masked.nurse)
    base = f"/api/v1/studies/{masked.study}/participants/{masked.participant}"
    body = {
        "given_at": "2025-06-02T10:00:00",
        "product_lot": "AD-1",
        "given_amount": "50",
        "given_unit": "ug",
    }
    r = nurse.post(f"{base}/doses/INJ/administration", json=body)
    assert error(r) == (403, "DOSE.E020")
    assert masked.arm not in r.text
    assert (
        error(nurse.post(f"{base}/doses/INJ/administration", json={**body, "kit": "K-1"}))[0] == 403
    )
    no_amount = {k: v for k, v in body.items() if not k.startswith("given_") or k == "given_at"}
    r = nurse.post(f"{base}/doses/INJ/administration", json={**no_amount, "kit": "K-1"})
    assert error(r) == (400, "DOSE.E022")  # nothing prepared: the same answer for every arm
    timeline = nurse.get(f"{base}/doses").json()
    assert timeline["blind"] is True
    assert all(d["computed"] is None for d in timeline["doses"])


def test_an_unscheduled_visit(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    path = f"{BASE}/UCM-TEH-001/visits/unscheduled"
    assert error(nurse.post(path, json={"on": "June", "reason": "rash"}))[0] == 422
    assert error(nurse.post(path, json={"on": "2025-06-02"}))[0] == 422
    assert error(nurse.post(path, json={"on": "2025-06-02", "reason": "  "})) == (
        422,
        "SCHED.E206",
    )
    r = nurse.post(path, json={"on": "2025-06-02", "reason": "rash review"})
    assert r.status_code == 201, r.text
    visit = r.json()["visit"]
    assert visit.startswith("UNS-")
    assert r.json() == {"visit": visit, "on": "2025-06-02", "reason": "rash review"}
    assert error(bearer("mon.hosseini").post(path, json={"on": "2025-06-02", "reason": "x"})) == (
        403,
        "AUTH.E010",
    )
    other = f"{BASE}/UCM-ISF-003/visits/unscheduled"
    assert error(nurse.post(other, json={"on": "2025-06-02", "reason": "x"})) == (404, "PART.E003")
