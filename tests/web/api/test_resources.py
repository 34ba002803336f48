"""Each resource of /api/v1 over HTTP: allowed, denied (403 with the envelope), a participant
of another site reads as not found (404, exactly like one that does not exist), and the
writes go through the same validated, audited services as the pages."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.api.conftest import Bearer

UCM = "psoriasis-ucmsc"
TEH1 = "UCM-TEH-001"
ISF1 = "UCM-ISF-001"
BASE = f"/api/v1/studies/{UCM}"
VITALS = f"{BASE}/participants/{TEH1}/forms/V_W2/VITALS"


def error(r: Any) -> tuple[int, str]:
    body = r.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return r.status_code, body["error"]["code"]


def test_studies_and_sites_are_the_callers(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")  # coordinator at TEH
    studies = nurse.get("/api/v1/studies").json()["items"]
    assert UCM in [s["code"] for s in studies]
    one = nurse.get(f"/api/v1/studies/{UCM}").json()
    assert one["roles"] == [{"role": "coordinator", "site": "TEH", "unblinded": False}]
    assert [s["code"] for s in nurse.get(f"{BASE}/sites").json()["items"]] == ["TEH"]
    assert error(nurse.get("/api/v1/studies/no-such-study")) == (403, "AUTH.E010")
    manager = bearer("dm.karimi")  # every site
    assert [s["code"] for s in manager.get(f"{BASE}/sites").json()["items"]] == ["ISF", "TEH"]


def test_participants_at_the_callers_sites_only(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    codes = [p["code"] for p in nurse.get(f"{BASE}/participants").json()["items"]]
    assert TEH1 in codes
    assert ISF1 not in codes
    assert nurse.get(f"{BASE}/participants/{TEH1}").json()["site"] == "TEH"
    other = nurse.get(f"{BASE}/participants/{ISF1}")
    missing = nurse.get(f"{BASE}/participants/UCM-TEH-999")
    assert error(other) == error(missing) == (404, "PART.E003")
    assert other.json()["error"]["message"].replace(ISF1, "X") == missing.json()["error"][
        "message"
    ].replace("UCM-TEH-999", "X")
    for tail in ("calendar", "history", "adverse-events", "forms/SCR/VITALS"):
        assert error(nurse.get(f"{BASE}/participants/{ISF1}/{tail}")) == (404, "PART.E003")


def test_pagination_with_a_cursor(bearer: Bearer) -> None:
    manager = bearer("dm.karimi")
    first = manager.get(f"{BASE}/participants", params={"limit": 2}).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = manager.get(
        f"{BASE}/participants", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    every = manager.get(f"{BASE}/participants", params={"limit": 500}).json()
    assert [p["code"] for p in first["items"] + rest["items"]] == [
        p["code"] for p in every["items"]
    ][: 2 + len(rest["items"])]
    assert every["next_cursor"] is None
    r = manager.get(f"{BASE}/participants", params={"cursor": "not-ours"})
    assert error(r) == (422, "API.E002")
    assert error(manager.get(f"{BASE}/participants", params={"limit": 0})) == (422, "WEB.E422")


def test_register_and_lifecycle_actions(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    assert error(nurse.post(f"{BASE}/participants", json={"site": "ISF"})) == (403, "AUTH.E010")
    assert error(nurse.post(f"{BASE}/participants", json={"site": "TEH", "id": 1}))[0] == 422
    new = nurse.post(f"{BASE}/participants", json={"site": "TEH"}).json()
    code = new["code"]
    assert new["status"] == "screening"
    r = nurse.post(f"{BASE}/participants/{code}/complete")
    assert error(r)[0] == 409  # not possible from screening
    r = nurse.post(f"{BASE}/participants/{code}/screen-fail", json={"reason": ""})
    assert error(r) == (422, "WEB.E422")
    r = nurse.post(f"{BASE}/participants/{code}/screen-fail", json={"reason": "declined"})
    assert r.json()["status"] == "screen_failed"
    events = nurse.get(f"{BASE}/participants/{code}/history").json()["items"]
    assert [e["step"] for e in events][-1] == "screen_fail"
    assert events[-1]["actor"] == "n.rahimi"
    assert events[-1]["reason"] == "declined"
    monitor = bearer("mon.hosseini")  # reads at TEH, enrols nobody
    assert error(monitor.post(f"{BASE}/participants/{TEH1}/withdraw", json={"reason": "x"})) == (
        403,
        "AUTH.E010",
    )
    visits = nurse.get(f"{BASE}/participants/{TEH1}/calendar").json()["visits"]
    assert visits[0]["key"] == "SCR"


def test_forms_read_save_conflict_and_history(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    form = nurse.get(VITALS).json()
    version = form["version"]
    values = {k: v["raw"] for k, v in form["data"]["VS"].items()}
    changed = {**values, "heart_rate": str(int(values["heart_rate"]) + 3)}  # a real change
    r = nurse.put(VITALS, json={"values": changed, "expected_version": version})
    assert error(r)[0] == 422  # a change after first entry needs a reason
    r = nurse.put(
        VITALS, json={"values": changed, "expected_version": version, "reason": "the chart says so"}
    )
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["version"] == version + 1
    assert any("heart_rate" in c for c in saved["changed"])
    stale = nurse.put(
        VITALS, json={"values": values, "expected_version": version, "reason": "mine"}
    )
    assert error(stale) == (409, "FORM.E001")
    assert stale.json()["error"]["current_version"] == version + 1
    assert nurse.get(VITALS).json()["version"] == version + 1  # nothing was written
    # no client can set audit or identity fields
    r = nurse.put(VITALS, json={"values": values, "actor": "someone.else", "reason": "x"})
    assert error(r) == (422, "WEB.E422")
    history = nurse.get(f"{VITALS}/history", params={"limit": 1}).json()
    assert len(history["items"]) == 1
    later = nurse.get(f"{VITALS}/history", params={"cursor": history["next_cursor"]}).json()
    last = later["items"][-1]
    assert (last["actor"], last["reason"]) == ("n.rahimi", "the chart says so")
    monitor = bearer("mon.hosseini")
    assert monitor.get(VITALS).status_code == 200
    r = monitor.put(VITALS, json={"values": values, "expected_version": version + 1})
    assert error(r) == (403, "AUTH.E010")
    r = nurse.get(f"{BASE}/participants/{TEH1}/forms/V_W2/NOPE")
    assert error(r)[0] == 404


def test_an_adverse_event_is_graded_and_fires_the_stopping_rule(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    path = "/api/v1/studies/psoriasis-adipose-exosomes/participants/PAE-TEH-001/adverse-events"
    event = {
        "ae_term": "Injection site ulceration",
        "ae_onset": "2025-06-01",
        "ae_serious": "no",
        "ae_relation": "probable",
        "ae_outcome": "recovering",
        "ae_at_injection_site": "yes",
        "ae_grade": "3",
    }
    r = nurse.post(path, json={"visit": "D1", "values": event})
    assert r.status_code == 201, r.text
    recorded = r.json()
    assert recorded["grade"]["effective"] == 3
    assert [p["rule_id"] for p in recorded["fired"]] == ["S1"]
    listed = nurse.get(path).json()["items"]
    assert [e["event_key"] for e in listed] == [recorded["event_key"]]
    assert listed[0]["values"]["ae_onset"] == "2025-06-01"
    # the safety board lifts the pause with its decision; a coordinator may not
    safety = "/api/v1/studies/psoriasis-adipose-exosomes/safety"
    lift = f"{safety}/pauses/{recorded['fired'][0]['id']}/lift"
    assert error(nurse.post(lift, json={"reason": "reviewed"})) == (403, "AUTH.E010")
    board = bearer("dsmb.safavi")
    assert board.get(safety).json()["paused_arms"] == ["G50"]
    r = board.post(lift, json={"reason": "local reaction only; continue"})
    assert r.status_code == 200, r.text
    assert r.json()["paused_arms"] == []
    assert error(board.post(lift, json={"reason": "again"})) == (409, "SAFETY.E022")


def test_adverse_events(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    path = f"{BASE}/participants/{TEH1}/adverse-events"
    assert nurse.get(path).json()["items"] == []
    r = nurse.post(path, json={"visit": "V_W2", "values": {"ae_term": ""}})
    assert r.status_code == 422
    assert r.json()["error"]["errors"]
    assert nurse.get(path).json()["items"] == []  # a refused entry writes nothing
    assert error(bearer("s.ahmadi").get(path)) == (404, "PART.E003")


def test_queries_and_safety(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    found = nurse.get(f"{BASE}/queries", params={"status": "any"}).json()["items"]
    assert found
    assert {q["site"] for q in found} == {"TEH"}
    one = nurse.get(f"{BASE}/queries/{found[0]['id']}").json()
    assert one["id"] == found[0]["id"]
    isf = bearer("s.ahmadi")  # coordinator at ISF: TEH's queries are not there
    assert all(q["site"] == "ISF" for q in isf.get(f"{BASE}/queries").json()["items"])
    assert error(isf.get(f"{BASE}/queries/{found[0]['id']}")) == (404, "QUERY.E002")
    assert error(nurse.get(f"{BASE}/queries", params={"status": "lost"})) == (422, "WEB.E422")
    assert error(nurse.get(f"{BASE}/safety")) == (403, "AUTH.E010")  # needs every site
    board = bearer("dsmb.safavi").get(f"{BASE}/safety").json()
    assert board["enrolment_paused"] is False


@pytest.mark.parametrize("path", ["/api/v1/nothing", f"{BASE}/participants/{TEH1}/nothing"])
def test_unknown_paths_are_404_envelopes(bearer: Bearer, path: str) -> None:
    assert error(bearer("n.rahimi").get(path)) == (404, "WEB.E404")


def test_sdv_signatures_and_locks(bearer: Bearer) -> None:
    sdv = f"{BASE}/participants/{TEH1}/forms/SCR/VITALS/sdv"
    nurse = bearer("n.rahimi")
    assert nurse.get(sdv).json()["whole_form"]["state"] == "not_verified"
    assert error(nurse.post(sdv, json={})) == (403, "AUTH.E010")  # a coordinator verifies nothing
    monitor = bearer("mon.hosseini")
    r = monitor.post(sdv, json={"items": ["VS/heart_rate"]})
    assert r.status_code == 200, r.text
    marked = r.json()["items"]["VS/heart_rate"]
    assert (marked["state"], marked["verified_by"]) == ("verified", "mon.hosseini")
    assert r.json()["whole_form"]["state"] == "not_verified"
    other = f"{BASE}/participants/{ISF1}/forms/SCR/VITALS/sdv"
    assert error(monitor.post(other, json={})) == (404, "PART.E003")
    assert nurse.get(f"{BASE}/participants/{TEH1}/signatures").json()["items"] == []
    assert nurse.get(f"{BASE}/locks").json() == {"items": [], "next_cursor": None}


def test_the_definition_of_any_loaded_version(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    study = nurse.get(f"{BASE}/definition").json()
    assert study["id"] == UCM
    assert "VITALS" in [f["id"] for f in study["forms"]]
    assert nurse.get(f"{BASE}/definition", params={"version": "1.0"}).json() == study
    r = nurse.get(f"{BASE}/definition", params={"version": "9.9"})
    assert error(r) == (404, "STUDY.E003")
    assert error(nurse.get("/api/v1/studies/no-such-study/definition")) == (403, "AUTH.E010")


def test_values_stream_as_ndjson(bearer: Bearer) -> None:
    import json

    statistician = bearer("stat.moradi")
    r = statistician.get(f"{BASE}/values")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert rows
    assert {"participant", "visit", "form", "item", "value", "missing_reason"} <= set(rows[0])
    earlier = statistician.get(f"{BASE}/values", params={"as_of": "2025-05-01T00:00:00"})
    assert 0 < len(earlier.text.splitlines()) < len(rows)
    assert error(bearer("n.rahimi").get(f"{BASE}/values")) == (403, "AUTH.E010")


def test_query_workflow(bearer: Bearer) -> None:
    monitor, nurse = bearer("mon.hosseini"), bearer("n.rahimi")
    opening = {
        "participant": TEH1,
        "visit": "SCR",
        "form": "VITALS",
        "item": "VS/heart_rate",
        "text": "Please confirm the heart rate.",
    }
    r = monitor.post(f"{BASE}/queries", json=opening)
    assert r.status_code == 201, r.text
    q = r.json()
    assert (q["status"], q["opened_by"]) == ("open", "mon.hosseini")
    act = f"{BASE}/queries/{q['id']}"
    answered = nurse.post(
        f"{act}/answer", json={"text": "72 on the chart", "expected_version": q["version"]}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    stale = monitor.post(f"{act}/close", json={"expected_version": q["version"]})
    assert error(stale)[0] == 409
    assert error(nurse.post(f"{act}/comment", json={"text": ""})) == (422, "WEB.E422")
    closed = monitor.post(f"{act}/close", json={"expected_version": answered.json()["version"]})
    assert closed.json()["status"] == "closed"
    assert [e["action"] for e in monitor.get(act).json()["events"]][-2:] == ["answer", "close"]
    isf = bearer("s.ahmadi")
    assert error(isf.post(f"{act}/comment", json={"text": "hello"})) == (404, "QUERY.E002")
    assert error(isf.post(f"{BASE}/queries", json=opening)) == (404, "PART.E003")


def test_doses(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    timeline = nurse.get(f"{BASE}/participants/{TEH1}/doses").json()
    first = timeline["doses"][0]
    assert first["event"] == "W0"
    # the protocol's dose as exact decimal text (2 x 10^6 cells/kg x 68.5 kg)
    assert first["given"]["computed"]["amount"] == "137000000"
    assert error(nurse.get(f"{BASE}/participants/{ISF1}/doses")) == (404, "PART.E003")


def test_locks_refuse_saves_until_lifted(bearer: Bearer) -> None:
    manager, nurse = bearer("dm.karimi"), bearer("n.rahimi")
    target = {"scope": "form", "participant": TEH1, "visit": "SCR", "form": "VITALS"}
    form = f"{BASE}/participants/{TEH1}/forms/SCR/VITALS"
    assert error(nurse.post(f"{BASE}/locks", json={**target, "reason": "x"})) == (
        403,
        "AUTH.E010",
    )
    r = manager.post(f"{BASE}/locks", json={**target, "reason": "monitoring visit done"})
    assert r.status_code == 201, r.text
    assert r.json()["locked_by"] == "dm.karimi"
    assert [lk["id"] for lk in nurse.get(f"{BASE}/locks").json()["items"]] == [r.json()["id"]]
    stored = nurse.get(form).json()
    values = {k: v["raw"] for k, v in stored["data"]["VS"].items()}
    save = {"values": {**values, "heart_rate": "71"}, "expected_version": stored["version"]}
    assert error(nurse.put(form, json={**save, "reason": "typo"}))[0] == 423
    r = manager.post(f"{BASE}/locks/unlock", json={**target, "reason": "query to resolve"})
    assert r.json()["unlocked_by"] == "dm.karimi"
    assert nurse.get(f"{BASE}/locks").json()["items"] == []
    isf = bearer("s.ahmadi")
    assert error(isf.post(f"{BASE}/locks", json={**target, "reason": "x"})) == (404, "PART.E003")
    r = manager.post(f"{BASE}/locks", json={"scope": "study", "visit": "SCR", "reason": "x"})
    assert error(r) == (422, "LOCK.E013")


def test_visits_done_and_missed(bearer: Bearer) -> None:
    nurse = bearer("n.rahimi")
    visits = f"{BASE}/participants/UCM-TEH-002/visits"
    assert error(nurse.post(f"{visits}/V_W4/missed", json={"reason": " "}))[0] == 422
    r = nurse.post(f"{visits}/V_W4/missed", json={"reason": "travelling"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "missed"
    assert error(
        nurse.post(f"{BASE}/participants/{ISF1}/visits/SCR/done", json={"on": "2025-06-02"})
    ) == (
        404,
        "PART.E003",
    )


def test_signing_re_enters_the_password(bearer: Bearer) -> None:
    from trialkit.web.demo_mode import DEMO_PASSWORD

    path = f"{BASE}/participants/UCM-TEH-003/signatures"
    what = {"scope": "form", "visit": "SCR", "form": "VITALS", "meaning": "I reviewed it"}
    doctor = bearer("dr.amini")
    assert error(doctor.post(path, json={**what, "password": "wrong"})) == (403, "SIGN.E001")
    nurse = bearer("n.rahimi")
    r = nurse.post(path, json={**what, "password": DEMO_PASSWORD})
    assert error(r) == (403, "AUTH.E010")
    r = doctor.post(path, json={**what, "password": DEMO_PASSWORD})
    assert r.status_code == 201, r.text
    assert (r.json()["signed_by"], r.json()["status"]) == ("dr.amini", "valid")
    assert [s["id"] for s in nurse.get(path).json()["items"]] == [r.json()["id"]]
