"""Data queries through the service layer, on both databases, with real users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from trialkit.errors import (
    AccessDenied,
    ConflictError,
    LockedError,
    NotFound,
    TransitionError,
    ValidationFailed,
)
from trialkit.services import (
    Context,
    Role,
    allowed_actions,
    answer_query,
    close_query,
    comment,
    item_queries,
    list_queries,
    lock,
    open_query,
    query_history,
    reopen_query,
    save_form,
    unlock,
    unscheduled_visit,
)
from trialkit.store import Database
from trialkit.store import verify as verify_audit

UCM = "psoriasis-ucmsc"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}
People = Callable[..., Context]


def audit_ok(db: Database) -> bool:
    with db.read() as conn:
        return verify_audit(conn).ok


def test_the_full_lifecycle_keeps_the_history(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    monitor = person("monitor.all", UCM, Role.MONITOR)
    dm = person("dm.all", UCM, Role.DATA_MANAGER)

    q = open_query(
        db,
        monitor,
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        item="VS/systolic_bp",
        text="Source shows 125 mmHg; please check.",
    )
    assert (q.status, q.version, q.item, q.check_id) == ("open", 1, "VS/systolic_bp", None)
    assert not q.opened_by_check
    assert [(e.action, e.status, e.actor) for e in q.events] == [("open", "open", "monitor.all")]

    q = answer_query(db, nurse, UCM, q.id, text="Re-measured: 120 is right.", expected_version=1)
    assert (q.status, q.version) == ("answered", 2)
    q = comment(db, doctor, UCM, q.id, text="Agree with the nurse.")
    assert (q.status, q.version) == ("answered", 2)  # a comment moves nothing
    q = close_query(db, monitor, UCM, q.id, text="Accepted.", expected_version=2)
    assert (q.status, q.version) == ("closed", 3)
    q = reopen_query(db, dm, UCM, q.id, text="The source still says 125.", expected_version=3)
    assert (q.status, q.version) == ("open", 4)
    q = close_query(db, dm, UCM, q.id, expected_version=4)

    history = query_history(db, nurse, UCM, q.id)
    assert [(e.action, e.status, e.actor) for e in history.events] == [
        ("open", "open", "monitor.all"),
        ("answer", "answered", "nurse.teh"),
        ("comment", "answered", "dr.teh"),
        ("close", "closed", "monitor.all"),
        ("reopen", "open", "dm.all"),
        ("close", "closed", "dm.all"),
    ]
    assert history.events[1].text == "Re-measured: 120 is right."
    on_item = item_queries(
        db, nurse, UCM, teh, visit="SCR", form_id="VITALS", item="VS/systolic_bp"
    )
    assert [x.id for x in on_item] == [q.id]
    assert len(on_item[0].events) == 6
    assert audit_ok(db)


def test_a_refused_transition_names_the_status_and_the_allowed_actions(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    monitor = person("monitor.all", UCM, Role.MONITOR)
    q = open_query(
        db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="72?"
    )
    q = close_query(db, monitor, UCM, q.id, text="Opened in error.", expected_version=1)
    with pytest.raises(TransitionError) as err:
        answer_query(db, nurse, UCM, q.id, text="late answer", expected_version=q.version)
    assert err.value.code == "QUERY.E004"
    assert f"query {q.id} is closed: it cannot be answered" in str(err.value)
    assert "allowed now: reopen, comment" in str(err.value)
    assert allowed_actions("open") == ["answer", "close", "comment"]
    assert allowed_actions("answered") == ["close", "reopen", "comment"]
    q = reopen_query(db, monitor, UCM, q.id, text="Needed after all.", expected_version=2)
    with pytest.raises(TransitionError) as err:
        reopen_query(db, monitor, UCM, q.id, text="again", expected_version=q.version)
    assert "query is open" not in str(err.value)
    assert f"query {q.id} is open: it cannot be re-opened" in str(err.value)


def test_a_stale_action_is_a_conflict(db: Database, person: People, sites: tuple[str, str]) -> None:
    teh, _ = sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    monitor = person("monitor.all", UCM, Role.MONITOR)
    q = open_query(
        db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="72?"
    )
    answer_query(db, nurse, UCM, q.id, text="Yes, 72.", expected_version=1)
    with pytest.raises(ConflictError) as err:
        close_query(db, monitor, UCM, q.id, text="closing", expected_version=1)
    assert err.value.code == "QUERY.E005"
    assert err.value.current_version == 2
    assert "it is answered at version 2" in str(err.value)
    assert query_history(db, monitor, UCM, q.id).status == "answered"


def test_who_may_do_what_and_where(db: Database, person: People, sites: tuple[str, str]) -> None:
    teh, isf = sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    nurse_isf = person("nurse.isf", UCM, Role.COORDINATOR, site="ISF")
    monitor = person("monitor.all", UCM, Role.MONITOR)
    stats = person("stats", UCM, Role.STATISTICIAN)
    on_isf = open_query(
        db, monitor, UCM, isf, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="?"
    )
    on_teh = open_query(
        db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="?"
    )
    # A coordinator may not open or close a query; a monitor may not answer one.
    with pytest.raises(AccessDenied) as denied:
        open_query(
            db, nurse, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="?"
        )
    assert "open data queries" in str(denied.value)
    with pytest.raises(AccessDenied) as denied:
        close_query(db, nurse, UCM, on_teh.id, text="done", expected_version=1)
    assert "close and re-open data queries" in str(denied.value)
    with pytest.raises(AccessDenied):
        answer_query(db, monitor, UCM, on_teh.id, text="an answer", expected_version=1)
    with pytest.raises(AccessDenied) as denied:
        comment(db, stats, UCM, on_teh.id, text="a remark")
    assert "take part in data queries" in str(denied.value)
    # A coordinator at TEH cannot act on, read or list ISF's queries.
    with pytest.raises(AccessDenied) as denied:
        answer_query(db, nurse, UCM, on_isf.id, text="not mine", expected_version=1)
    assert "at site ISF" in str(denied.value)
    with pytest.raises(AccessDenied):
        query_history(db, nurse, UCM, on_isf.id)
    with pytest.raises(AccessDenied):
        list_queries(db, nurse, UCM, site="ISF")
    with pytest.raises(AccessDenied):
        list_queries(db, nurse, UCM, participant=isf)
    assert [q.id for q in list_queries(db, nurse, UCM)] == [on_teh.id]
    assert [q.id for q in list_queries(db, monitor, UCM)] == [on_isf.id, on_teh.id]
    assert answer_query(db, nurse_isf, UCM, on_isf.id, text="ok", expected_version=1).version == 2


def test_listing_by_participant_site_and_status(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    a = open_query(
        db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="a"
    )
    b = open_query(db, monitor, UCM, isf, visit="SCR", form_id="SCREEN", item="DEMOG/age", text="b")
    close_query(db, monitor, UCM, a.id, expected_version=1)
    assert [q.id for q in list_queries(db, monitor, UCM)] == [b.id]
    assert [q.id for q in list_queries(db, monitor, UCM, status=None)] == [a.id, b.id]
    assert [q.id for q in list_queries(db, monitor, UCM, status="closed")] == [a.id]
    assert [q.id for q in list_queries(db, monitor, UCM, participant=teh, status=None)] == [a.id]
    assert [q.id for q in list_queries(db, monitor, UCM, site="ISF")] == [b.id]
    found = list_queries(db, monitor, UCM, site="ISF")[0]
    assert (found.participant, found.site, found.visit, found.form_id) == (
        isf,
        "ISF",
        "SCR",
        "SCREEN",
    )
    with pytest.raises(ValidationFailed) as err:
        list_queries(db, monitor, UCM, status="pending")
    assert err.value.code == "QUERY.E006"


def test_items_are_validated_and_the_form_must_be_entered(
    db: Database, ctx: Context, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    with pytest.raises(ValidationFailed) as err:
        open_query(db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/pulse", text="?")
    assert err.value.code == "FORM.E020"
    assert "has no item 'VS/pulse'" in str(err.value)
    assert "VS/systolic_bp, VS/diastolic_bp, VS/heart_rate, VS/temperature" in str(err.value)
    with pytest.raises(NotFound) as missing:
        open_query(db, monitor, UCM, teh, visit="SCR", form_id="LABS", item="LAB/alt", text="?")
    assert missing.value.code == "FORM.E012"
    with pytest.raises(ValidationFailed) as empty:
        open_query(
            db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text=" "
        )
    assert empty.value.code == "QUERY.E001"
    # A repeating group's rows are items as far as they are stored.
    ae = {
        "ae_term": "Headache",
        "ae_onset": "2025-03-03",
        "ae_grade": "1",
        "ae_serious": "no",
        "ae_relation": "unlikely",
        "ae_outcome": "recovered",
        "ae_during_infusion": "no",
    }
    key = unscheduled_visit(db, ctx, UCM, teh, date(2025, 3, 5), "headache")
    save_form(db, ctx, UCM, teh, visit=key, form_id="AE", values={"AE": [ae, ae]})
    q = open_query(db, monitor, UCM, teh, visit=key, form_id="AE", item="AE[2]/ae_grade", text="1?")
    assert q.item == "AE[2]/ae_grade"
    with pytest.raises(ValidationFailed) as err:
        open_query(db, monitor, UCM, teh, visit=key, form_id="AE", item="AE[3]/ae_grade", text="?")
    assert "AE[1]/ae_term" in str(err.value)
    with pytest.raises(NotFound):
        query_history(db, monitor, UCM, 999_999)


def test_a_soft_check_opens_a_query_and_a_passing_save_closes_it(
    db: Database, person: People, sites: tuple[str, str], soften_bp: Callable[[str], None]
) -> None:
    teh, _ = sites
    soften_bp(teh)
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    bad = {**VITALS, "systolic_bp": "80", "diastolic_bp": "90"}
    r = save_form(
        db,
        nurse,
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        values=bad,
        expected_version=1,
        reason="re-measured",
    )
    assert len(r.queries_opened) == 1
    q = query_history(db, nurse, UCM, r.queries_opened[0])
    assert (q.check_id, q.item, q.status, q.opened_by) == ("BP1", "check:BP1", "open", "nurse.teh")
    assert q.opened_by_check
    assert [(e.action, e.actor) for e in q.events] == [("open", "nurse.teh")]
    # Still failing: the open query is not opened a second time.
    r = save_form(
        db,
        nurse,
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        values={**bad, "heart_rate": "75"},
        expected_version=2,
        reason="typo",
    )
    assert r.queries_opened == []
    answer_query(db, nurse, UCM, q.id, text="Will re-measure.", expected_version=1)
    r = save_form(
        db,
        nurse,
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        values=VITALS,
        expected_version=3,
        reason="re-measured",
    )
    assert f"query {q.id} closed: edit check BP1 passes" in r.notes
    q = query_history(db, nurse, UCM, q.id)
    assert q.status == "closed"
    assert (q.events[-1].action, q.events[-1].actor, q.events[-1].text) == (
        "close",
        "nurse.teh",
        "edit check BP1 passes after the change",
    )
    found = item_queries(db, nurse, UCM, teh, visit="SCR", form_id="VITALS", item="check:BP1")
    assert [x.id for x in found] == [q.id]
    assert audit_ok(db)


def test_locked_data_refuses_new_queries_but_not_answers(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    monitor = person("monitor.all", UCM, Role.MONITOR)
    dm = person("dm.all", UCM, Role.DATA_MANAGER)
    q = open_query(
        db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="?"
    )
    lock(db, dm, UCM, scope="form", participant=teh, visit="SCR", form_id="VITALS", reason="clean")
    with pytest.raises(LockedError) as err:
        open_query(
            db, monitor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="?"
        )
    assert err.value.code == "LOCK.E003"
    q = answer_query(db, nurse, UCM, q.id, text="72 is right", expected_version=1)
    q = close_query(db, monitor, UCM, q.id, expected_version=2)
    with pytest.raises(LockedError):
        reopen_query(db, monitor, UCM, q.id, text="again", expected_version=3)
    unlock(
        db, dm, UCM, scope="form", participant=teh, visit="SCR", form_id="VITALS", reason="query"
    )
    assert reopen_query(db, monitor, UCM, q.id, text="again", expected_version=3).status == "open"
    assert audit_ok(db)
