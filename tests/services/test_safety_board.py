"""The safety board's view (:func:`trialkit.services.safety_board.safety_board`): the rules with
their state, the tables by arm from the analysis, and the blinded view; on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from tests.services.test_safety_blinded import MASKED, UCM, People, Screened, _ae, _enrolled
from tests.services.test_safety_blinded import study as study

from trialkit.errors import AccessDenied
from trialkit.services import Context, Role
from trialkit.services.safety import lift_pause
from trialkit.services.safety_board import safety_board
from trialkit.store import Database


def test_the_board_view_and_its_blinded_copy(
    db: Database, ctx: Context, screened: Screened, person: People, study: str
) -> None:
    active = _enrolled(screened, db, ctx, "UCMSC")
    _enrolled(screened, db, ctx, "PLACEBO")
    _ae(db, ctx, active)
    board = person("dsmb", MASKED, Role.SAFETY_BOARD)
    seen = safety_board(db, board, MASKED)
    assert (seen.masked, seen.blind, seen.may_decide) == (True, False, True)
    states = {r.rule.id: r.state for r in seen.rules}
    assert states["S4"] == "active"
    s4 = next(r for r in seen.rules if r.rule.id == "S4")
    assert s4.firings[0].target == "UCMSC"
    assert seen.cohorts is None  # no sequential cohorts in this design
    assert seen.ae_tables is not None
    by_grade = seen.ae_tables[0]
    assert by_grade.columns[:2] == ("arm", "worst grade")
    # The tables are the analysis tables: the event precedes any dose (no origin date), so
    # they leave it out, say so in the notes, and count both arms 0 of 1.
    assert [r[:4] for r in by_grade.rows] == [("UCMSC", None, 0, 1), ("PLACEBO", None, 0, 1)]
    assert "origin" in " ".join(seen.ae_notes)

    blind = person("dm.blind", MASKED, Role.DATA_MANAGER)
    hidden = safety_board(db, blind, MASKED)
    assert (hidden.blind, hidden.may_decide) == (True, False)
    assert hidden.status.paused_arms == ("(blinded)",)
    assert next(r for r in hidden.rules if r.rule.id == "S4").firings[0].target is None
    assert hidden.ae_tables is not None
    assert {r[0] for t in hidden.ae_tables for r in t.rows} == {"BLINDED"}
    assert "UCMSC" not in repr(hidden.rules) + repr(hidden.ae_tables) + repr(hidden.status)

    lift_pause(db, board, MASKED, s4.firings[0].id, "reviewed: resume")
    after = safety_board(db, board, MASKED)
    assert {r.rule.id: r.state for r in after.rules}["S4"] == "lifted"
    assert after.status.decisions[0]["kind"] == "lift_pause"

    # A reader who does not analyse gets no tables; a membership at one site is refused.
    monitor = person("mon", MASKED, Role.MONITOR)
    view = safety_board(db, monitor, MASKED)
    assert view.ae_tables is None
    assert view.blind
    at_site = person("nurse", UCM, Role.COORDINATOR, site="TEH")
    with pytest.raises(AccessDenied):
        safety_board(db, at_site, UCM)
