"""What a data-entry page reads: the form's definition at the participant's protocol version,
its stored instance and open queries, and its history from the audit trail, per save."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from trialkit.errors import AccessDenied, NotFound, ValidationFailed
from trialkit.services import Context, Role, consent, open_query, register, save_form
from trialkit.services.form_views import form_history, form_view
from trialkit.store import Database

from .conftest import People

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}


@pytest.fixture
def code(db: Database, ctx: Context) -> str:
    p = register(db, ctx, UCM, "TEH")
    consent(db, ctx, UCM, p.code, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    return p.code


def test_the_view_gives_the_expanded_definition_and_the_stored_instance(
    db: Database, ctx: Context, code: str
) -> None:
    view = form_view(db, ctx, UCM, code, visit="SCR", form_id="PASI")
    names = [i.name for i in view.form.items()]
    assert "head_erythema" in names  # the instrument's items, written out
    assert "pasi" in names
    assert view.record is None
    assert view.visit_name == "Screening"
    assert view.may_write
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    open_query(
        db, ctx, UCM, code, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="Check it"
    )
    view = form_view(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert view.record is not None
    assert view.record.version == 1
    assert [q.text for q in view.queries] == ["Check it"]
    screen = form_view(db, ctx, UCM, code, visit="SCR", form_id="SCREEN")
    assert set(screen.codelists) == {"SEX"}
    with pytest.raises(ValidationFailed) as err:
        form_view(db, ctx, UCM, code, visit="SCR", form_id="VITALS", instance_no=2)
    assert err.value.code == "FORM.E006"
    with pytest.raises(NotFound):
        form_view(db, ctx, UCM, code, visit="SCR", form_id="NOPE")


def test_the_history_has_one_entry_per_save_with_who_when_and_why(
    db: Database, ctx: Context, code: str
) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    later = Context(ctx.principal, ctx.as_of + timedelta(hours=1))
    save_form(
        db,
        later,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "heart_rate": "70", "temperature": ""},
        missing={"temperature": "not_done"},
        expected_version=1,
        reason="re-measured",
    )
    saves = form_history(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert [(s.action, s.reason, s.actor) for s in saves] == [
        ("enter", None, "dr.amini"),
        ("change", "re-measured", "dr.amini"),
    ]
    assert saves[1].at == later.as_of
    changed = {c.path: (c.old, c.new) for c in saves[1].changes}
    assert set(changed) == {"VS/heart_rate", "VS/temperature"}
    assert changed["VS/heart_rate"][0]["raw"] == "72"
    assert changed["VS/heart_rate"][1]["raw"] == "70"
    assert changed["VS/temperature"][1]["missing"] == "not_done"
    assert len(saves[0].changes) == 4
    with pytest.raises(NotFound) as err:
        form_history(db, ctx, UCM, code, visit="SCR", form_id="LABS")
    assert err.value.code == "FORM.E012"


def test_role_and_site_are_checked(db: Database, ctx: Context, code: str, person: People) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    monitor = person("mon", UCM, Role.MONITOR, site="TEH")
    view = form_view(db, monitor, UCM, code, visit="SCR", form_id="VITALS")
    assert not view.may_write
    assert form_history(db, monitor, UCM, code, visit="SCR", form_id="VITALS")
    from trialkit.services import add_site

    add_site(db, ctx, UCM, "ISF", "Isfahan")
    elsewhere = person("isf", UCM, Role.COORDINATOR, site="ISF")
    with pytest.raises(AccessDenied):
        form_view(db, elsewhere, UCM, code, visit="SCR", form_id="VITALS")
    with pytest.raises(AccessDenied):
        form_history(db, elsewhere, UCM, code, visit="SCR", form_id="VITALS")
