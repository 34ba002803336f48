"""Repeating instruments and the unscheduled visits' repeating event through the REDCap endpoint.

The demo database (``tests.web.api.databases.web_db``: a copy of the SQLite one, and a copy
on PostgreSQL when ``TRIALKIT_TEST_DATABASE_URL`` is set), its psoriasis-ucmsc study: the
adverse-event form is a repeating form whose one item group repeats (REDCap instrument ``ae``,
one instance per adverse event); VITALS, LABS and AE may be entered at unscheduled visits (the
repeating event ``unscheduled_arm_1``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date

import pytest
from starlette.testclient import TestClient
from tests.web.api.databases import web_db as web_db
from tests.web.conftest import NOW

from trialkit.protocol import shipped_studies
from trialkit.protocol.loader import load_study_text
from trialkit.services import Context, authenticate, issue_token, read_form, unscheduled_visit
from trialkit.store import Database
from trialkit.web.demo_mode import DEMO_PASSWORD
from trialkit.web.redcap.mapping import ProjectMap

UCM = "psoriasis-ucmsc"
URL = "/redcap/api/"
P1 = "UCM-TEH-001"
AE_ROW = {
    "record_id": P1, "redcap_event_name": "v_w2_arm_1", "redcap_repeat_instrument": "ae",
    "ae_term": "Headache", "ae_onset": "2025-05-15", "ae_serious": "0",
    "ae_relation": "unlikely", "ae_outcome": "recovered", "ae_grade": "1",
    "ae_during_infusion": "0",
}  # fmt: skip


@pytest.fixture(scope="module")
def tokens(web_db: Database) -> dict[str, str]:
    op = Context.operator("test", NOW)
    return {
        user: issue_token(web_db, op, "r", username=user, study_code=UCM, redcap=True).token
        for user in ("dm.karimi", "n.rahimi")
    }


@pytest.fixture
def client(app: object) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        yield c


def _import(client: TestClient, token: str, rows: list[dict[str, str]], **extra: str) -> object:
    data = {"token": token, "content": "record", "format": "json", "data": json.dumps(rows),
            **extra}  # fmt: skip
    return client.post(URL, data=data)


def _export(client: TestClient, token: str, **extra: str) -> list[dict[str, str]]:
    r = client.post(URL, data={"token": token, "content": "record", "format": "json", **extra})
    assert r.status_code == 200, r.text
    rows = r.json()
    assert isinstance(rows, list)
    return rows


def test_the_mapping_names_repeating_groups_without_renaming_plain_fields() -> None:
    texts = dict(shipped_studies())
    adipose = ProjectMap(load_study_text(texts["psoriasis-adipose-exosomes.yaml"]))
    names = [i.name for i in adipose.instruments]
    # LESION has only its repeating group: the instrument is the form; LABS has both
    assert {"lesion", "labs", "labs_cytokines", "ae"} <= set(names)
    assert names.index("labs_cytokines") == names.index("labs") + 1
    assert adipose.instrument["labs_cytokines"].repeating
    assert not adipose.instrument["labs"].repeating
    assert adipose.by_name["cytokine_value"].instrument == "labs_cytokines"
    assert adipose.by_name["plaque_area"].instrument == "lesion"
    assert adipose.unscheduled_event == "unscheduled_arm_1"
    ucm = ProjectMap(load_study_text(texts["psoriasis-ucmsc.yaml"]))
    # the plain groups' names as before: weight on SCREEN, vitals_weight on VITALS
    assert (ucm.by_name["weight"].instrument, ucm.by_name["vitals_weight"].instrument) == (
        "screen",
        "vitals",
    )
    assert ucm.instrument["ae"].nested  # a repeating group of a repeating form


def test_adverse_events_are_a_repeating_instrument_both_ways(
    web_db: Database, client: TestClient, tokens: dict[str, str]
) -> None:
    nurse, manager = tokens["n.rahimi"], tokens["dm.karimi"]
    rows = [
        {**AE_ROW, "redcap_repeat_instance": "1"},
        {**AE_ROW, "redcap_repeat_instance": "2", "ae_term": "Nausea", "ae_grade": "2"},
    ]
    r = _import(client, nurse, rows, returnContent="ids")
    assert (r.status_code, r.json()) == (200, [P1])  # type: ignore[attr-defined]
    # each new instance is a new instance of the adverse-event form with that one row
    ctx = authenticate(web_db, "n.rahimi", DEMO_PASSWORD, NOW)
    second = read_form(web_db, ctx, UCM, P1, visit="V_W2", form_id="AE", instance_no=2)
    assert [row["ae_term"]["raw"] for row in second.data["AE"]] == ["Nausea"]
    select = {"records": P1, "events": "v_w2_arm_1", "forms": "ae"}
    got = _export(client, manager, **select)
    assert [(g["redcap_repeat_instrument"], g["redcap_repeat_instance"]) for g in got] == [
        ("ae", "1"),
        ("ae", "2"),
    ]
    assert (got[1]["ae_term"], got[1]["ae_grade"], got[1]["ae_complete"]) == ("Nausea", "2", "1")
    # csv and labels: the instrument's name, the event's name, code list labels
    r = client.post(URL, data={"token": manager, "content": "record", "format": "csv",
                               "rawOrLabel": "label", **select})  # fmt: skip
    labelled = list(csv.DictReader(io.StringIO(r.text)))
    assert labelled[0]["redcap_repeat_instrument"] == "Adverse events"
    assert labelled[0]["redcap_event_name"] == "Week 2"
    assert labelled[0]["ae_outcome"] == "Recovered or resolved"
    # eav: one row per value, with the repeat columns
    eav = _export(client, manager, type="eav", records=P1, events="v_w2_arm_1", fields="ae_term")
    assert {(e["redcap_repeat_instance"], e["value"]) for e in eav} == {
        ("1", "Headache"),
        ("2", "Nausea"),
    }
    # normal: a blank keeps the stored value; the change is audited with the import's reason
    change = {"record_id": P1, "redcap_event_name": "v_w2_arm_1",
              "redcap_repeat_instrument": "ae", "redcap_repeat_instance": "2",
              "ae_outcome": "recovering", "ae_term": ""}  # fmt: skip
    assert _import(client, nurse, [change]).json() == {"count": 1}  # type: ignore[attr-defined]
    row = _export(client, manager, records=P1, events="v_w2_arm_1", fields="ae_term,ae_outcome")[1]
    assert (row["ae_term"], row["ae_outcome"]) == ("Nausea", "recovering")
    log = client.post(URL, data={"token": manager, "content": "log", "format": "json",
                                 "record": P1}).json()  # fmt: skip
    assert "ae_outcome = 'recovering'" in log[0]["details"]
    assert "[instance = 2]" in log[0]["details"]
    assert "[reason: imported through the REDCap API]" in log[0]["details"]


def test_a_repeating_row_is_refused_with_the_reason_and_nothing_is_saved(
    client: TestClient, tokens: dict[str, str]
) -> None:
    nurse, manager = tokens["n.rahimi"], tokens["dm.karimi"]
    before = _export(client, manager, records=P1, forms="ae")
    good = {**AE_ROW, "redcap_event_name": "v_w4_arm_1", "redcap_repeat_instance": "1"}
    bad = {**good, "redcap_repeat_instance": "2", "ae_grade": "9"}
    r = _import(client, nurse, [good, bad])
    assert r.status_code == 400  # type: ignore[attr-defined]
    message = r.json()["error"]  # type: ignore[attr-defined]
    assert message.startswith(
        "nothing was imported: row 2 (record UCM-TEH-001, event v_w4_arm_1, instrument ae)"
    )
    assert "ae_grade" in message
    gap = {**good, "redcap_repeat_instance": "3"}
    r = _import(client, nurse, [gap])
    assert "names instance 3, but 0 exist there" in r.json()["error"]  # type: ignore[attr-defined]
    r = _import(client, nurse, [{**good, "redcap_repeat_instrument": ""}])
    assert "instrument ae repeats" in r.json()["error"]  # type: ignore[attr-defined]
    assert _export(client, manager, records=P1, forms="ae") == before


def test_unscheduled_visits_are_one_repeating_event(
    web_db: Database, client: TestClient, tokens: dict[str, str]
) -> None:
    nurse, manager = tokens["n.rahimi"], tokens["dm.karimi"]
    ctx = authenticate(web_db, "n.rahimi", DEMO_PASSWORD, NOW)
    key = unscheduled_visit(web_db, ctx, UCM, P1, date(2025, 5, 20), "a rash to review")
    seq = int(key.removeprefix("UNS-"))
    event = "unscheduled_arm_1"
    vitals = {"record_id": P1, "redcap_event_name": event, "redcap_repeat_instance": str(seq),
              "systolic_bp": "124", "diastolic_bp": "80", "heart_rate": "70",
              "temperature": "36.7"}  # fmt: skip
    ae = {**AE_ROW, "redcap_event_name": event, "redcap_repeat_instance": str(1000 * seq + 1),
          "ae_term": "Rash"}  # fmt: skip
    assert _import(client, nurse, [vitals, ae]).json() == {"count": 1}  # type: ignore[attr-defined]
    got = _export(client, manager, records=P1, events=event, fields="systolic_bp,ae_term")
    assert [
        (g["redcap_repeat_instrument"], g["redcap_repeat_instance"], g["systolic_bp"], g["ae_term"])
        for g in got
    ] == [("", str(seq), "124", ""), ("ae", str(1000 * seq + 1), "", "Rash")]
    # the hard check BP1 at an unscheduled visit, as at any other
    r = _import(client, nurse, [{**vitals, "systolic_bp": "70", "diastolic_bp": "90"}])
    assert "BP1" in r.json()["error"]  # type: ignore[attr-defined]
    # an unscheduled visit that was never recorded: refused with the way to record it
    r = _import(client, nurse, [{**vitals, "redcap_repeat_instance": str(seq + 1)}])
    assert "FORM.E009" in r.json()["error"]  # type: ignore[attr-defined]
    r = _import(client, nurse, [{**vitals, "redcap_repeat_instance": ""}])
    assert "give the unscheduled visit's number" in r.json()["error"]  # type: ignore[attr-defined]
    r = _import(client, nurse, [{**ae, "redcap_repeat_instance": "7"}])
    assert "is not" in r.json()["error"]  # type: ignore[attr-defined]
    assert "x the unscheduled visit's number" in r.json()["error"]  # type: ignore[attr-defined]
