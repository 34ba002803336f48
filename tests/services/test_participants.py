"""Participants on a real database: ids, consent, screening verdict, lifecycle, amendments."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from trialkit.errors import ConflictError, DefinitionError, TransitionError
from trialkit.protocol import Study, resolve_study
from trialkit.services import (
    Context,
    EligibilityVerdict,
    Status,
    complete,
    consent,
    enrol,
    format_participant_id,
    get_participant,
    history,
    load_study,
    lose,
    register,
    save_form,
    screen,
    screen_fail,
    start,
    withdraw,
)
from trialkit.store import Database, verify
from trialkit.store.tables import anchor

UCM = "psoriasis-ucmsc"
SCREEN = {
    "screening_date": "2025-03-03",
    "age": "44",
    "sex": "female",
    "weight": "70",
    "bsa_percent": "12",
}


class AgeWindow:
    """A small real evaluator: eligible when age is inside the study's limits."""

    def evaluate(self, study: Study, values: Mapping[str, Any], as_of: date) -> EligibilityVerdict:
        age = values.get("age")
        low, high = study.design.age.minimum, study.design.age.maximum
        if age is None:
            return EligibilityVerdict(None, [{"id": "age", "verdict": "unknown"}])
        ok = (low is None or age >= low) and (high is None or age <= high)
        return EligibilityVerdict(ok, [{"id": "age", "verdict": ok, "value": age}])


