"""The kept status matrix brought up to date from the audit entries after its head: after any
sequence of audited changes it equals the matrix computed afresh, for every viewer (every site,
one site and blinded, unblinded), while most changes recompute only their participants' rows.

The changes are drawn at random (a fixed seed per case, so a failure replays): registrations,
consents, form saves, visits done, missed and unscheduled, forms not required, queries opened,
answered and closed, SDV, signatures, participant, form and study locks and unlocks, status
changes (screening, enrolment with allocation, withdrawal), amendments, a site added, and
changes the matrix does not show (another study's participants, users and memberships). Many
are refused (a locked participant, a visit not planned yet): a refusal changes nothing, and the
matrix must still agree.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from tests.services.conftest import PASSWORD, SCREEN_VALUES, People, Screened, load_approved

from trialkit.errors import TrialkitError
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    answer_query,
    close_query,
    consent,
    create_user,
    enrol,
    list_queries,
    lock,
    mark_not_required,
    miss_visit,
    open_query,
    read_form,
    record_visit,
    register,
    save_form,
    screen,
    sign,
    unlock,
    unscheduled_visit,
    verify,
    withdraw,
)
from trialkit.services import matrix as matrix_module
from trialkit.services.amendments import apply_version
from trialkit.services.matrix import fresh_matrix, status_matrix
from trialkit.simulate.eligible import VITALS_VALUES
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
ON = date(2025, 3, 3)
VISITS = ("SCR", "V_W0", "V_W2", "FU12")
DAYS = (ON, ON + timedelta(days=40))


def _amended(code: str) -> str:
    """The masked copy of the UCM study (see the ``masked`` fixture) at protocol version 1.1."""
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    text = text.replace("id: psoriasis-ucmsc", f"id: {code}", 1)
    text = text.replace(
        "masking: {level: none, placebo: false, description: Open label}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    text = text.replace('protocol_version: "1.0"', 'protocol_version: "1.1"', 1)
    assert "level: double" in text
    assert '"1.1"' in text
    return text


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How each call of ``status_matrix`` that found a kept matrix at another head was served:
    ``incremental`` (rows recomputed), ``unchanged`` (nothing shown changed) or ``full``."""
    served: Counter[str] = Counter()
    touched = matrix_module._touched
    update = matrix_module._update

    def counting_touched(*args: Any) -> set[int] | None:
        found = touched(*args)
        served["full" if found is None else "incremental" if found else "unchanged"] += 1
        return found

    def counting_update(*args: Any) -> Any:
        result = update(*args)
        if result is None:
            served["fallback"] += 1
        return result

    monkeypatch.setattr(matrix_module, "_touched", counting_touched)
    monkeypatch.setattr(matrix_module, "_update", counting_update)
    return served


