"""Amendments through the services, on SQLite and PostgreSQL: a new version checked and compared,
loaded only with its approval and only as checked, approved once, and applied to participants
one by one or all at once, each with its reason; only by the study's administrator. The
``db`` fixture replays the audit trail afterwards, so the approvals and the moves are proved."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from trialkit.errors import (
    AccessDenied,
    ConflictError,
    DefinitionError,
    LockedError,
    TransitionError,
    ValidationFailed,
)
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    load_study,
    lock,
    register,
    screen_fail,
)
from trialkit.services.amendments import (
    apply_to_all,
    apply_version,
    approve_amendment,
    candidates,
    load_amendment,
    load_version,
    preview_amendment,
    versions,
)
from trialkit.services.audit_trail import study_trail
from trialkit.services.participants import get
from trialkit.store import Database
from trialkit.store.tables import audit_log, protocol_version

from .conftest import UCM, People

TEXT = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
V2 = TEXT.replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1).replace(
    "expression: age between 18 and 65", "expression: age between 18 and 70", 1
)
BAD = V2.replace("expression: age between 18 and 70", "expression: age between 18 and", 1)
ETHICS = {"committee": "TUMS Research Ethics Committee", "reference": "IR.TUMS.REC.1404.123"}
ON = date(2025, 3, 1)


@pytest.fixture
def admin(person: People) -> Context:
    return person("admin.ucm", UCM, Role.ADMINISTRATOR)


def _sha(db: Database, admin: Context, text: str = V2) -> str:
    return preview_amendment(db, admin, UCM, text).sha256


def _load(db: Database, admin: Context, text: str = V2) -> None:
    load_amendment(db, admin, UCM, text, checked=_sha(db, admin, text), approved_on=ON, **ETHICS)


def test_the_preview_lists_the_changes_or_refuses_with_every_finding(
    db: Database, admin: Context
) -> None:
    preview = preview_amendment(db, admin, UCM, V2)
    assert (preview.current_version, preview.new_version, preview.errors) == ("1.0", "2.0", ())
    (change,) = [c for c in preview.changes if c.key == "I2"]
    assert [(f.path, f.old, f.new) for f in change.fields] == [
        ("expression", "age between 18 and 65", "age between 18 and 70")
    ]
    bad = preview_amendment(db, admin, UCM, BAD)
    assert len(bad.errors) == 1
    assert bad.changes == ()
    assert bad.errors[0].path
    with pytest.raises(ValidationFailed) as other:
        preview_amendment(db, admin, UCM, TEXT.replace(f"id: {UCM}", "id: other-study", 1))
    assert other.value.code == "AMEND.E001"
    with pytest.raises(ConflictError) as same:
        preview_amendment(db, admin, UCM, TEXT)
    assert same.value.code == "AMEND.E002"
    with pytest.raises(DefinitionError):
        preview_amendment(db, admin, UCM, "id: [unclosed")


def test_a_version_is_loaded_with_its_approval_in_one_step(db: Database, admin: Context) -> None:
    state = load_amendment(db, admin, UCM, V2, checked=_sha(db, admin), approved_on=ON, **ETHICS)
    assert (state.version, state.current) == ("2.0", True)
    assert state.approval is not None
    assert (state.approval.committee, state.approval.reference) == (
        ETHICS["committee"],
        ETHICS["reference"],
    )
    assert state.approval.approved_on == ON
    assert (state.approval.recorded_by, state.approval.recorded_at) == ("admin.ucm", admin.as_of)
    listed = versions(db, admin, UCM)
    assert [(v.version, v.current, v.approval is not None) for v in listed] == [
        ("2.0", True, True),
        ("1.0", False, False),
    ]
    with db.read() as conn:
        entries = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.actor).where(
                audit_log.c.entity == "protocol_approval"
            )
        ).all()
    assert {(e.action, e.actor) for e in entries} == {("approve", "admin.ucm")}
    trail = study_trail(db, Context.operator("dm", admin.as_of), UCM, per_page=500)
    shown = {(e.entity, e.path) for e in trail.entries if e.entity == "protocol_approval"}
    assert ("protocol_approval", "reference") in shown  # the study's audit trail shows it
    with pytest.raises(ConflictError) as again:
        approve_amendment(db, admin, UCM, "2.0", approved_on=ON, **ETHICS)
    assert again.value.code == "AMEND.E009"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"committee": " ", "reference": "R-1", "approved_on": ON}, "AMEND.E010"),
        ({"committee": "REC", "reference": "", "approved_on": ON}, "AMEND.E011"),
        ({"committee": "REC", "reference": "R-1", "approved_on": None}, "AMEND.E012"),
        ({"committee": "REC", "reference": "R-1", "approved_on": date(2025, 3, 4)}, "AMEND.E012"),
    ],
)
def test_an_incomplete_or_future_approval_loads_nothing(
    db: Database, admin: Context, fields: dict[str, object], code: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_amendment(db, admin, UCM, V2, checked=_sha(db, admin), **fields)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert [v.version for v in versions(db, admin, UCM)] == ["1.0"]


def test_only_the_text_checked_and_without_errors_is_loaded(db: Database, admin: Context) -> None:
    with pytest.raises(ConflictError) as changed:
        load_amendment(
            db, admin, UCM, V2 + "\n# edited", checked=_sha(db, admin), approved_on=ON, **ETHICS
        )
    assert changed.value.code == "AMEND.E007"
    with pytest.raises(ValidationFailed) as bad:
        load_amendment(db, admin, UCM, BAD, checked=_sha(db, admin, BAD), approved_on=ON, **ETHICS)
    assert bad.value.code == "AMEND.E006"
    assert "1 error(s)" in bad.value.message
    assert [v.version for v in versions(db, admin, UCM)] == ["1.0"]


def test_no_participant_is_moved_before_the_approval(
    db: Database, ctx: Context, admin: Context, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    load_study(db, ctx, V2)  # loaded from the command line, without its approval
    assert versions(db, admin, UCM)[0].approval is None
    with pytest.raises(ConflictError) as early:
        apply_version(db, admin, UCM, "2.0", teh, "re-consented to amendment 2")
    assert early.value.code == "AMEND.E013"
    with pytest.raises(ConflictError):
        apply_to_all(db, admin, UCM, "2.0", "re-consented to amendment 2")
    assert get(db, ctx, UCM, teh).protocol_version == "1.0"
    approval = approve_amendment(db, admin, UCM, "2.0", approved_on=ON, **ETHICS)
    assert approval.reference == ETHICS["reference"]
    with pytest.raises(ValidationFailed) as why:
        apply_version(db, admin, UCM, "2.0", teh, "  ")
    assert why.value.code == "AMEND.E016"
    moved = apply_version(db, admin, UCM, "2.0", teh, "re-consented to amendment 2")
    assert moved.protocol_version == "2.0"
    with db.read() as conn:
        entry = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.reason).where(
                audit_log.c.entity == "participant", audit_log.c.action == "amend"
            )
        ).one()
    assert tuple(entry) == ("admin.ucm", "re-consented to amendment 2")
    with pytest.raises(ConflictError) as twice:
        apply_version(db, admin, UCM, "2.0", teh, "again")
    assert twice.value.code == "AMEND.E014"
    assert [c.code for c in candidates(db, admin, UCM, "2.0")] == [isf]
    assert [(v.version, v.participants) for v in versions(db, admin, UCM)] == [
        ("2.0", 1),
        ("1.0", 1),
    ]


def test_all_at_once_reports_who_was_moved_and_who_was_not(
    db: Database, ctx: Context, admin: Context, person: People, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    third = register(db, ctx, UCM, "TEH").code
    screen_fail(db, ctx, UCM, third, "withdrew consent before screening")
    dm = person("dm.ucm", UCM, Role.DATA_MANAGER)
    lock(db, dm, UCM, scope="participant", participant=isf, reason="source review")
    _load(db, admin)
    listed = candidates(db, admin, UCM, "2.0")
    assert {c.code: c.blocked_by for c in listed} == {teh: None, isf: "locked", third: "ended"}
    blocked = {c.code: c.blocked for c in listed}
    assert blocked[teh] is None
    assert "source review" in (blocked[isf] or "")
    assert "screen_failed" in (blocked[third] or "")
    report = apply_to_all(db, admin, UCM, "2.0", "amendment 2 approved; re-consent obtained")
    assert report.moved == (teh,)
    why = dict(report.not_moved)
    assert set(why) == {isf, third}
    assert "locked by" in why[isf]
    assert "source review" in why[isf]
    assert "left the study" in why[third]
    assert get(db, ctx, UCM, teh).protocol_version == "2.0"
    assert get(db, ctx, UCM, isf).protocol_version == "1.0"
    with pytest.raises(LockedError):
        apply_version(db, admin, UCM, "2.0", isf, "re-consented")
    with pytest.raises(TransitionError) as ended:
        apply_version(db, admin, UCM, "2.0", third, "re-consented")
    assert ended.value.code == "AMEND.E015"


def test_only_the_study_wide_administrator(
    db: Database, person: People, admin: Context, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    _load(db, admin)
    local = person("admin.teh", UCM, Role.ADMINISTRATOR, site="TEH")
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    pi = person("pi.ucm", UCM, Role.PRINCIPAL_INVESTIGATOR)
    calls = (
        lambda who: preview_amendment(db, who, UCM, V2),
        lambda who: versions(db, who, UCM),
        lambda who: candidates(db, who, UCM, "2.0"),
        lambda who: approve_amendment(db, who, UCM, "1.0", approved_on=ON, **ETHICS),
        lambda who: apply_version(db, who, UCM, "2.0", teh, "re-consented"),
        lambda who: apply_to_all(db, who, UCM, "2.0", "re-consented"),
    )
    for who in (local, nurse, pi):
        for call in calls:
            with pytest.raises(AccessDenied):
                call(who)


def test_load_version_needs_the_approval_of_an_amendment(
    db: Database, ctx: Context, admin: Context
) -> None:
    with db.read() as conn:
        entries = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
    with pytest.raises(ConflictError) as refused:
        load_version(db, ctx, V2, source="v2.yaml")
    assert refused.value.code == "AMEND.E018"
    assert "amendment (loaded: 1.0)" in refused.value.message
    with db.read() as conn:  # the transaction rolled back: no version, no audit entry
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == (
            entries
        )
        assert (
            conn.execute(
                sa.select(protocol_version.c.version).where(protocol_version.c.version == "2.0")
            ).all()
            == []
        )
    with pytest.raises(ValidationFailed) as partial:
        load_version(db, ctx, V2, committee="REC")
    assert partial.value.code == "AMEND.E011"
    with pytest.raises(DefinitionError) as bad:
        load_version(db, ctx, BAD, approved_on=ON, **ETHICS)
    assert bad.value.code == "STUDY.E001"
    done = load_version(db, ctx, V2, approved_on=ON, **ETHICS)
    assert (done.loaded.version, done.loaded.created) == ("2.0", True)
    assert done.approval is not None
    assert (done.approval.reference, done.approval.recorded_by) == (ETHICS["reference"], "dr.amini")
    same = load_version(db, ctx, V2, approved_on=ON, **ETHICS)
    assert (same.loaded.created, same.approval) == (False, done.approval)
    assert load_version(db, ctx, V2).approval == done.approval  # no approval given: reported
    with pytest.raises(ConflictError) as other:
        load_version(db, ctx, V2, approved_on=date(2025, 2, 1), **ETHICS)
    assert other.value.code == "AMEND.E009"
    with pytest.raises(ConflictError) as first:
        load_version(db, ctx, TEXT, approved_on=ON, **ETHICS)
    assert first.value.code == "AMEND.E008"  # 1.0 was loaded without one: approve it instead
    assert [(v.version, v.approval is not None) for v in versions(db, admin, UCM)] == [
        ("2.0", True),
        ("1.0", False),
    ]