def _screened(db: Database, ctx: Context, values: Mapping[str, str] = SCREEN) -> str:
    p = register(db, ctx, UCM, "TEH")
    consent(db, ctx, UCM, p.code, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    save_form(db, ctx, UCM, p.code, visit="SCR", form_id="SCREEN", values=values)
    screen(db, ctx, UCM, p.code, AgeWindow())
    return p.code


def test_ids_follow_the_pattern_per_site(db: Database, ctx: Context) -> None:
    codes = [register(db, ctx, UCM, "TEH").code for _ in range(3)]
    assert codes == ["UCM-TEH-001", "UCM-TEH-002", "UCM-TEH-003"]
    assert register(db, ctx, "psoriasis-adipose-exosomes", "TEH").code == "PAE-TEH-001"


def test_concurrent_registrations_get_distinct_ids(db: Database, ctx: Context) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    got: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        other = Database.from_url(url)
        try:
            for _ in range(3):
                got.append(register(other, ctx, UCM, "TEH").code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            other.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == [f"UCM-TEH-{n:03d}" for n in range(1, 7)]


def test_bad_patterns_are_refused() -> None:
    assert format_participant_id("X-{site}-{seq:04d}", "A1", 7) == "X-A1-0007"
    with pytest.raises(DefinitionError):
        format_participant_id("X-{site}", "A1", 1)
    with pytest.raises(DefinitionError):
        format_participant_id("X-{name}-{seq}", "A1", 1)
    with pytest.raises(DefinitionError):
        format_participant_id("X {site}/{seq}", "A1", 1)


def test_full_lifecycle(db: Database, ctx: Context) -> None:
    code = _screened(db, ctx)
    p = get_participant(db, ctx, UCM, code)
    assert p.status is Status.CONSENTED
    assert p.eligibility["eligible"] is True
    assert p.eligibility["explanation"] == [{"id": "age", "verdict": True, "value": 44}]
    p = enrol(db, ctx, UCM, code)
    assert (p.status, p.arm) == (Status.ENROLLED, "UCMSC")
    assert start(db, ctx, UCM, code).status is Status.ON_STUDY
    assert complete(db, ctx, UCM, code).status is Status.COMPLETED
    steps = [(e["step"], e["to_status"]) for e in history(db, ctx, UCM, code)]
    assert steps == [
        ("consent", "consented"),
        ("eligibility", "consented"),
        ("enrol", "enrolled"),
        ("start", "on_study"),
        ("complete", "completed"),
    ]
    consent_event = history(db, ctx, UCM, code)[0]
    assert consent_event["data"] == {
        "date": "2025-03-03",
        "form_version": "2.1",
        "obtained_by": "dr.b",
    }
    with db.read() as conn:
        assert verify(conn).ok
        at = conn.execute(sa.select(anchor.c.anchor_id, anchor.c.at)).all()
    assert [(a, t.date()) for a, t in at] == [("consent", date(2025, 3, 3))]


def test_not_eligible_cannot_enrol_and_screen_fails(db: Database, ctx: Context) -> None:
    code = _screened(db, ctx, {**SCREEN, "age": "70"})
    assert get_participant(db, ctx, UCM, code).eligibility["eligible"] is False
    with pytest.raises(TransitionError, match="not eligible"):
        enrol(db, ctx, UCM, code)
    with pytest.raises(TransitionError, match="needs a reason"):
        screen_fail(db, ctx, UCM, code, " ")
    assert screen_fail(db, ctx, UCM, code, "age above 65").status is Status.SCREEN_FAILED
    with pytest.raises(TransitionError, match="allowed next steps: none"):
        enrol(db, ctx, UCM, code)


def test_without_an_evaluator_the_investigator_must_confirm(db: Database, ctx: Context) -> None:
    p = register(db, ctx, UCM, "TEH")
    consent(db, ctx, UCM, p.code, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    save_form(db, ctx, UCM, p.code, visit="SCR", form_id="SCREEN", values=SCREEN)
    screen(db, ctx, UCM, p.code, None)
    assert get_participant(db, ctx, UCM, p.code).eligibility["status"] == "not_evaluated"
    with pytest.raises(TransitionError, match="not evaluated"):
        enrol(db, ctx, UCM, p.code)
    done = enrol(db, ctx, UCM, p.code, investigator_override="criteria checked on paper")
    assert done.status is Status.ENROLLED


def test_refused_steps_name_state_and_options(db: Database, ctx: Context) -> None:
    p = register(db, ctx, UCM, "TEH")
    with pytest.raises(TransitionError) as err:
        start(db, ctx, UCM, p.code)
    assert "participant is screening: cannot start" in str(err.value)
    assert "consent, screen_fail" in str(err.value)
    consent(db, ctx, UCM, p.code, on=date(2025, 3, 3), form_version="1", obtained_by="x")
    with pytest.raises(TransitionError, match="no eligibility verdict"):
        enrol(db, ctx, UCM, p.code)


def test_withdraw_and_lose_need_reasons(db: Database, ctx: Context) -> None:
    a = _screened(db, ctx)
    enrol(db, ctx, UCM, a)
    with pytest.raises(TransitionError):
        withdraw(db, ctx, UCM, a, "")
    assert withdraw(db, ctx, UCM, a, "moved abroad").status is Status.WITHDRAWN
    b = _screened(db, ctx)
    enrol(db, ctx, UCM, b)
    assert lose(db, ctx, UCM, b, "no contact since May").status is Status.LOST_TO_FOLLOW_UP
    assert history(db, ctx, UCM, b)[-1]["reason"] == "no contact since May"


def test_amendments_are_new_versions(db: Database, ctx: Context) -> None:
    from trialkit.protocol import dump_study

    study = resolve_study(UCM)
    amended = dump_study(study.model_copy(update={"protocol_version": "1.1"}))
    later = ctx.at(ctx.as_of + timedelta(days=30))
    loaded = load_study(db, later, amended)
    assert (loaded.version, loaded.created) == ("1.1", True)
    again = load_study(db, later, amended)
    assert again.created is False
    changed = amended.replace("Umbilical cord MSC infusions", "UC-MSC infusions")
    with pytest.raises(ConflictError, match="already loaded with different content"):
        load_study(db, later, changed)
    assert register(db, later, UCM, "TEH").protocol_version == "1.1"