@pytest.mark.parametrize("seed", [1, 2])
def test_the_updated_matrix_equals_a_full_recompute(
    db: Database,
    ctx: Context,
    person: People,
    masked: str,
    screened: Screened,
    spy: Counter[str],
    seed: int,
) -> None:
    rnd = random.Random(seed)
    viewers = [
        ctx,
        person("nurse.teh", masked, Role.COORDINATOR, site="TEH"),  # one site, blinded
        person("pharm.all", masked, Role.READ_ONLY, unblinded=True),
    ]
    monitor = person("mon.all", masked, Role.MONITOR)
    doctor = person("dr.all", masked, Role.INVESTIGATOR)
    people: list[str] = []
    sites = ["TEH", "ISF"]
    amended = False
    done: Counter[str] = Counter()

    def day() -> date:
        return ON + timedelta(days=rnd.randrange(0, 30))

    def pick() -> str:
        return rnd.choice(people)

    def new_participant() -> None:
        people.append(register(db, ctx, masked, rnd.choice(sites)).code)

    def new_screened() -> None:
        people.append(screened(masked, site=rnd.choice(sites[:2]), like=UCM))

    def give_consent() -> None:
        consent(db, ctx, masked, pick(), on=day(), form_version="1.0", obtained_by="dr.b")

    def save() -> None:
        form, values = rnd.choice([("VITALS", VITALS_VALUES), ("SCREEN", SCREEN_VALUES)])
        visit = "SCR" if form == "SCREEN" else rnd.choice(VISITS)
        code = pick()
        try:
            save_form(db, ctx, masked, code, visit=visit, form_id=form, values=values)
        except TrialkitError:  # entered already: change it at its version
            stored = read_form(db, ctx, masked, code, visit=visit, form_id=form)
            changed = {**values, "heart_rate": str(rnd.randrange(60, 90))}
            save_form(
                db,
                ctx,
                masked,
                code,
                visit=visit,
                form_id=form,
                values=changed if form == "VITALS" else values,
                expected_version=stored.version,
                reason="corrected",
            )

    def visit_done() -> None:
        record_visit(db, ctx, masked, pick(), rnd.choice(("SCR", *VISITS)), day())

    def visit_missed() -> None:
        miss_visit(db, ctx, masked, pick(), rnd.choice(VISITS), "did not come")

    def unscheduled() -> None:
        unscheduled_visit(db, ctx, masked, pick(), day(), "a rash")

    def not_required() -> None:
        mark_not_required(
            db, ctx, masked, pick(), visit=rnd.choice(VISITS), form_id="LABS", reason="no lab"
        )

    def query() -> None:
        open_query(
            db, ctx, masked, pick(), visit="SCR", form_id="VITALS", item="VS/systolic_bp", text="?"
        )

    def act_on_query() -> None:
        open_ones = list_queries(db, ctx, masked, status=["open", "answered"])
        q = rnd.choice(open_ones)
        if q.status == "open" and rnd.random() < 0.5:
            answer_query(db, ctx, masked, q.id, text="checked", expected_version=q.version)
        else:
            close_query(db, ctx, masked, q.id, expected_version=q.version)

    def sdv() -> None:
        verify(db, monitor, masked, pick(), visit="SCR", form_id=rnd.choice(["VITALS", "SCREEN"]))

    def signing() -> None:
        scope = rnd.choice(["form", "visit", "casebook"])
        sign(
            db,
            doctor,
            masked,
            pick(),
            scope=scope,  # type: ignore[arg-type]
            visit="SCR" if scope != "casebook" else None,
            form_id="VITALS" if scope == "form" else None,
            meaning="I confirm",
            password=PASSWORD,
        )

    def locking() -> None:
        scope = rnd.choice(["participant", "participant", "form", "study"])
        target: dict[str, Any] = {}
        if scope != "study":
            target["participant"] = pick()
        if scope == "form":
            target.update(visit="SCR", form_id="VITALS")
        act = lock if rnd.random() < 0.6 else unlock
        act(db, ctx, masked, scope=scope, reason="review", **target)  # type: ignore[arg-type]

    def status_change() -> None:
        code = pick()
        roll = rnd.random()
        if roll < 0.4:
            screen(db, ctx, masked, code)
        elif roll < 0.8:
            enrol(db, ctx, masked, code)
        else:
            withdraw(db, ctx, masked, code, "moved away")

    def amend() -> None:
        nonlocal amended
        if not amended:
            load_approved(db, ctx, masked, _amended(masked))
            amended = True
            return
        apply_version(db, ctx, masked, "1.1", pick(), "re-consented to amendment 1")

    def another_site() -> None:
        code = f"S{len(sites)}"
        add_site(db, ctx, masked, code, code)
        sites.append(code)

    def elsewhere() -> None:  # changes the matrix does not show
        if rnd.random() < 0.5:
            other = register(db, ctx, UCM, "TEH").code
            save_form(db, ctx, UCM, other, visit="SCR", form_id="VITALS", values=VITALS_VALUES)
        else:
            name = f"user{rnd.randrange(10**6)}"
            create_user(db, ctx, name, PASSWORD, display_name=name)
            add_membership(db, ctx, name, masked, Role.READ_ONLY, site_code="TEH")

    actions: list[tuple[Callable[[], None], int]] = [
        (new_participant, 2),
        (new_screened, 2),
        (give_consent, 4),
        (save, 8),
        (visit_done, 6),
        (visit_missed, 3),
        (unscheduled, 2),
        (not_required, 2),
        (query, 4),
        (act_on_query, 3),
        (sdv, 4),
        (signing, 4),
        (locking, 4),
        (status_change, 4),
        (amend, 2),
        (another_site, 1),
        (elsewhere, 3),
    ]
    # each action as many times as its weight, in a random order: every kind is exercised
    schedule = [f for f, w in actions for _ in range(w)]
    rnd.shuffle(schedule)
    for _ in range(4):
        new_screened()
    for v in viewers:  # a matrix kept for each viewer and day, brought up to date from here
        for d in DAYS:
            status_matrix(db, v, masked, d)
    for step, action in enumerate(schedule):
        try:
            action()
            done[action.__name__] += 1
        except (TrialkitError, IndexError):  # refused (or nothing to act on): nothing changed
            done["refused"] += 1
        for v in viewers:
            d = rnd.choice(DAYS)
            kept = status_matrix(db, v, masked, d)
            assert kept == fresh_matrix(db, v, masked, d), (step, action.__name__, v.actor)
    # both ways were taken: rows recomputed in place, and whole recomputes
    assert spy["incremental"] > 20, (spy, done)
    assert spy["full"] > 0, (spy, done)
    assert done["refused"] < 40, done


