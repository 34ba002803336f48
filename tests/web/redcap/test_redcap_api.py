"""The REDCap-compatible endpoint over HTTP, with the request shapes PyCap and REDCapR send.

PyCap 2.7 (redcap/methods/records.py) sends list parameters as ``fields[0]=...`` and the token
as issued; REDCapR 1.x (R/redcap-read-oneshot.R) sends them comma-joined, ``format=csv``,
``returnFormat=csv`` and upper-cases the token. The database is a copy of the demo database
(open-label psoriasis-ucmsc study; UCM-TEH-001 and UCM-TEH-002 enrolled at TEH).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import NOW

from trialkit.services import Context, add_membership, create_user, issue_token
from trialkit.store import Database
from trialkit.web.redcap.metadata import METADATA_COLUMNS

UCM = "psoriasis-ucmsc"
URL = "/redcap/api/"
P1, P2 = "UCM-TEH-001", "UCM-TEH-002"


@pytest.fixture(scope="module")
def tokens(web_db: Database) -> dict[str, str]:
    op = Context.operator("test", NOW)
    create_user(web_db, op, "stat.isf", "a-long-password-1", display_name="ISF statistician")
    add_membership(web_db, op, "stat.isf", UCM, "statistician", site_code="ISF")
    return {
        user: issue_token(web_db, op, "r", username=user, study_code=UCM, redcap=True).token
        for user in ("dm.karimi", "n.rahimi", "s.ahmadi", "stat.isf")
    }


@pytest.fixture
def client(app: object) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        yield c


def redcapr_read(token: str, records: str, fields: str) -> dict[str, str]:
    """The body REDCapR's redcap_read_oneshot posts (R/redcap-read-oneshot.R)."""
    return {
        "token": token.upper(), "content": "record", "format": "csv", "type": "flat",
        "rawOrLabel": "raw", "rawOrLabelHeaders": "raw", "exportCheckboxLabel": "false",
        "exportSurveyFields": "false", "exportDataAccessGroups": "false", "filterLogic": "",
        "records": records, "fields": fields,
    }  # fmt: skip


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_redcap_token_is_32_hexadecimal_characters_compared_in_any_case(
    client: TestClient, tokens: dict[str, str]
) -> None:
    token = tokens["dm.karimi"]
    assert len(token) == 32
    assert int(token, 16) >= 0
    for given in (token, token.lower()):
        r = client.post(URL, data={"token": given, "content": "version"})
        assert (r.status_code, r.text) == (200, "14.0.0")
    r = client.post(URL, data={"token": "0" * 32, "content": "version", "format": "json"})
    assert r.status_code == 403
    assert "AUTH.E033" in r.json()["error"]
    r = client.post(URL, data={"content": "metadata", "format": "csv"})
    assert r.status_code == 403
    assert r.text.startswith("ERROR: AUTH.E033")


def test_tk_tokens_and_redcap_tokens_each_open_their_own_door(
    web_db: Database, client: TestClient, tokens: dict[str, str]
) -> None:
    from trialkit.errors import AccessDenied
    from trialkit.services import context_for_token

    with pytest.raises(AccessDenied):
        context_for_token(web_db, tokens["dm.karimi"], NOW)
    op = Context.operator("test", NOW)
    tk = issue_token(web_db, op, "x", username="dm.karimi", study_code=UCM).token
    assert client.post(URL, data={"token": tk, "content": "project"}).status_code == 403


