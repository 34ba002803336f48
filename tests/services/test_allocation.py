"""Allocation on real databases: sequential cohorts, randomisation under a lock, concealment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from trialkit.allocation import schedule
from trialkit.errors import AccessDenied, TransitionError
from trialkit.protocol import load_study_text, shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_site,
    enrol,
    get_participant,
    load_study,
    record_dose,
    save_form,
)
from trialkit.services.allocation import cohorts, open_cohort, set_seed
from trialkit.store import Database, verify
from trialkit.store.tables import allocation, allocation_state, audit_log

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
RCT = "randomised-ucmsc"
People = Callable[..., Context]
Screened = Callable[..., str]


def eligible(screened: Screened, who: Context, study: str, site: str = "TEH", **values: str) -> str:
    """An eligible candidate (the shared screening values, ``values`` changed on SCREEN)."""
    like = PAE if study == PAE else UCM
    return screened(study, site=site, who=who, like=like, changes={"SCREEN": values})


def enrol_one(db: Database, ctx: Context, study: str, code: str) -> str | None:
    return enrol(db, ctx, study, code, investigator_override="checked by the PI").arm


def inject(db: Database, ctx: Context, code: str, on: date) -> None:
    when = datetime.combine(on, datetime.min.time()).replace(hour=10)
    lesions = [
        {
            "lesion_role": role,
            "lesion_site": "knee",
            "plaque_area": "3.2",
            "lesion_grade_v": "2",
            "erythema": "2",
            "scaling": "2",
            "induration": "2",
            "redness": "2",
            "pain_nrs": "0",
        }
        for role in ("treated", "control")
    ]
    save_form(
        db, ctx.at(when), PAE, code, visit="D1", form_id="LESION", values={"LESIONS": lesions}
    )
    record_dose(
        db,
        ctx.at(when),
        PAE,
        code,
        event_id="INJ",
        given_at=when,
        given_amount="160",
        given_unit="ug",
        product_lot="EX-1",
        vials=["EX-1-01"],
    )


def test_sequential_cohorts_open_only_after_the_safety_review(
    db: Database, ctx: Context, person: People, screened: Screened
) -> None:
    first = [eligible(screened, ctx, PAE) for _ in range(4)]
    assert [enrol_one(db, ctx, PAE, c) for c in first] == ["G50"] * 4
    fifth = eligible(screened, ctx, PAE)
    with pytest.raises(TransitionError) as undosed:
        enrol_one(db, ctx, PAE, fifth)
    assert undosed.value.code == "ALLOC.E041"
    assert "4 of its 4 participants are not dosed yet" in str(undosed.value)
    for code in first:
        inject(db, ctx, code, date(2025, 3, 10))
    early = ctx.at(datetime(2025, 3, 12, 9, 0))
    with pytest.raises(TransitionError) as waiting:
        enrol_one(db, early, PAE, fifth)
    assert waiting.value.code == "ALLOC.E042"
    assert "review is due on 2025-03-17, 7 days after its last dose on 2025-03-10" in str(
        waiting.value
    )
    board = person("dsmb.chair", PAE, Role.SAFETY_BOARD)
    with pytest.raises(TransitionError) as too_soon:
        open_cohort(db, board.at(early.as_of), PAE, "G100", "no concerns")
    assert too_soon.value.code == "ALLOC.E059"
    due = datetime(2025, 3, 17, 9, 0)
    with pytest.raises(TransitionError) as unopened:
        enrol_one(db, ctx.at(due), PAE, fifth)
    assert unopened.value.code == "ALLOC.E043"
    nurse = person("nurse.teh", PAE, Role.COORDINATOR, site="TEH")
    with pytest.raises(AccessDenied):
        open_cohort(db, nurse.at(due), PAE, "G100", "looks fine")
    assert [c.state.value for c in cohorts(db, board.at(due), PAE)][:2] == [
        "review due",
        "not open",
    ]
    open_cohort(db, board.at(due), PAE, "G100", "no dose-limiting toxicity in G50; open G100")
    assert enrol_one(db, ctx.at(due), PAE, fifth) == "G100"
    with db.read() as conn:
        rows = conn.execute(sa.select(allocation.c.seq, allocation.c.arm)).all()
        assert sorted(rows) == [(1, "G50"), (2, "G50"), (3, "G50"), (4, "G50"), (5, "G100")]
        assert verify(conn).ok


def test_an_arm_chosen_by_hand_is_refused(
    db: Database, ctx: Context, person: People, screened: Screened
) -> None:
    code = eligible(screened, ctx, PAE)
    pi = person("dr.pi", PAE, Role.PRINCIPAL_INVESTIGATOR)
    with pytest.raises(TransitionError) as refused:
        enrol(db, pi, PAE, code, arm="G200", investigator_override="checked")
    assert refused.value.code == "ALLOC.E054"
    with pytest.raises(AccessDenied) as not_operator:
        enrol(
            db, pi, PAE, code, arm="G200", investigator_override="checked", allocation_override="x"
        )
    assert not_operator.value.code == "ALLOC.E053"
    carried = enrol(
        db,
        ctx,
        PAE,
        code,
        arm="G200",
        investigator_override="checked",
        allocation_override="enrolled in 2021 on paper; carried over",
    )
    assert carried.arm == "G200"
    with db.read() as conn:
        method = conn.execute(sa.select(allocation.c.method)).scalar_one()
    assert method == "manual"


def randomised(db: Database, ctx: Context, method: str = "permuted_blocks") -> str:
    """A two-arm, double-blind, randomised copy of the UCMSC study (sites TEH and ISF)."""
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    study = load_study_text(text)
    assert study.id == "psoriasis-ucmsc"
    factors = (
        ""
        if method == "permuted_blocks"
        else "\n    factors:\n      - {name: site, source: site}\n"
        "      - {name: sex, source: sex, levels: [female, male]}"
    )
    blocks = "" if method == "minimisation" else "    block_sizes: [4]"
    text = (
        text.replace("id: psoriasis-ucmsc", f"id: {RCT}", 1)
        .replace("allocation: not_applicable", "allocation: randomised", 1)
        .replace("intervention_model: single_group", "intervention_model: parallel", 1)
        .replace(
            "masking: {level: none, placebo: false, description: Open label}",
            "masking: {level: double, masked_roles: [participant, investigator], placebo: true}\n"
            f"  randomisation:\n    method: {method}\n{blocks}{factors}\n"
            "    text: 1:1 in blocks of four",
            1,
        )
        .replace(
            "arms:\n",
            "arms:\n"
            "  - id: PBO\n"
            "    name: Placebo infusions\n"
            "    type: placebo_comparator\n"
            "    interventions:\n"
            "      - id: PBO\n"
            "        name: Saline\n"
            "        product: {name: Normal saline, kind: drug}\n"
            "        route: intravenous\n"
            "        dose: {amount: 100, unit: mL}\n",
            1,
        )
    )
    load_study(db, ctx, text, source="randomised.yaml")
    add_site(db, ctx, RCT, "TEH", "Tehran")
    add_site(db, ctx, RCT, "ISF", "Isfahan")
    return RCT


def _seed(db: Database) -> str:
    with db.read() as conn:
        return str(conn.execute(sa.select(allocation_state.c.seed)).scalar_one())


def test_permuted_blocks_follow_the_sealed_list_of_the_seed(
    db: Database, ctx: Context, screened: Screened
) -> None:
    study = randomised(db, ctx)
    set_seed(db, ctx, study, "statistician-seed-2025-0001")
    codes = [eligible(screened, ctx, study) for _ in range(8)]
    arms = [enrol_one(db, ctx, study, c) for c in codes]
    spec = load_study_text(_study_text(db, study)).design.randomisation
    assert spec is not None
    sealed = schedule(spec, ["PBO", "UCMSC"], "statistician-seed-2025-0001", n=8)
    assert arms == [s.arm for s in sealed]
    assert sorted(arms[:4]) == ["PBO", "PBO", "UCMSC", "UCMSC"]  # each block keeps 1:1
    with db.read() as conn:
        audited = conn.execute(
            sa.select(audit_log.c.new).where(
                audit_log.c.entity == "allocation", audit_log.c.path == "detail"
            )
        ).scalars()
        details = " ".join(str(d) for d in audited)
        assert "block" in details
        assert "statistician-seed" not in details  # the seed stays out of the audit trail
        seed_entries = (
            conn.execute(
                sa.select(audit_log.c.new).where(
                    audit_log.c.entity == "allocation_state", audit_log.c.path == "seed"
                )
            )
            .scalars()
            .all()
        )
        assert seed_entries == ['"set by a platform administrator (secret)"']


def _study_text(db: Database, study: str) -> str:
    from trialkit.store.tables import protocol_version
    from trialkit.store.tables import study as study_table

    with db.read() as conn:
        return str(
            conn.execute(
                sa.select(protocol_version.c.yaml)
                .join(study_table, study_table.c.id == protocol_version.c.study_id)
                .where(study_table.c.code == study)
            ).scalar_one()
        )


def test_blinded_staff_enrol_without_seeing_the_arm(
    db: Database, ctx: Context, person: People, screened: Screened
) -> None:
    study = randomised(db, ctx)
    nurse = person("nurse.teh", study, Role.COORDINATOR, site="TEH")
    code = eligible(screened, nurse, study)
    shown = enrol(db, nurse, study, code, investigator_override="checked by the PI")
    assert shown.arm is None
    assert get_participant(db, nurse, study, code).arm is None
    assert get_participant(db, ctx, study, code).arm in {"PBO", "UCMSC"}


def test_stratified_blocks_balance_each_stratum(
    db: Database, ctx: Context, screened: Screened
) -> None:
    study = randomised(db, ctx, "stratified_blocks")
    by_stratum: dict[tuple[str, str], list[str | None]] = {}
    for site in ("TEH", "ISF"):
        for sex in ("female", "male"):
            for _ in range(4):
                code = eligible(screened, ctx, study, site, sex=sex)
                by_stratum.setdefault((site, sex), []).append(enrol_one(db, ctx, study, code))
    for arms in by_stratum.values():
        assert sorted(a or "" for a in arms) == ["PBO", "PBO", "UCMSC", "UCMSC"]


def test_minimisation_records_its_scores(db: Database, ctx: Context, screened: Screened) -> None:
    study = randomised(db, ctx, "minimisation")
    for sex in ("female", "male", "female", "male"):
        enrol_one(db, ctx, study, eligible(screened, ctx, study, sex=sex))
    with db.read() as conn:
        details = [
            str(d) for d in conn.execute(sa.select(allocation.c.detail).order_by(allocation.c.seq))
        ]
    assert all('"scores"' in d for d in details)


def test_simultaneous_allocations_never_take_the_same_slot(
    db: Database, ctx: Context, screened: Screened
) -> None:
    study = randomised(db, ctx)
    codes = [eligible(screened, ctx, study) for _ in range(12)]
    url = db.engine.url.render_as_string(hide_password=False)
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def worker(mine: list[str]) -> None:
        other = Database.from_url(url)
        try:
            barrier.wait()
            for code in mine:
                enrol_one(other, ctx, study, code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            other.dispose()

    threads = [threading.Thread(target=worker, args=(codes[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as conn:
        rows = conn.execute(
            sa.select(allocation.c.seq, allocation.c.arm).order_by(allocation.c.seq)
        ).all()
        state = conn.execute(sa.select(allocation_state.c.allocated)).scalar_one()
        assert verify(conn).ok
    assert [r.seq for r in rows] == list(range(1, 13))
    assert state == 12
    spec = load_study_text(_study_text(db, study)).design.randomisation
    assert spec is not None
    sealed = schedule(spec, ["PBO", "UCMSC"], _seed(db), n=12)
    assert [r.arm for r in rows] == [s.arm for s in sealed]


def test_a_locked_participant_is_neither_allocated_nor_enrolled(
    db: Database, ctx: Context, screened: Screened
) -> None:
    from trialkit.errors import LockedError
    from trialkit.services import lock

    code = eligible(screened, ctx, PAE)
    lock(db, ctx, PAE, scope="participant", participant=code, reason="under query review")
    with pytest.raises(LockedError) as locked:
        enrol_one(db, ctx, PAE, code)
    assert locked.value.code == "LOCK.E002"
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(allocation)).scalar() == 0
