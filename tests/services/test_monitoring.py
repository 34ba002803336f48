"""Source data verification through the service layer, on both databases, with real users."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trialkit.errors import AccessDenied, NotFound, ValidationFailed
from trialkit.services import (
    Context,
    Role,
    lock,
    save_form,
    sdv_status,
    verify,
)
from trialkit.services.monitoring import CHANGED, NOT_VERIFIED, VERIFIED, WHOLE_FORM
from trialkit.store import Database
from trialkit.store import verify as verify_audit

UCM = "psoriasis-ucmsc"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}
People = Callable[..., Context]


def audit_ok(db: Database) -> bool:
    with db.read() as conn:
        return verify_audit(conn).ok


def test_a_change_clears_the_marks_it_touches_and_says_so(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    marks = verify(
        db,
        monitor,
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        items=["VS/systolic_bp", "VS/heart_rate"],
    )
    assert [(m.item, m.form_version, m.verified_by) for m in marks] == [
        ("VS/systolic_bp", 1, "monitor.all"),
        ("VS/heart_rate", 1, "monitor.all"),
    ]
    verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")  # the whole form
    status = sdv_status(db, nurse, UCM, teh, visit="SCR", form_id="VITALS")
    assert status.form.state == VERIFIED
    assert status.fully_verified
    assert status.items["VS/systolic_bp"].verified_by == "monitor.all"

    r = save_form(
        db,
        nurse.at(nurse.as_of.replace(hour=11)),
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "systolic_bp": "125"},
        expected_version=1,
        reason="transcription error",
    )
    assert "source data verification cleared: VS/systolic_bp, the whole form" in r.notes
    status = sdv_status(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")
    assert status.version == 2
    changed = status.items["VS/systolic_bp"]
    assert changed.state == CHANGED
    assert changed.cleared_reason == "item VS/systolic_bp changed by nurse.teh at form version 2"
    assert changed.cleared_at is not None
    assert changed.cleared_at.hour == 11
    assert changed.form_version == 1
    assert status.form.state == CHANGED
    assert (
        status.form.cleared_reason == "item VS/systolic_bp changed by nurse.teh at form version 2"
    )
    # The unchanged item keeps its own mark; one covered only by the form mark is not verified.
    assert status.items["VS/heart_rate"].state == VERIFIED
    assert status.items["VS/diastolic_bp"].state == NOT_VERIFIED
    assert not status.fully_verified

    # Verified again: the new mark records the version it saw.
    verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS", items=["VS/systolic_bp"])
    again = sdv_status(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")
    assert again.items["VS/systolic_bp"].state == VERIFIED
    assert again.items["VS/systolic_bp"].form_version == 2
    assert audit_ok(db)


def test_verifying_twice_keeps_the_first_mark(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    first = verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")
    second = verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")
    assert [m.id for m in first] == [m.id for m in second]
    assert first[0].item == WHOLE_FORM


def test_only_monitors_verify_and_only_at_their_sites(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    dm = person("dm.all", UCM, Role.DATA_MANAGER)
    monitor_teh = person("monitor.teh", UCM, Role.MONITOR, site="TEH")
    for who in (nurse, dm):
        with pytest.raises(AccessDenied) as denied:
            verify(db, who, UCM, teh, visit="SCR", form_id="VITALS")
        assert "mark source data verified" in str(denied.value)
    with pytest.raises(AccessDenied) as denied:
        verify(db, monitor_teh, UCM, isf, visit="SCR", form_id="VITALS")
    assert "at site ISF" in str(denied.value)
    with pytest.raises(AccessDenied):
        sdv_status(db, nurse, UCM, isf, visit="SCR", form_id="VITALS")
    assert verify(db, monitor_teh, UCM, teh, visit="SCR", form_id="VITALS")


def test_items_are_validated_and_locked_data_may_be_verified(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    dm = person("dm.all", UCM, Role.DATA_MANAGER)
    with pytest.raises(ValidationFailed) as err:
        verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS", items=["VS/pulse"])
    assert err.value.code == "FORM.E020"
    assert "VS/heart_rate" in str(err.value)
    with pytest.raises(NotFound) as missing:
        verify(db, monitor, UCM, teh, visit="SCR", form_id="LABS")
    assert missing.value.code == "FORM.E012"
    lock(db, dm, UCM, scope="participant", participant=teh, reason="interim analysis")
    assert verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")[0].form_version == 1
    assert audit_ok(db)
