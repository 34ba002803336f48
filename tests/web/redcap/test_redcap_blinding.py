"""Blinding through the REDCap endpoint: the demo's psoriasis-ucmsc study amended to a masked
design (protocol version 1.1). A blinded data manager's export and log carry no dose amount or
basis from the administration form; the safety board, who sees allocations, gets them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import NOW, SECRET, Clock, copy_demo

from trialkit.protocol import shipped_studies
from trialkit.services import Context, issue_token, load_study
from trialkit.web import Settings, create_app

UCM = "psoriasis-ucmsc"


@pytest.fixture(scope="module")
def masked(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("masked"))
    op = Context.operator("test", NOW)
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    text = text.replace('protocol_version: "1.0"', 'protocol_version: "1.1"', 1).replace(
        "masking: {level: none, placebo: false, description: Open label}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    load_study(db, op, text)
    tokens = {
        u: issue_token(db, op, "b", username=u, study_code=UCM, redcap=True).token
        for u in ("dm.karimi", "dsmb.safavi")
    }
    with TestClient(create_app(Settings(secret_key=SECRET), db=db, clock=Clock(NOW))) as client:
        yield client, tokens
    db.dispose()


def test_a_blinded_reader_gets_no_dose_amount_or_basis(masked: object) -> None:
    client, tokens = masked  # type: ignore[misc]
    data = {
        "content": "record",
        "format": "json",
        "records": "UCM-TEH-001",
        "events": "v_w0_arm_1",
        "fields": "infusion_start,cells_given,infusion_weight",
    }
    (blind,) = client.post("/redcap/api/", data={**data, "token": tokens["dm.karimi"]}).json()
    (board,) = client.post("/redcap/api/", data={**data, "token": tokens["dsmb.safavi"]}).json()
    assert blind["infusion_start"] == board["infusion_start"] == "2025-04-30 09:30:00"
    assert (blind["cells_given"], blind["infusion_weight"]) == ("", "")
    assert (board["cells_given"], board["infusion_weight"]) == ("137000000", "68.5")
    log = {"content": "log", "format": "json", "record": "UCM-TEH-001"}
    blind_log = client.post("/redcap/api/", data={**log, "token": tokens["dm.karimi"]}).json()
    board_log = client.post("/redcap/api/", data={**log, "token": tokens["dsmb.safavi"]}).json()
    assert not any("cells_given" in e["details"] for e in blind_log)
    assert any("cells_given" in e["details"] for e in board_log)