def test_a_change_recomputes_only_its_participants_row(
    db: Database, ctx: Context, sites: tuple[str, str], spy: Counter[str]
) -> None:
    teh, isf = sites
    consent(db, ctx, UCM, teh, on=ON, form_version="1.0", obtained_by="dr.b")
    first = status_matrix(db, ctx, UCM, ON)
    record_visit(db, ctx, UCM, teh, "SCR", ON)
    after = status_matrix(db, ctx, UCM, ON)
    assert spy["incremental"] == 1
    assert after is not first
    by_first = {r.participant: r for r in first.rows}
    by_after = {r.participant: r for r in after.rows}
    assert by_after[isf] is by_first[isf]  # reused as it was
    assert by_after[teh].cells["SCR"].on_date == ON
    assert [r.participant for r in after.rows] == [r.participant for r in first.rows]
    assert after == fresh_matrix(db, ctx, UCM, ON)


def test_changes_it_does_not_show_keep_the_matrix(
    db: Database, ctx: Context, sites: tuple[str, str], spy: Counter[str]
) -> None:
    first = status_matrix(db, ctx, UCM, ON)
    create_user(db, ctx, "someone", PASSWORD, display_name="Someone")
    other = register(db, ctx, "psoriasis-adipose-exosomes", "TEH").code  # another study
    assert other
    assert status_matrix(db, ctx, UCM, ON) is first
    assert spy["unchanged"] == 1


def test_a_study_wide_change_recomputes_everything(
    db: Database, ctx: Context, person: People, sites: tuple[str, str], spy: Counter[str]
) -> None:
    teh, _ = sites
    nurse = person("nurse.t", UCM, Role.COORDINATOR, site="TEH")
    status_matrix(db, ctx, UCM, ON)
    status_matrix(db, nurse, UCM, ON)
    lock(db, ctx, UCM, scope="study", reason="database lock")
    locked = status_matrix(db, ctx, UCM, ON)
    assert spy["full"] == 1
    assert all(c.locked for r in locked.rows for c in r.cells.values())
    unlock(db, ctx, UCM, scope="study", reason="reopened")
    assert not any(c.locked for r in status_matrix(db, ctx, UCM, ON).rows for c in r.cells.values())
    assert spy["full"] == 2
    new = register(db, ctx, UCM, "ISF").code  # a new row at a site the nurse does not see
    mine = status_matrix(db, nurse, UCM, ON)
    assert [r.participant for r in mine.rows] == [teh]
    assert mine == fresh_matrix(db, nurse, UCM, ON)
    everyone = status_matrix(db, ctx, UCM, ON)  # a new row at a site the operator sees: afresh
    assert new in [r.participant for r in everyone.rows]
    assert everyone == fresh_matrix(db, ctx, UCM, ON)
    add_site(db, ctx, UCM, "SHZ", "Shiraz")
    assert status_matrix(db, ctx, UCM, ON).sites == ["ISF", "SHZ", "TEH"]


def test_every_table_the_matrix_reads_is_traced() -> None:
    """The tables whose entries the update traces are audited entities, and cover every table
    the matrix module reads (an entry of any other audited table changes nothing shown)."""
    import sqlalchemy as sa

    from trialkit.store.audited import AUDITED

    assert set(AUDITED) >= matrix_module._READ_TABLES
    read = {
        str(v.name)
        for v in vars(matrix_module).values()
        if isinstance(v, sa.Table) and v.name not in ("audit_head", "audit_log")
    }
    assert read <= matrix_module._READ_TABLES
    assert set(matrix_module._LINKS) <= matrix_module._READ_TABLES