def test_metadata_is_the_18_column_dictionary_of_the_protocols_forms(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.post(
        URL, data={"token": tokens["n.rahimi"], "content": "metadata", "format": "json"}
    )
    meta = r.json()
    assert r.status_code == 200
    assert len(METADATA_COLUMNS) == 18
    assert all(tuple(row) == METADATA_COLUMNS for row in meta)
    first = meta[0]
    assert (first["field_name"], first["form_name"]) == ("record_id", "consent")
    by = {m["field_name"]: m for m in meta}
    assert by["sex"]["field_type"] == "radio"
    assert by["sex"]["select_choices_or_calculations"] == "female, Female | male, Male"
    assert by["age"]["text_validation_type_or_show_slider_number"] == "integer"
    assert (by["age"]["text_validation_min"], by["age"]["text_validation_max"]) == ("0", "120")
    assert by["age"]["field_note"] == "years"
    assert by["age"]["required_field"] == "y"
    assert by["pasi"]["field_type"] == "calc"
    assert by["weight"]["form_name"] == "screen"
    assert by["vitals_weight"]["form_name"] == "vitals"
    # a repeating item group is a repeating instrument (the adverse-event form's one group)
    assert (by["ae_term"]["form_name"], by["ae_term"]["field_type"]) == ("ae", "text")
    # REDCapR's shape: comma-joined, csv
    r = client.post(
        URL,
        data={"token": tokens["n.rahimi"].upper(), "content": "metadata", "format": "csv",
              "returnFormat": "csv", "forms": "vitals,labs"},
    )  # fmt: skip
    got = rows_of(r.text)
    assert {m["form_name"] for m in got} == {"vitals", "labs"}
    assert list(got[0]) == list(METADATA_COLUMNS)


def test_events_arms_instruments_and_mappings(client: TestClient, tokens: dict[str, str]) -> None:
    def ask(content: str, **extra: str) -> object:
        data = {"token": tokens["n.rahimi"], "content": content, "format": "json", **extra}
        r = client.post(URL, data=data)
        assert r.status_code == 200, r.text
        return r.json()

    events = ask("event")
    assert isinstance(events, list)
    assert events[0]["unique_event_name"] == "scr_arm_1"
    assert events[2]["days_offset"] == "14"
    assert (events[2]["offset_min"], events[2]["offset_max"]) == ("2", "2")
    assert ask("arm") == [{"arm_num": "1", "name": "Arm 1"}]  # a schedule, never the allocation
    assert {"instrument_name": "vitals", "instrument_label": "Vital signs"} in ask("instrument")
    mapping = ask("formEventMapping")
    assert {"arm_num": "1", "unique_event_name": "v_w2_arm_1", "form": "infusion"} in mapping
    repeating = ask("repeatingFormsEvents")
    assert {"event_name": "v_w2_arm_1", "form_name": "ae", "custom_form_label": ""} in repeating
    # the unscheduled visits: one repeating event (REDCap's form_name empty)
    assert {"event_name": "unscheduled_arm_1", "form_name": "", "custom_form_label": ""} in (
        repeating
    )
    assert {e["unique_event_name"] for e in events} >= {"unscheduled_arm_1"}
    assert ask("exportFieldNames", field="age") == [
        {"original_field_name": "age", "choice_value": "", "export_field_name": "age"}
    ]
    project = ask("project")
    assert isinstance(project, dict)
    assert project["is_longitudinal"] == "1"


def test_record_export_flat_with_pycap_list_shapes_and_labels(
    client: TestClient, tokens: dict[str, str]
) -> None:
    data = {
        "token": tokens["dm.karimi"], "content": "record", "format": "json", "type": "flat",
        "fields[0]": "record_id", "fields[1]": "sex", "forms[0]": "vitals",
        "events[0]": "scr_arm_1", "records[0]": P1, "rawOrLabel": "label",
    }  # fmt: skip
    r = client.post(URL, data=data)
    assert r.status_code == 200, r.text
    (row,) = r.json()
    assert row["record_id"] == P1
    assert row["redcap_event_name"] == "Screening"
    assert (row["sex"], row["systolic_bp"], row["vitals_complete"]) == (
        "Female",
        "120",
        "Unverified",
    )
    assert "age" not in row
    assert "screen_complete" not in row
    # REDCapR 1.x redcap_read_oneshot's post body: comma-joined lists, csv, upper-case token
    r = client.post(URL, data=redcapr_read(tokens["dm.karimi"], f"{P1},{P2}",
                                           "record_id,infusion_start,sex"))  # fmt: skip
    got = rows_of(r.text)
    assert list(got[0]) == [
        "record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
        "sex", "infusion_start",
    ]  # fmt: skip
    assert {g["record_id"] for g in got} == {P1, P2}
    w0 = next(g for g in got if g["record_id"] == P1 and g["redcap_event_name"] == "v_w0_arm_1")
    assert w0["infusion_start"] == "2025-04-30 09:30:00"


def test_record_export_eav(client: TestClient, tokens: dict[str, str]) -> None:
    data = {"token": tokens["dm.karimi"], "content": "record", "format": "json", "type": "eav",
            "records": P1, "fields": "age"}  # fmt: skip
    assert client.post(URL, data=data).json() == [
        {"record": P1, "redcap_event_name": "scr_arm_1", "redcap_repeat_instrument": "",
         "redcap_repeat_instance": "", "field_name": "age", "value": "41"}
    ]  # fmt: skip


def test_record_export_keeps_to_the_callers_sites_and_role(
    client: TestClient, tokens: dict[str, str]
) -> None:
    data = {"content": "record", "format": "json", "fields": "record_id"}
    isf = client.post(URL, data={**data, "token": tokens["stat.isf"]}).json()
    assert isf  # the demo's simulated participants at Isfahan
    assert {row["record_id"].split("-")[1] for row in isf} == {"ISF"}  # never Tehran's
    r = client.post(URL, data={**data, "token": tokens["n.rahimi"]})  # a coordinator: no export
    assert r.status_code == 403
    assert "AUTH.E010" in r.json()["error"]


def test_errors_are_in_the_requested_format_with_400(
    client: TestClient, tokens: dict[str, str]
) -> None:
    token = tokens["dm.karimi"]
    r = client.post(URL, data={"token": token, "content": "record", "fields": "nope"})
    assert r.status_code == 400
    assert r.json() == {"error": "the following fields are not in the project: nope; see "
                        "content=metadata"}  # fmt: skip
    r = client.post(URL, data={"token": token, "content": "surveyLink", "format": "csv"})
    assert r.status_code == 400
    assert r.text.startswith("ERROR: content 'surveyLink' is not served")
    r = client.post(URL, data={"token": token, "content": "record", "filterLogic": "[age]>40"})
    assert r.json()["error"].startswith("filterLogic is not supported here")
    r = client.post(URL, data={"token": token, "content": "metadata", "format": "xml"})
    assert r.status_code == 400
    assert "xml is not supported" in r.json()["error"]


def _import(client: TestClient, token: str, rows: list[dict[str, str]], **extra: str) -> object:
    data = {"token": token, "content": "record", "format": "json", "type": "flat",
            "overwriteBehavior": "normal", "returnContent": "count", "data": json.dumps(rows),
            **extra}  # fmt: skip
    return client.post(URL, data=data)


def test_import_goes_through_the_validated_audited_save(
    client: TestClient, tokens: dict[str, str]
) -> None:
    nurse = tokens["n.rahimi"]
    good = {"record_id": P1, "redcap_event_name": "v_w2_arm_1", "heart_rate": "72"}
    bad = {"record_id": P2, "redcap_event_name": "v_w0_arm_1", "systolic_bp": "70",
           "diastolic_bp": "90"}  # fmt: skip
    r = _import(client, nurse, [good, bad])
    assert r.status_code == 400  # the hard check BP1 refuses the row, and nothing is saved
    message = r.json()["error"]
    assert message.startswith("nothing was imported: row 2 (record UCM-TEH-002, event v_w0_arm_1")
    assert "FORM.E011" in message
    assert "BP1" in message
    r = _import(client, nurse, [good], returnContent="ids")
    assert (r.status_code, r.json()) == (200, [P1])
    export = {"token": tokens["dm.karimi"], "content": "record", "format": "json",
              "records": P1, "events": "v_w2_arm_1",
              "fields": "heart_rate,systolic_bp"}  # fmt: skip
    (row,) = client.post(URL, data=export).json()
    assert (row["heart_rate"], row["systolic_bp"]) == ("72", "120")  # normal: blanks keep
    r = _import(client, nurse, [{**good, "temperature": "not_done", "weight": ""}])
    assert r.json() == {"count": 1}
    r = _import(client, nurse, [{**good, "vitals_weight": ""}], overwriteBehavior="overwrite")
    assert r.json() == {"count": 1}
    (row,) = client.post(URL, data={**export, "fields": "temperature,vitals_weight"}).json()
    assert (row["temperature"], row["vitals_weight"]) == ("not_done", "")
    log = client.post(
        URL, data={"token": tokens["dm.karimi"], "content": "log", "format": "json",
                   "record": P1, "user": "n.rahimi"},
    ).json()  # fmt: skip
    assert log[0]["action"] == f"Update record {P1}"
    assert "[reason: imported through the REDCap API]" in log[0]["details"]
    assert any("heart_rate = '72'" in e["details"] for e in log)


def test_import_respects_site_and_says_what_is_wrong(
    client: TestClient, tokens: dict[str, str]
) -> None:
    isf = tokens["s.ahmadi"]
    row = {"record_id": P1, "redcap_event_name": "v_w2_arm_1", "heart_rate": "80"}
    r = _import(client, isf, [row])  # another site's record: as one that does not exist
    missing = _import(client, isf, [{**row, "record_id": "UCM-TEH-999"}])
    assert r.status_code == missing.status_code == 400
    assert "(PART.E003): study psoriasis-ucmsc: no participant 'UCM-TEH-001'" in r.json()["error"]
    assert r.text.replace(P1, "X") == missing.text.replace("UCM-TEH-999", "X")
    r = _import(client, tokens["dm.karimi"], [row])  # a role that enters no data: refused first
    assert r.status_code == 403
    assert "AUTH.E010" in r.json()["error"]
    r = _import(client, tokens["n.rahimi"], [{**row, "heart_rat": "80"}])
    assert r.json()["error"] == "row 1 (record UCM-TEH-001): not fields of the project: heart_rat"
    r = _import(client, tokens["n.rahimi"], [{**row, "redcap_event_name": "w2"}], format="json")
    assert "redcap_event_name 'w2' is not an event" in r.json()["error"]
    csv_data = "record_id,redcap_event_name,heart_rate\nUCM-TEH-001,v_w2_arm_1,500\n"
    r = client.post(
        URL,
        data={"token": tokens["n.rahimi"], "content": "record", "format": "csv",
              "returnFormat": "csv", "data": csv_data, "returnContent": "ids"},
    )  # fmt: skip
    assert r.status_code == 400
    assert r.text.startswith("ERROR: nothing was imported")
    assert "out of range" in r.text


def test_a_redcapr_write_overwrites_and_returns_the_ids(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """REDCapR's redcap_write_oneshot: R's write.csv (every cell quoted, NA as empty),
    overwriteBehavior=overwrite, returnContent=ids, returnFormat=csv; it reads the ids as the
    lines after the first."""
    data = (
        '"record_id","redcap_event_name","heart_rate","temperature","vitals_complete"\n'
        '"UCM-TEH-002","v_w0_arm_1","64","36.9","1"'
    )
    body = {"token": tokens["n.rahimi"].upper(), "content": "record", "format": "csv",
            "type": "flat", "data": data, "overwriteBehavior": "overwrite",
            "returnContent": "ids", "returnFormat": "csv"}  # fmt: skip
    r = client.post(URL, data=body)
    assert (r.status_code, r.text.split("\n")[:2]) == (200, ["id", P2])
    got = rows_of(client.post(URL, data=redcapr_read(tokens["dm.karimi"], P2, "heart_rate")).text)
    assert {g["redcap_event_name"]: g["heart_rate"] for g in got}["v_w0_arm_1"] == "64"


def test_the_endpoint_is_exempt_from_csrf_and_the_pages_are_not(
    client: TestClient, tokens: dict[str, str]
) -> None:
    client.cookies.set("csrftoken", "forged")
    client.cookies.set("trialkit_session", "whatever")
    r = client.post(URL, data={"token": tokens["n.rahimi"], "content": "arm", "format": "json"})
    assert r.status_code == 200
    assert "set-cookie" not in r.headers
    r = client.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert "WEB.E020" in r.text
    r = client.post("/redcap/api/x", data={"token": tokens["n.rahimi"]})
    assert r.status_code == 403


def test_token_create_redcap_needs_a_study(web_db: Database) -> None:
    from trialkit.errors import ValidationFailed

    op = Context.operator("test", datetime(2025, 6, 2, 10))
    with pytest.raises(ValidationFailed) as caught:
        issue_token(web_db, op, "r", username="dm.karimi", redcap=True)
    assert caught.value.code == "AUTH.E037"
