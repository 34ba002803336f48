"""Missing-data reasons: an empty item saved with why it is empty (not done, not applicable,
unknown), kept apart from the value, audited, and seen by rules and scores as missing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from trialkit.errors import ValidationFailed
from trialkit.services import Context, consent, read_form, register, save_form
from trialkit.services.forms import MISSING_REASONS
from trialkit.store import Database, canonical
from trialkit.store.tables import audit_log

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.60"}
LESION = {
    "lesion_site": "left elbow",
    "plaque_area": "4.0",
    "lesion_grade_v": "2",
    "erythema": "2",
    "scaling": "2",
    "induration": "1",
    "redness": "2",
    "pain_nrs": "3",
}


def _participant(db: Database, ctx: Context, study: str) -> str:
    p = register(db, ctx, study, "TEH")
    consent(db, ctx, study, p.code, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    return p.code


def _vitals(db: Database, ctx: Context, code: str, **kw: Any) -> Any:
    return save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", **kw)


def test_the_reasons_are_protocol_independent_codes() -> None:
    assert MISSING_REASONS == ("not_done", "not_applicable", "unknown")


def test_a_required_item_saved_empty_with_its_reason(db: Database, ctx: Context) -> None:
    code = _participant(db, ctx, UCM)
    values = {**VITALS, "temperature": ""}
    with pytest.raises(ValidationFailed) as err:
        _vitals(db, ctx, code, values=values)
    assert "give the reason it is missing" in err.value.errors["VS/temperature"][0]
    r = _vitals(db, ctx, code, values=values, missing={"temperature": "not_done"})
    assert r.version == 1
    rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    entry = rec.data["VS"]["temperature"]
    assert entry == {
        "raw": "",
        "value": None,
        "missing": "not_done",
        "type": "decimal",
        "pv": "1.0",
    }
    assert rec.values()["temperature"] is None  # rules and scores see a missing value
    with db.read() as conn:
        audited = conn.execute(
            sa.select(audit_log.c.new).where(
                audit_log.c.entity == "form_instance", audit_log.c.path == "VS/temperature"
            )
        ).scalar_one()
    assert canonical.loads(audited)["missing"] == "not_done"


def test_a_value_and_a_reason_together_are_refused(db: Database, ctx: Context) -> None:
    code = _participant(db, ctx, UCM)
    with pytest.raises(ValidationFailed) as err:
        _vitals(db, ctx, code, values=VITALS, missing={"temperature": "unknown"})
    assert err.value.code == "FORM.E010"
    assert "keep one" in err.value.errors["VS/temperature"][0]
    with pytest.raises(ValidationFailed) as err:
        _vitals(db, ctx, code, values={**VITALS, "temperature": ""}, missing={"temperature": "ND"})
    assert "not_done, not_applicable, unknown" in err.value.errors["VS/temperature"][0]
    with pytest.raises(ValidationFailed) as err:
        _vitals(db, ctx, code, values=VITALS, missing={"bogus": "unknown"})
    assert "no such item" in err.value.errors["bogus"][0]


def test_changing_a_reason_is_a_change_and_a_value_replaces_it(db: Database, ctx: Context) -> None:
    code = _participant(db, ctx, UCM)
    empty = {**VITALS, "temperature": ""}
    _vitals(db, ctx, code, values=empty, missing={"temperature": "not_done"})
    same = _vitals(
        db, ctx, code, values=empty, missing={"temperature": "not_done"}, expected_version=1
    )
    assert same.changed == []  # unchanged: no reason needed, nothing written
    with pytest.raises(ValidationFailed) as err:
        _vitals(db, ctx, code, values=empty, missing={"temperature": "unknown"}, expected_version=1)
    assert err.value.code == "FORM.E008"
    r = _vitals(
        db,
        ctx,
        code,
        values=empty,
        missing={"temperature": "unknown"},
        expected_version=1,
        reason="thermometer reading lost",
    )
    assert r.changed == ["VS/temperature"]
    # A re-save from stored values (missing not stated) keeps the reason of an item left empty.
    kept = _vitals(db, ctx, code, values=empty, expected_version=2)
    assert kept.changed == []
    r = _vitals(db, ctx, code, values=VITALS, expected_version=2, reason="found the reading")
    rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert "missing" not in rec.data["VS"]["temperature"]
    assert rec.data["VS"]["temperature"]["raw"] == "36.60"


def test_repeating_rows_take_reasons_per_row(db: Database, ctx: Context) -> None:
    code = _participant(db, ctx, PAE)
    rows = [
        {**LESION, "lesion_role": "treated"},
        {**LESION, "lesion_role": "control", "pain_nrs": ""},
    ]
    with pytest.raises(ValidationFailed) as err:
        save_form(db, ctx, PAE, code, visit="D1", form_id="LESION", values={"LESIONS": rows})
    assert list(err.value.errors) == ["LESIONS[2]/pain_nrs"]
    save_form(
        db,
        ctx,
        PAE,
        code,
        visit="D1",
        form_id="LESION",
        values={"LESIONS": rows},
        missing={"LESIONS": [{}, {"pain_nrs": "not_applicable"}]},
    )
    rec = read_form(db, ctx, PAE, code, visit="D1", form_id="LESION")
    assert rec.data["LESIONS"][1]["pain_nrs"]["missing"] == "not_applicable"
    assert "pain_nrs" not in rec.data["LESIONS"][0] or rec.data["LESIONS"][0]["pain_nrs"]["raw"]


def test_derived_items_take_no_reason(db: Database, ctx: Context) -> None:
    code = _participant(db, ctx, UCM)
    with pytest.raises(ValidationFailed) as err:
        save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="PASI",
            values={},
            missing={"pasi": "not_done"},
        )
    assert "takes no missing-data reason" in err.value.errors["PASI_SCORE/pasi"][0]
