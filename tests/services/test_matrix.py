"""The status matrix: the same states as each participant's calendar, only the user's sites,
no arm to a blinded user, and queries, SDV, signatures and locks counted per cell."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from trialkit.schedule import VisitState
from trialkit.services import (
    Context,
    Role,
    calendar,
    consent,
    enrol,
    lock,
    open_query,
    record_visit,
)
from trialkit.services.matrix import my_studies, status_matrix
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
People = Callable[..., Context]
Screened = Callable[..., str]

ON = date(2025, 3, 3)


def test_cells_agree_with_each_calendar(db: Database, ctx: Context, sites: tuple[str, str]) -> None:
    teh, isf = sites
    consent(db, ctx, UCM, teh, on=ON, form_version="1.0", obtained_by="dr.b")
    record_visit(db, ctx, UCM, teh, "SCR", ON)
    for as_of in (ON, ON + timedelta(days=30), ON + timedelta(days=120)):
        m = status_matrix(db, ctx, UCM, as_of)
        assert [r.participant for r in m.rows] == sorted([teh, isf])
        for row in m.rows:
            cal = calendar(db, ctx, UCM, row.participant, as_of)
            planned = {v.key: v for v in cal.visits if not v.key.startswith("UNS")}
            assert set(row.cells) == set(planned)
            for key, cell in row.cells.items():
                assert cell.state is planned[key].state, (row.participant, key, as_of)
                assert cell.forms == planned[key].forms
                assert (cell.target, cell.earliest, cell.latest) == (
                    planned[key].target,
                    planned[key].earliest,
                    planned[key].latest,
                )
    later = status_matrix(db, ctx, UCM, ON + timedelta(days=120))
    teh_row = next(r for r in later.rows if r.participant == teh)
    assert teh_row.cells["SCR"].state is VisitState.DONE
    # SCREEN and VITALS (the sites fixture) and CONSENT, which consent() fills at SCR.
    assert teh_row.cells["SCR"].entered == 3


def test_only_the_users_sites(
    db: Database, ctx: Context, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    m = status_matrix(db, nurse, UCM, ON)
    assert [r.participant for r in m.rows] == [teh]
    assert m.sites == ["TEH"]
    cards = my_studies(db, nurse)
    assert [(c.code, c.participants) for c in cards] == [(UCM, 1)]
    assert cards[0].roles == (("coordinator", "TEH", False),)


def test_queries_and_locks_show_in_their_cell(
    db: Database, ctx: Context, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    open_query(
        db, ctx, UCM, teh, visit="SCR", form_id="VITALS", item="VS/systolic_bp", text="check"
    )
    lock(db, ctx, UCM, scope="participant", participant=isf, reason="interim lock")
    m = status_matrix(db, ctx, UCM, ON)
    by = {r.participant: r for r in m.rows}
    assert by[teh].cells["SCR"].open_queries == 1
    assert by[isf].cells["SCR"].open_queries == 0
    assert by[isf].cells["SCR"].locked
    assert not by[teh].cells["SCR"].locked


def test_no_arm_to_a_blinded_user(
    db: Database, ctx: Context, person: People, masked: str, screened: Screened
) -> None:
    code = screened(masked, like=UCM)  # eligible under the copied UCM study's criteria
    enrol(db, ctx, masked, code)
    nurse = person("nurse.m", masked, Role.COORDINATOR, site="TEH")
    board = person("dsmb.m", masked, Role.SAFETY_BOARD)
    pharmacist = person("pharm.m", masked, Role.READ_ONLY, unblinded=True)
    assert status_matrix(db, ctx, masked, ON).rows[0].arm is not None
    assert status_matrix(db, nurse, masked, ON).rows[0].arm is None
    assert status_matrix(db, board, masked, ON).rows[0].arm is not None
    assert status_matrix(db, pharmacist, masked, ON).rows[0].arm is not None
    assert status_matrix(db, nurse, masked, ON).masked


def test_verified_and_signed_show_in_their_cell(
    db: Database, ctx: Context, person: People, sites: tuple[str, str]
) -> None:
    from tests.services.conftest import PASSWORD

    from trialkit.services import sign, verify

    teh, isf = sites
    monitor = person("mon.all", UCM, Role.MONITOR)
    doctor = person("dr.isf", UCM, Role.INVESTIGATOR, site="ISF")
    verify(db, monitor, UCM, teh, visit="SCR", form_id="SCREEN")
    partly = {r.participant: r for r in status_matrix(db, ctx, UCM, ON).rows}
    assert not partly[teh].cells["SCR"].verified  # VITALS, also entered, is not verified yet
    verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")
    sign(db, doctor, UCM, isf, scope="visit", visit="SCR", meaning="I confirm", password=PASSWORD)
    by = {r.participant: r for r in status_matrix(db, ctx, UCM, ON).rows}
    assert by[teh].cells["SCR"].verified
    assert not by[teh].cells["SCR"].signed
    assert by[isf].cells["SCR"].signed
    assert not by[isf].cells["SCR"].verified
    assert (by[teh].cells["SCR"].entered, by[teh].cells["SCR"].expected) == (2, 3)


def test_a_matrix_is_kept_until_an_audited_change(
    db: Database, ctx: Context, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    nurse = person("nurse.cache", UCM, Role.COORDINATOR, site="TEH")
    first = status_matrix(db, ctx, UCM, ON)
    assert status_matrix(db, ctx, UCM, ON) is first  # nothing changed: the same matrix
    mine = status_matrix(db, nurse, UCM, ON)
    assert mine is not first  # another user's sites: its own matrix
    assert [r.participant for r in mine.rows] == [teh]
    assert status_matrix(db, ctx, UCM, ON + timedelta(days=1)) is not first  # another day
    consent(db, nurse, UCM, teh, on=ON, form_version="1.0", obtained_by="dr.b")
    record_visit(db, nurse, UCM, teh, "SCR", ON)
    after = status_matrix(db, ctx, UCM, ON)
    assert after is not first
    assert {r.participant: r for r in after.rows}[teh].cells["SCR"].on_date == ON
