"""The other services of the pages over /api/v1, on SQLite and PostgreSQL: a form marked not
required, a grade previewed, a serious event's report recorded, the study's SDV progress, the
sequential cohorts and the board opening one, and the audit trails (keyset pages, blinding);
allowed, denied by role, another site's participant read as not found."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.api.conftest import Bearer
from tests.web.api.databases import web_db
from tests.web.api.masked import masked_study
from tests.web.conftest import NOW

from trialkit.services import Context, save_form
from trialkit.store import Database

__all__ = ["web_db"]

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
BASE = f"/api/v1/studies/{UCM}/participants"


def error(r: Any) -> tuple[int, str]:
    body = r.json()
    assert set(body) == {"error"}, body
    return r.status_code, body["error"]["code"]


def test_a_form_marked_not_required(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    calendar = nurse.get(f"{BASE}/UCM-TEH-001/calendar").json()
    visit, form = next(
        (v["key"], f)
        for v in calendar["visits"]
        for f, state in v["forms"].items()
        if state not in ("entered", "not_required") and v["key"] != "SCR"
    )
    path = f"{BASE}/UCM-TEH-001/forms/{visit}/{form}/not-required"
    assert error(nurse.post(path, json={"reason": ""}))[0] == 422
    assert error(nurse.post(path, json={"reason": "  "})) == (422, "FORM.E013")
    assert error(bearer("mon.hosseini").post(path, json={"reason": "x"})) == (403, "AUTH.E010")
    r = nurse.post(path, json={"reason": "lesion resolved"})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "visit": visit,
        "form": form,
        "status": "not_required",
        "reason": "lesion resolved",
    }
    assert error(nurse.post(path, json={"reason": "again"})) == (409, "FORM.E014")
    states = {
        v["key"]: v["forms"] for v in nurse.get(f"{BASE}/UCM-TEH-001/calendar").json()["visits"]
    }
    assert states[visit][form] == "not_required"
    other = f"{BASE}/UCM-ISF-003/forms/{visit}/{form}/not-required"
    assert error(nurse.post(other, json={"reason": "x"})) == (404, "PART.E003")


def test_the_grade_preview(bearer: Bearer, web_db: Database) -> None:
    code = "UCM-TEH-001"
    labs = {"hemoglobin": "13.5", "wbc": "6", "neutrophils": "3.5", "lymphocytes": "1.8"}
    labs |= {"platelets": "250", "ast": "28", "total_bilirubin": "0.8", "creatinine": "0.9"}
    entry = Context.operator("dr.amini", NOW)
    for visit, alt in (("SCR", "30"), ("V_W2", "130")):
        save_form(
            web_db, entry, UCM, code, visit=visit, form_id="LABS", values={**labs, "alt": alt}
        )
    path = f"{BASE}/{code}/adverse-events/grade"
    r = bearer("mon.hosseini").get(path, params={"visit": "V_W2", "term": "alt_increased"})
    assert r.status_code == 200, r.text
    assert r.json()["computed"] == 2  # ALT 130 U/L, ULN 40: > 3.0-5.0 x ULN (CTCAE v5.0)
    none = bearer("n.rahimi").get(path, params={"visit": "V_W0", "term": "alt_increased"}).json()
    assert none["computed"] is None
    assert "alt is not entered at this visit" in none["why"]
    assert error(bearer("n.rahimi").get(path, params={"visit": "V_W2"}))[0] == 422
    other = f"{BASE}/UCM-ISF-003/adverse-events/grade"
    assert error(bearer("n.rahimi").get(other, params={"visit": "V_W2", "term": "x"})) == (
        404,
        "PART.E003",
    )


def test_a_serious_events_report_is_recorded(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    event = {
        "ae_term": "Anaphylaxis",
        "ae_onset": "2025-06-01",
        "ae_grade": "3",
        "ae_serious": "yes",
        "ae_aware_at": "2025-06-01T08:30",
        "ae_relation": "not_related",
        "ae_outcome": "recovering",
        "ae_during_infusion": "yes",
    }
    r = nurse.post(f"{BASE}/UCM-TEH-002/adverse-events", json={"visit": "V_W0", "values": event})
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    assert report["due_at"] == "2025-06-02T08:30:00"
    path = f"{BASE}/UCM-TEH-002/adverse-events/reports/{report['id']}"
    made = {"reported_at": "2025-06-02T09:00:00", "reference": "sponsor SAE 7"}
    # another participant's report reads as not found; a monitor may not record reports
    elsewhere = f"{BASE}/UCM-TEH-001/adverse-events/reports/{report['id']}"
    assert error(nurse.post(elsewhere, json=made)) == (404, "SAFETY.E031")
    assert error(bearer("mon.hosseini").post(path, json=made)) == (403, "AUTH.E010")
    assert error(nurse.post(path, json={**made, "reference": ""}))[0] == 422
    assert error(nurse.post(path, json={**made, "reported_at": "tomorrow"}))[0] == 422
    r = nurse.post(path, json=made)
    assert r.status_code == 200, r.text
    assert r.json()["reported_at"] == "2025-06-02T09:00:00"
    assert r.json()["reference"] == "sponsor SAE 7"
    assert r.json()["late"] is True  # 09:00 is after the 08:30 due time
    listed = nurse.get(f"{BASE}/UCM-TEH-002/adverse-events").json()["items"]
    assert listed[0]["report"]["reported_by"] == "n.rahimi"


def test_the_studys_sdv_progress(bearer: Bearer) -> None:
    monitor = bearer("mon.hosseini").get(f"/api/v1/studies/{UCM}/sdv")
    assert monitor.status_code == 200, monitor.text
    assert [s["key"] for s in monitor.json()["by_site"]] == ["TEH"]
    every = bearer("dm.karimi").get(f"/api/v1/studies/{UCM}/sdv").json()
    assert sorted(s["key"] for s in every["by_site"]) == ["ISF", "TEH"]
    assert every["total"]["forms_entered"] >= monitor.json()["total"]["forms_entered"] > 0
    assert error(bearer("dm.karimi").get("/api/v1/studies/no-such-study/sdv"))[0] in (403, 404)


def test_the_cohorts_and_the_board_opening_one(bearer: Bearer) -> None:
    path = f"/api/v1/studies/{PAE}/safety/cohorts"
    board = bearer("dsmb.safavi")
    r = board.get(path)
    assert r.status_code == 200, r.text
    assert [c["arm"] for c in r.json()["items"]] == ["G50", "G100", "G200"]
    assert r.json()["items"][0]["state"] in ("open", "full", "awaiting review", "review due")
    assert error(bearer("n.rahimi").get(path)) == (403, "AUTH.E010")  # one site: not study-wide
    assert error(board.get(f"/api/v1/studies/{UCM}/safety/cohorts")) == (422, "ALLOC.E055")
    opening = f"{path}/G100/open"
    assert error(bearer("dm.karimi").post(opening, json={"reason": "x"})) == (403, "AUTH.E010")
    assert error(board.post(opening, json={"reason": ""}))[0] == 422
    refused = board.post(opening, json={"reason": "reviewed"})  # G50's review is not due yet
    assert 400 <= refused.status_code < 500
    assert error(refused)[1].startswith("ALLOC.")


def test_the_audit_trails_page_by_key(bearer: Bearer) -> None:
    manager = bearer("dm.karimi")
    path = f"{BASE}/UCM-TEH-001/audit"
    first = manager.get(path, params={"limit": 5}).json()
    assert len(first["items"]) == 5
    seqs = [e["seq"] for e in first["items"]]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    second = manager.get(path, params={"limit": 5, "cursor": first["next_cursor"]}).json()
    every = manager.get(path, params={"limit": 500}).json()["items"]
    assert [e["seq"] for e in first["items"] + second["items"]] == [e["seq"] for e in every][:10]
    assert error(manager.get(path, params={"cursor": "nope"})) == (422, "API.E002")
    nurse = bearer("n.rahimi")
    assert nurse.get(path).status_code == 200
    assert error(nurse.get(f"{BASE}/UCM-ISF-003/audit")) == (404, "PART.E003")
    study = f"/api/v1/studies/{UCM}/audit"
    assert error(nurse.get(study)) == (403, "AUTH.E010")  # one site: the study's trail is wider
    page = manager.get(study, params={"limit": 3}).json()
    assert len(page["items"]) == 3
    assert page["next_cursor"]
    proof = manager.get(f"{study}/verification")
    assert proof.status_code == 200, proof.text
    assert proof.json()["ok"] is True
    assert error(bearer("stat.moradi").get(f"{study}/verification")) == (403, "AUTH.E010")


def test_a_masked_studys_trail_is_for_unblinded_readers(
    bearer: Bearer, web_db: Database, request: pytest.FixtureRequest
) -> None:
    masked = masked_study(web_db, f"masked-trail-{request.node.callspec.id[:2]}")
    study = f"/api/v1/studies/{masked.study}/audit"
    assert error(bearer(masked.blind_stat).get(study)) == (403, "AUDIT.E010")
    person = f"/api/v1/studies/{masked.study}/participants/{masked.participant}/audit"
    assert error(bearer(masked.nurse).get(person)) == (403, "AUDIT.E010")
    assert bearer(masked.open_stat).get(study).status_code == 200


def test_an_amendment_previewed(
    bearer: Bearer, web_db: Database, request: pytest.FixtureRequest
) -> None:
    from trialkit.protocol import shipped_studies
    from trialkit.services import add_membership, create_user
    from trialkit.web.demo_mode import DEMO_PASSWORD

    name = f"admin.ucm.{request.node.callspec.id[:2]}"
    operator = Context.operator("admin", NOW)
    create_user(web_db, operator, name, DEMO_PASSWORD, display_name="Study administrator")
    add_membership(web_db, operator, name, UCM, "administrator")
    text = dict(shipped_studies())[f"{UCM}.yaml"]
    current = next(line for line in text.splitlines() if line.startswith("protocol_version:"))
    path = f"/api/v1/studies/{UCM}/amendments/preview"
    admin = bearer(name)
    assert error(bearer("dm.karimi").post(path, json={"protocol": text})) == (403, "AUTH.E010")
    assert error(admin.post(path, json={"protocol": text})) == (409, "AMEND.E002")
    assert error(admin.post(path, json={"protocol": "id: [unclosed"}))[0] in (400, 422)
    assert error(admin.post(path, json={"protocol": "[" * 5000}))[0] in (400, 422)
    other = dict(shipped_studies())[f"{PAE}.yaml"]
    assert error(admin.post(path, json={"protocol": other})) == (422, "AMEND.E001")
    amended = text.replace(current, 'protocol_version: "9.9"', 1).replace(
        "name: Week 2, anchor: first_dose, offset: {days: 14}, window: {lower: -2, upper: 2}",
        "name: Week 2, anchor: first_dose, offset: {days: 14}, window: {lower: -3, upper: 3}",
        1,
    )
    assert amended.count("lower: -3, upper: 3") == text.count("lower: -3, upper: 3") + 1
    r = admin.post(path, json={"protocol": amended})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["new_version"] == "9.9"
    assert out["ok"] is True
    changed = [c for c in out["changes"] if c["key"] == "V_W2"]
    assert changed
    assert changed[0]["kind"] == "changed"
