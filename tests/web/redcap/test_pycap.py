"""PyCap itself (PyPI ``PyCap``, the dev extra) against the endpoint served by uvicorn.

One server per module on a fresh copy of the demo database (tests/web/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import NOW, SECRET, Clock, LiveServer, copy_demo

from trialkit.services import Context, issue_token
from trialkit.web import Settings, create_app

redcap = pytest.importorskip("redcap")

UCM = "psoriasis-ucmsc"


@pytest.fixture(scope="module")
def live(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("pycap"))
    op = Context.operator("test", NOW)
    token = issue_token(db, op, "pycap", username="dm.karimi", study_code=UCM, redcap=True).token
    nurse = issue_token(db, op, "pycap", username="n.rahimi", study_code=UCM, redcap=True).token
    server = LiveServer(create_app(Settings(secret_key=SECRET), db=db, clock=Clock(NOW)))
    try:
        yield server.url + "/redcap/api/", token + " " + nurse
    finally:
        server.stop()
        db.dispose()


def test_pycap_reads_and_writes_a_study(live: tuple[str, str]) -> None:
    url, tokens = live
    manager, nurse = tokens.split()
    project = redcap.Project(url, manager)
    assert str(project.export_version()) == "14.0.0"
    meta = project.export_metadata()
    assert meta[0]["field_name"] == "record_id"
    assert len(meta[0]) == 18
    assert project.def_field == "record_id"
    assert project.is_longitudinal
    assert project.export_project_info()["is_longitudinal"] == "1"
    assert {e["unique_event_name"] for e in project.export_instrument_event_mappings()} >= {
        "scr_arm_1",
        "fu12_arm_1",
    }
    rows = project.export_records(fields=["record_id", "systolic_bp"], events=["v_w2_arm_1"])
    teh = [(r["record_id"], r["systolic_bp"]) for r in rows if "-TEH-" in r["record_id"]]
    assert teh == [("UCM-TEH-001", "120")]  # Isfahan has simulated participants too

    entry = redcap.Project(url, nurse.lower())
    row = {"record_id": "UCM-TEH-001", "redcap_event_name": "v_w2_arm_1", "heart_rate": 66}
    assert entry.import_records([row]) == {"count": 1}
    assert entry.import_records([row], return_content="ids") == ["UCM-TEH-001"]
    again = project.export_records(records=["UCM-TEH-001"], fields=["heart_rate"])
    assert {r["redcap_event_name"]: r["heart_rate"] for r in again}["v_w2_arm_1"] == "66"
    with pytest.raises(redcap.RedcapError, match="BP1"):
        entry.import_records([{**row, "systolic_bp": 60, "diastolic_bp": 80}])

    pytest.importorskip("pandas")
    frame = project.export_records(format_type="df", fields=["record_id", "age"])
    assert frame.loc[("UCM-TEH-001", "scr_arm_1"), "age"] == 41
    log = project.export_logging(record="UCM-TEH-001")
    assert log[0]["username"] == "n.rahimi"


def test_pycap_reads_and_writes_a_repeating_instrument(live: tuple[str, str]) -> None:
    url, tokens = live
    manager, nurse = tokens.split()
    project = redcap.Project(url, manager)
    repeating = project.export_repeating_instruments_events()
    assert {"event_name": "v_w4_arm_1", "form_name": "ae", "custom_form_label": ""} in repeating
    assert {"event_name": "unscheduled_arm_1", "form_name": "", "custom_form_label": ""} in (
        repeating
    )
    assert "ae_term" in project.export_field_names(field="ae_term")[0]["export_field_name"]
    event = {
        "record_id": "UCM-TEH-002", "redcap_event_name": "v_w4_arm_1",
        "redcap_repeat_instrument": "ae", "redcap_repeat_instance": 1,
        "ae_term": "Headache", "ae_onset": "2025-05-20", "ae_serious": 0, "ae_grade": 1,
        "ae_relation": "unlikely", "ae_outcome": "recovered", "ae_during_infusion": 0,
    }  # fmt: skip
    entry = redcap.Project(url, nurse)
    assert entry.import_records([event, {**event, "redcap_repeat_instance": 2,
                                         "ae_term": "Dizziness"}]) == {"count": 1}  # fmt: skip
    rows = project.export_records(records=["UCM-TEH-002"], forms=["ae"], events=["v_w4_arm_1"])
    assert [(r["redcap_repeat_instrument"], r["redcap_repeat_instance"], r["ae_term"])
            for r in rows] == [("ae", "1", "Headache"), ("ae", "2", "Dizziness")]  # fmt: skip
    with pytest.raises(redcap.RedcapError, match="ae_grade"):
        entry.import_records([{**event, "redcap_repeat_instance": 3, "ae_grade": 9}])
