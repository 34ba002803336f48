"""Locks through the service layer, on both databases, with real users: every write path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from trialkit.errors import AccessDenied, ConflictError, LockedError, ValidationFailed
from trialkit.protocol import dump_study, resolve_study
from trialkit.services import (
    Context,
    Role,
    consent,
    lock,
    locks,
    mark_not_required,
    miss_visit,
    open_query,
    record_dose,
    record_visit,
    register,
    save_form,
    screen,
    screen_fail,
    unlock,
    unscheduled_visit,
)
from trialkit.services.amendments import apply_version
from trialkit.store import Database
from trialkit.store import verify as verify_audit

from .conftest import load_approved

UCM = "psoriasis-ucmsc"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}
People = Callable[..., Context]
HINT = "ask a data manager to unlock it"


def audit_ok(db: Database) -> bool:
    with db.read() as conn:
        return verify_audit(conn).ok


def change_vitals(db: Database, who: Context, code: str, version: int) -> int:
    r = save_form(
        db,
        who,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "heart_rate": str(70 + version)},
        expected_version=version,
        reason="re-measured",
    )
    return r.version


def test_a_locked_form_refuses_changes_and_accepts_them_after_unlock(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    dm = person("dm.all", UCM, Role.DATA_MANAGER)
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    held = lock(
        db,
        dm,
        UCM,
        scope="form",
        participant=teh,
        visit="SCR",
        form_id="VITALS",
        reason="cleaned for the interim analysis",
    )
    assert held.target == f"form VITALS at visit SCR of participant {teh}"
    with pytest.raises(LockedError) as err:
        change_vitals(db, nurse, teh, 1)
    assert err.value.code == "LOCK.E003"
    assert str(err.value) == (
        f"form VITALS at visit SCR of participant {teh} is locked by dm.all since "
        "2025-03-03 09:00 (reason: cleaned for the interim analysis): nothing can be changed "
        f"there ({HINT})"
    )
    # Another form of the participant is not locked.
    save_form(
        db,
        nurse,
        UCM,
        teh,
        visit="SCR",
        form_id="SCREEN",
        values={"screening_date": "2025-03-03", "age": "45", "sex": "female", "weight": "70"}
        | {"bsa_percent": "12"},
        expected_version=1,
        reason="age corrected",
    )
    released = unlock(
        db, dm, UCM, scope="form", participant=teh, visit="SCR", form_id="VITALS", reason="query"
    )
    assert (released.unlocked_by, released.unlock_reason) == ("dm.all", "query")
    assert change_vitals(db, nurse, teh, 1) == 2
    assert audit_ok(db)


def test_a_locked_participant_refuses_every_write_path(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    dm = person("dm.teh", UCM, Role.DATA_MANAGER, site="TEH")
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    admin = person("admin.ucm", UCM, Role.ADMINISTRATOR)
    amended = dump_study(resolve_study(UCM).model_copy(update={"protocol_version": "1.1"}))
    approved = load_approved(db, admin, UCM, amended)
    lock(db, dm, UCM, scope="participant", participant=teh, reason="withdrawal under review")
    on = date(2025, 3, 4)
    attempts: dict[str, Callable[[], object]] = {
        "save_form": lambda: change_vitals(db, nurse, teh, 1),
        "new form": lambda: save_form(db, nurse, UCM, teh, visit="SCR", form_id="PASI", values={}),
        "mark_not_required": lambda: mark_not_required(
            db, nurse, UCM, teh, visit="SCR", form_id="LABS", reason="not drawn"
        ),
        "record_dose": lambda: record_dose(
            db,
            nurse,
            UCM,
            teh,
            event_id="W0",
            given_at=datetime(2025, 3, 4, 10),
            given_amount="1",
            given_unit="x",
            product_lot="L1",
        ),
        "record_visit": lambda: record_visit(db, nurse, UCM, teh, "SCR", on),
        "miss_visit": lambda: miss_visit(db, nurse, UCM, teh, "SCR", "ill"),
        "unscheduled_visit": lambda: unscheduled_visit(db, nurse, UCM, teh, on, "rash"),
        "consent": lambda: consent(
            db, nurse, UCM, teh, on=on, form_version="1.0", obtained_by="dr.teh"
        ),
        "screen_fail": lambda: screen_fail(db, nurse, UCM, teh, "not eligible"),
        "screen": lambda: screen(db, nurse, UCM, teh),
        "apply_version": lambda: apply_version(db, admin, UCM, approved, teh, "re-consent"),
        "open_query": lambda: open_query(
            db, doctor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="?"
        ),
    }
    for name, attempt in attempts.items():
        with pytest.raises(LockedError) as err:
            attempt()
        assert err.value.code == "LOCK.E002", name
        assert f"participant {teh} is locked by dm.teh" in str(err.value), name
        assert "withdrawal under review" in str(err.value), name
        assert err.value.hint == HINT, name
    [held] = locks(db, nurse, UCM)
    assert (held.scope, held.participant, held.site) == ("participant", teh, "TEH")
    unlock(db, dm, UCM, scope="participant", participant=teh, reason="review done")
    assert locks(db, nurse, UCM) == []
    assert consent(db, nurse, UCM, teh, on=on, form_version="1.0", obtained_by="dr.teh")
    assert change_vitals(db, nurse, teh, 1) == 2
    assert audit_ok(db)


def test_a_locked_study_refuses_registration_and_data(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    dm = person("dm.all", UCM, Role.DATA_MANAGER)
    dm_teh = person("dm.teh", UCM, Role.DATA_MANAGER, site="TEH")
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    with pytest.raises(AccessDenied) as denied:
        lock(db, dm_teh, UCM, scope="study", reason="final lock")
    assert "lock and unlock records at every site" in str(denied.value)
    lock(db, dm, UCM, scope="study", reason="final database lock")
    with pytest.raises(LockedError) as err:
        register(db, nurse, UCM, "TEH")
    assert err.value.code == "LOCK.E001"
    assert f"study {UCM} is locked by dm.all" in str(err.value)
    with pytest.raises(LockedError):
        change_vitals(db, nurse, teh, 1)
    # The broadest lock is named first; the others are mentioned.
    lock(db, dm, UCM, scope="participant", participant=teh, reason="SAE review")
    with pytest.raises(LockedError) as both:
        change_vitals(db, nurse, teh, 1)
    assert both.value.code == "LOCK.E001"
    assert f"participant {teh} is locked too" in str(both.value)
    assert [x.scope for x in locks(db, dm_teh, UCM)] == ["study", "participant"]
    unlock(db, dm, UCM, scope="study", reason="reopened for a query")
    with pytest.raises(LockedError):
        change_vitals(db, nurse, teh, 1)
    assert register(db, nurse, UCM, "TEH").code
    unlock(db, dm, UCM, scope="participant", participant=teh, reason="done")
    assert change_vitals(db, nurse, teh, 1) == 2
    assert isf
    assert audit_ok(db)


def test_who_may_lock_and_where(db: Database, person: People, sites: tuple[str, str]) -> None:
    teh, isf = sites
    dm_teh = person("dm.teh", UCM, Role.DATA_MANAGER, site="TEH")
    dm_isf = person("dm.isf", UCM, Role.DATA_MANAGER, site="ISF")
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    monitor = person("monitor.all", UCM, Role.MONITOR)
    # A data manager can lock but not enter data; a coordinator or monitor cannot lock.
    with pytest.raises(AccessDenied):
        change_vitals(db, dm_teh, teh, 1)
    for who in (nurse, monitor):
        with pytest.raises(AccessDenied) as denied:
            lock(db, who, UCM, scope="participant", participant=teh, reason="x")
        assert "lock and unlock records" in str(denied.value)
    with pytest.raises(AccessDenied) as denied:
        lock(db, dm_teh, UCM, scope="participant", participant=isf, reason="x")
    assert "at site ISF" in str(denied.value)
    lock(db, dm_teh, UCM, scope="participant", participant=teh, reason="a")
    lock(db, dm_isf, UCM, scope="participant", participant=isf, reason="b")
    assert [x.participant for x in locks(db, dm_teh, UCM)] == [teh]
    assert [x.participant for x in locks(db, monitor, UCM)] == [teh, isf]
    with pytest.raises(AccessDenied):
        unlock(db, dm_teh, UCM, scope="participant", participant=isf, reason="x")


def test_refusals_of_lock_and_unlock(db: Database, person: People, sites: tuple[str, str]) -> None:
    teh, _ = sites
    dm = person("dm.all", UCM, Role.DATA_MANAGER)
    lock(db, dm, UCM, scope="participant", participant=teh, reason="review")
    with pytest.raises(ConflictError) as twice:
        lock(db, dm, UCM, scope="participant", participant=teh, reason="again")
    assert twice.value.code == "LOCK.E010"
    assert "already locked by dm.all" in str(twice.value)
    with pytest.raises(ConflictError) as free:
        unlock(
            db, dm, UCM, scope="form", participant=teh, visit="SCR", form_id="VITALS", reason="x"
        )
    assert free.value.code == "LOCK.E011"
    with pytest.raises(ValidationFailed) as why:
        lock(db, dm, UCM, scope="study", reason="  ")
    assert why.value.code == "LOCK.E012"
    with pytest.raises(ValidationFailed) as args:
        lock(db, dm, UCM, scope="form", participant=teh, reason="x")
    assert args.value.code == "LOCK.E013"
    assert "missing: visit, form" in str(args.value)
    with pytest.raises(ValidationFailed) as extra:
        lock(db, dm, UCM, scope="study", participant=teh, reason="x")
    assert "not expected: participant" in str(extra.value)
