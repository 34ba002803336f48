"""A save given its values as a function of the form and the stored data (``ValuesOf``): the
data-entry page's way to turn typed fields into values inside the save's own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from trialkit.protocol import Form
from trialkit.services import Context, FormConflict, consent, read_form, register, save_form
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
VITALS = {"systolic_bp": "118", "diastolic_bp": "76", "heart_rate": "72", "temperature": "36.60"}


@pytest.fixture
def code(db: Database, ctx: Context) -> str:
    p = register(db, ctx, UCM, "TEH")
    consent(db, ctx, UCM, p.code, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    return p.code


class Recorder:
    """A ``ValuesOf`` that records what it was given and returns ``values``/``missing``."""

    def __init__(self, values: Mapping[str, Any], missing: Mapping[str, Any] | None = None):
        self.values, self.missing = values, missing
        self.calls: list[tuple[Form, Mapping[str, Any]]] = []

    def __call__(
        self, form: Form, data: Mapping[str, Any]
    ) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
        self.calls.append((form, data))
        return self.values, self.missing


def test_a_new_form_is_given_its_definition_and_no_stored_data(
    db: Database, ctx: Context, code: str
) -> None:
    values_of = Recorder(VITALS)
    result = save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=values_of)
    [(form, data)] = values_of.calls
    assert form.id == "VITALS"
    assert data == {}
    assert result.version == 1
    stored = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert stored.data["VS"]["heart_rate"]["raw"] == "72"


def test_a_change_is_given_the_stored_text_as_entered_and_saves_what_it_returns(
    db: Database, ctx: Context, code: str
) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    changed = {**VITALS, "heart_rate": "80"}
    values_of = Recorder(changed, {})
    result = save_form(
        db,
        ctx,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values=values_of,
        expected_version=1,
        reason="transcription error",
    )
    [(_form, data)] = values_of.calls
    assert data["VS"]["heart_rate"]["raw"] == "72"  # what was stored, as the page showed it
    assert result.version == 2
    assert result.changed == ["VS/heart_rate"]


def test_its_missing_reasons_are_the_saves(db: Database, ctx: Context, code: str) -> None:
    values = {**VITALS, "temperature": ""}
    values_of = Recorder(values, {"temperature": "not_done"})
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=values_of)
    stored = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert stored.data["VS"]["temperature"]["missing"] == "not_done"


def test_missing_reasons_are_not_given_twice(db: Database, ctx: Context, code: str) -> None:
    with pytest.raises(TypeError, match="missing"):
        save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            values=Recorder(VITALS),
            missing={"temperature": "not_done"},
        )


def test_a_stale_save_is_refused_and_writes_nothing(db: Database, ctx: Context, code: str) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    with pytest.raises(FormConflict) as refused:
        save_form(
            db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=Recorder(VITALS)
        )  # opened as new, but entered since
    assert refused.value.current_version == 1
    assert read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS").version == 1
