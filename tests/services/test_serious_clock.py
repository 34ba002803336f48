"""The serious-event clock on real databases: due ``serious_report_hours`` after awareness,
listed when overdue per study and site, closed by recording the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import time_machine

from trialkit.errors import AccessDenied, ConflictError, ValidationFailed
from trialkit.protocol import resolve_study
from trialkit.services import Context, Role, add_site, enrol, save_form
from trialkit.services.safety import overdue_reports, record_serious_report, serious_reports
from trialkit.store import Database, verify

PAE = "psoriasis-adipose-exosomes"
People = Callable[..., Context]
Screened = Callable[..., str]
RECORDED = datetime(2025, 3, 12, 15, 0)


def enrolled(screened: Screened, db: Database, ctx: Context, site: str = "TEH") -> str:
    code = screened(PAE, site=site)  # eligible under the study's criteria (conftest)
    enrol(db, ctx, PAE, code, arm="G50")
    return code


def ae(serious: str, aware: str | None = None, term: str = "Cellulitis") -> dict[str, str]:
    row = {
        "ae_term": term,
        "ae_onset": "2025-03-11",
        "ae_grade": "2",
        "ae_serious": serious,
        "ae_relation": "not_related",
        "ae_outcome": "recovering",
        "ae_at_injection_site": "no",
    }
    if aware is not None:
        row["ae_aware_at"] = aware
    return row


def report(
    db: Database, ctx: Context, code: str, rows: list[dict[str, str]], version: int | None = None
) -> int:
    return save_form(
        db,
        ctx,
        PAE,
        code,
        visit="D1",
        form_id="AE",
        values={"AE": rows},
        expected_version=version,
        reason=None if version is None else "follow-up",
    ).version


def test_the_report_is_due_24_hours_after_awareness(
    db: Database, ctx: Context, screened: Screened
) -> None:
    assert resolve_study(PAE).safety.serious_report_hours == 24
    code = enrolled(screened, db, ctx)
    report(db, ctx.at(RECORDED), code, [ae("no"), ae("yes", "2025-03-12T08:30")])
    (clock,) = serious_reports(db, ctx.at(RECORDED), PAE)
    assert (clock.participant, clock.site, clock.term) == (code, "TEH", "Cellulitis")
    assert clock.event_key.endswith("/AE/2")
    assert (clock.aware_at, clock.aware_source) == (datetime(2025, 3, 12, 8, 30), "entered")
    assert clock.due_at == datetime(2025, 3, 13, 8, 30)
    assert (clock.status, clock.overdue, clock.report_hours) == ("open", False, 24)
    # Due at 08:30: not overdue at 08:30 itself, overdue one minute later.
    with time_machine.travel(datetime(2025, 3, 13, 8, 30), tick=False):
        now = datetime.now()
    assert overdue_reports(db, ctx.at(now), PAE) == []
    late = overdue_reports(db, ctx.at(now + timedelta(minutes=1)), PAE)
    assert [r.id for r in late] == [clock.id]


def test_awareness_not_entered_is_the_time_it_was_recorded(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = enrolled(screened, db, ctx)
    report(db, ctx.at(RECORDED), code, [ae("yes")])
    (clock,) = serious_reports(db, ctx.at(RECORDED), PAE)
    assert (clock.aware_at, clock.aware_source) == (RECORDED, "recorded")
    assert clock.due_at == RECORDED + timedelta(hours=24)


def test_corrections_move_or_withdraw_the_clock(
    db: Database, ctx: Context, screened: Screened
) -> None:
    code = enrolled(screened, db, ctx)
    v = report(db, ctx.at(RECORDED), code, [ae("yes")])
    v = report(db, ctx.at(RECORDED), code, [ae("yes", "2025-03-11T20:00")], v)
    (clock,) = serious_reports(db, ctx.at(RECORDED), PAE)
    assert clock.due_at == datetime(2025, 3, 12, 20, 0)
    report(db, ctx.at(RECORDED), code, [ae("no", "2025-03-11T20:00")], v)
    assert serious_reports(db, ctx.at(RECORDED), PAE) == []
    (withdrawn,) = serious_reports(db, ctx.at(RECORDED), PAE, include_withdrawn=True)
    assert withdrawn.status == "withdrawn"
    with db.read() as conn:
        assert verify(conn).ok


def test_recording_the_report(
    db: Database, ctx: Context, person: People, screened: Screened
) -> None:
    code = enrolled(screened, db, ctx)
    report(db, ctx.at(RECORDED), code, [ae("yes", "2025-03-12T08:30")])
    (clock,) = serious_reports(db, ctx.at(RECORDED), PAE)
    doctor = person("dr.teh", PAE, Role.INVESTIGATOR, site="TEH").at(datetime(2025, 3, 14, 9))
    with pytest.raises(ValidationFailed) as future:
        record_serious_report(
            db, doctor, PAE, clock.id, reported_at=datetime(2025, 3, 15), reference="SAE-1"
        )
    assert future.value.code == "SAFETY.E033"
    with pytest.raises(ValidationFailed) as early:
        record_serious_report(
            db, doctor, PAE, clock.id, reported_at=datetime(2025, 3, 12, 8), reference="SAE-1"
        )
    assert early.value.code == "SAFETY.E034"
    with pytest.raises(ValidationFailed) as blank:
        record_serious_report(
            db, doctor, PAE, clock.id, reported_at=datetime(2025, 3, 13, 9), reference=" "
        )
    assert blank.value.code == "SAFETY.E030"
    done = record_serious_report(
        db,
        doctor,
        PAE,
        clock.id,
        reported_at=datetime(2025, 3, 13, 9, 0),
        reference="sponsor SAE form 2025-014",
    )
    assert (done.status, done.reported_by, done.late, done.overdue) == (
        "reported",
        "dr.teh",
        True,  # 30 minutes after the due time
        False,
    )
    assert overdue_reports(db, doctor, PAE) == []
    with pytest.raises(ConflictError):
        record_serious_report(
            db, doctor, PAE, clock.id, reported_at=datetime(2025, 3, 13, 9), reference="again"
        )


def test_sites_and_roles(db: Database, ctx: Context, person: People, screened: Screened) -> None:
    add_site(db, ctx, PAE, "ISF", "Isfahan")
    teh, isf = enrolled(screened, db, ctx, "TEH"), enrolled(screened, db, ctx, "ISF")
    for code in (teh, isf):
        report(db, ctx.at(RECORDED), code, [ae("yes", "2025-03-11T08:00")])
    later = datetime(2025, 3, 14, 9)
    assert {r.participant for r in overdue_reports(db, ctx.at(later), PAE)} == {teh, isf}
    assert [r.participant for r in overdue_reports(db, ctx.at(later), PAE, site_code="ISF")] == [
        isf
    ]
    nurse = person("nurse.teh", PAE, Role.COORDINATOR, site="TEH").at(later)
    assert [r.participant for r in overdue_reports(db, nurse, PAE)] == [teh]
    with pytest.raises(AccessDenied):
        overdue_reports(db, nurse, PAE, site_code="ISF")
    isf_clock = overdue_reports(db, ctx.at(later), PAE, site_code="ISF")[0]
    with pytest.raises(AccessDenied):
        record_serious_report(db, nurse, PAE, isf_clock.id, reported_at=later, reference="SAE-2")
    monitor = person("monitor", PAE, Role.MONITOR).at(later)
    assert len(overdue_reports(db, monitor, PAE)) == 2
    with pytest.raises(AccessDenied):
        record_serious_report(db, monitor, PAE, isf_clock.id, reported_at=later, reference="SAE-2")
