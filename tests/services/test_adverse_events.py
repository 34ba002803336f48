"""Entering a participant's adverse events through the one form save: the computed grade and
its override, the pauses the event fires (named for the user as they may see them), the
serious-event clock, and the list. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from trialkit.errors import AccessDenied, ValidationFailed
from trialkit.services import Context, Role, record_dose, save_form
from trialkit.services.adverse_events import (
    adverse_event_form,
    list_adverse_events,
    preview_grade,
    record_adverse_event,
)
from trialkit.services.doses import dose_timeline, prepare_dose
from trialkit.services.safety import active_pauses
from trialkit.store import Database

from .conftest import MASKED, People
from .test_ae_grades import LABS, VITALS
from .test_ae_grades import enrolled as ucm_enrolled
from .test_safety import PAE, UCM, Screened, ae, dose, enrolled

T = datetime(2025, 3, 24, 12)


def test_the_grade_is_computed_from_the_visit_and_an_override_needs_its_reason(
    db: Database, ctx: Context
) -> None:
    code = ucm_enrolled(db, ctx)
    at = ctx.at(T)
    save_form(db, at, UCM, code, visit="V_W2", form_id="LABS", values={**LABS, "alt": "130"})
    # ALT 130 U/L, ULN 40, baseline 30 (normal): > 3.0-5.0 x ULN is grade 2 (CTCAE v5.0)
    preview = preview_grade(db, at, UCM, code, visit="V_W2", term="alt_increased")
    assert preview.computed == 2
    missing = preview_grade(db, at, UCM, code, visit="V_W4", term="alt_increased")
    assert missing.computed is None
    assert "alt is not entered" in (missing.why or "")
    row = {
        "ae_term": "ALT raised",
        "ae_onset": "2025-03-24",
        "ae_ctcae_term": "alt_increased",
        "ae_serious": "no",
        "ae_relation": "possible",
        "ae_outcome": "recovering",
        "ae_during_infusion": "no",
    }
    with pytest.raises(ValidationFailed) as refused:
        record_adverse_event(db, at, UCM, code, visit="V_W2", values={**row, "ae_grade": "3"})
    assert refused.value.code == "SAFETY.E040"
    assert list_adverse_events(db, at, UCM, code) == []  # nothing saved
    taken = record_adverse_event(db, at, UCM, code, visit="V_W2", values=row)
    assert taken.grade is not None
    assert (taken.grade.computed, taken.grade.entered, taken.grade.effective) == (2, None, 2)
    reasoned = {**row, "ae_grade": "3", "ae_grade_reason": "symptomatic hepatitis"}
    second = record_adverse_event(db, at, UCM, code, visit="V_W2", values=reasoned)
    assert second.instance_no == taken.instance_no + 1  # each event its own form instance
    assert second.grade is not None
    assert (second.grade.computed, second.grade.effective) == (2, 3)
    listed = list_adverse_events(db, at, UCM, code)
    assert [e.event_key for e in listed] == [taken.event_key, second.event_key]
    assert listed[0].labels["ae_relation"] == "Possibly related"
    assert listed[1].grade is not None
    assert listed[1].grade.reason == "symptomatic hepatitis"


def test_an_event_that_pauses_a_dose_group_says_so_once(
    db: Database, ctx: Context, screened: Screened
) -> None:
    first, second = enrolled(screened, db, ctx, PAE, "G50"), enrolled(screened, db, ctx, PAE, "G50")
    dose(db, ctx, PAE, first)
    at = ctx.at(datetime(2025, 3, 11, 9))
    entry = adverse_event_form(db, at, PAE, first, date(2025, 3, 11))
    assert (entry.form_id, entry.group_id, entry.arm) == ("AE", "AE", "G50")
    assert [v[0] for v in entry.visits][:2] == ["D1", "W1"]
    assert "ae_ctcae_term" in {i.name for i in entry.items}
    grade2 = record_adverse_event(
        db, at, PAE, first, visit="D1", values=ae("necrosis", 2, "probable")
    )
    assert grade2.fired == ()  # below the rule's grade 3
    grade3 = record_adverse_event(
        db, at, PAE, first, visit="D1", values=ae("necrosis", 3, "probable")
    )
    (fired,) = grade3.fired
    assert (fired.rule_id, fired.scope, fired.target) == ("S1", "arm", "G50")
    assert fired.trigger["pauses"]["arms"] == ["G50"]
    assert "events" not in fired.trigger  # the events of other participants are not shown
    again = record_adverse_event(db, at, PAE, first, visit="D1", values=ae("rash", 3, "definite"))
    assert again.fired == ()  # the pause is active already: nothing new fires
    (pause,) = active_pauses(db, at, PAE, "TEH")
    assert pause.id == fired.id
    with pytest.raises(Exception, match="S1"):
        dose(db, ctx, PAE, second)


def test_a_serious_event_starts_its_clock(db: Database, ctx: Context, screened: Screened) -> None:
    code = enrolled(screened, db, ctx, PAE, "G50")
    dose(db, ctx, PAE, code)
    at = ctx.at(datetime(2025, 3, 12, 9))
    row = {**ae("anaphylaxis", 2, "not_related", serious="yes"), "ae_aware_at": "2025-03-12T08:00"}
    taken = record_adverse_event(db, at, PAE, code, visit="D1", values=row)
    assert taken.report is not None
    assert taken.report.due_at == datetime(2025, 3, 12, 8) + timedelta(hours=24)
    assert taken.report.status == "open"
    assert not taken.report.overdue
    (listed,) = list_adverse_events(db, at.at(datetime(2025, 3, 13, 9)), PAE, code)
    assert listed.report is not None
    assert listed.report.overdue  # judged at the reader's time, after the due time


def test_site_and_role_are_checked(
    db: Database, ctx: Context, screened: Screened, person: People
) -> None:
    code = enrolled(screened, db, ctx, PAE, "G50")
    monitor = person("mon.teh", PAE, Role.MONITOR, site="TEH")
    with pytest.raises(AccessDenied):
        record_adverse_event(db, monitor, PAE, code, visit="D1", values=ae("rash", 1, "possible"))
    assert list_adverse_events(db, monitor, PAE, code) == []  # reading is allowed
    with pytest.raises(ValidationFailed) as no_visit:
        record_adverse_event(db, ctx, PAE, code, visit=" ", values=ae("rash", 1, "possible"))
    assert no_visit.value.code == "SAFETY.E051"


def test_a_site_reader_sees_no_other_sites_participant_and_a_blinded_one_no_arm(
    db: Database, ctx: Context, masked: str, person: People, screened: Screened
) -> None:
    from trialkit.services import enrol

    teh = screened(MASKED, site="TEH", like=UCM)
    isf = screened(MASKED, site="ISF", like=UCM)
    for code in (teh, isf):
        enrol(db, ctx, MASKED, code, investigator_override="checked")
    when = datetime(2025, 3, 10, 10)
    nurse = person("nurse.teh", MASKED, Role.COORDINATOR, site="TEH")
    pharmacist = person("pharm", MASKED, Role.PHARMACIST)
    for code in (teh, isf):
        save_form(
            db,
            ctx.at(when),
            MASKED,
            code,
            visit="V_W0",
            form_id="VITALS",
            values={**VITALS, "weight": "70"},
        )
        prepare_dose(
            db,
            pharmacist.at(when),
            MASKED,
            code,
            event_id="W0",
            kit=f"K-{code}",
            amount="1.4e8",
            unit="cells",
            product_lot="L-1",
        )
        record_dose(
            db,
            ctx.at(when),
            MASKED,
            code,
            event_id="W0",
            given_at=when,
            product_lot="L-1",
            kit=f"K-{code}",
        )
    # a grade 3 related event at Isfahan stops that participant's dosing (UCM rule S1)
    row = {**ae("infusion reaction", 3, "definite"), "ae_during_infusion": "yes"}
    row.pop("ae_at_injection_site")
    isf_doctor = ctx.at(datetime(2025, 3, 11, 9))
    (stop,) = record_adverse_event(db, isf_doctor, MASKED, isf, visit="V_W0", values=row).fired
    assert stop.scope == "participant"
    assert active_pauses(db, nurse, MASKED, "TEH") == ()  # another site's participant's stop
    (seen,) = active_pauses(db, ctx, MASKED, "ISF")
    assert seen.trigger["pauses"]["participants"] == [isf]
    timeline = dose_timeline(db, nurse, MASKED, teh)
    assert timeline.blind
    (w0, *_) = timeline.doses
    assert w0.given is not None
    assert (w0.given.computed, w0.given.given_amount, w0.computed) == (None, None, None)
    assert w0.given.vials == (f"K-{teh}",)
    unblinded = dose_timeline(db, pharmacist, MASKED, teh)
    assert unblinded.doses[0].given is not None
    assert unblinded.doses[0].given.given_amount == "1.4e8"
    assert unblinded.doses[0].prepared is not None
    assert unblinded.doses[0].prepared.amount == "1.4e8"
    assert dose_timeline(db, nurse, MASKED, teh).doses[0].prepared.amount is None
