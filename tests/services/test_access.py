"""Roles and sites, through the service layer, on real databases: one test per rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from trialkit.errors import AccessDenied
from trialkit.services import (
    BLINDED,
    ROLE_PERMISSIONS,
    Context,
    Permission,
    Role,
    add_membership,
    add_site,
    authenticate,
    calendar,
    consent,
    create_user,
    enrol,
    get_participant,
    history,
    list_memberships,
    list_sites,
    overdue,
    read_form,
    register,
    revoke_membership,
    save_form,
    screen,
    tidy_tables,
)
from trialkit.services.studies import protocol
from trialkit.store import Database
from trialkit.store.tables import audit_log

UCM = "psoriasis-ucmsc"
PASSWORD = "correct horse battery staple"
People = Callable[..., Context]
Screened = Callable[..., str]


@pytest.fixture
def screen_values(eligible_values: dict[str, dict[str, dict[str, str]]]) -> dict[str, str]:
    """The UC-MSC study's eligible screening form (the shared values of conftest)."""
    return eligible_values[UCM]["SCREEN"]


@pytest.fixture
def two_sites(db: Database, ctx: Context) -> tuple[str, str]:
    """A participant at TEH and one at ISF in the open-label UCM study."""
    add_site(db, ctx, UCM, "ISF", "Isfahan")
    return register(db, ctx, UCM, "TEH").code, register(db, ctx, UCM, "ISF").code


def test_a_coordinator_cannot_read_or_change_another_sites_participants(
    db: Database,
    ctx: Context,
    person: People,
    two_sites: tuple[str, str],
    screen_values: dict[str, str],
) -> None:
    teh, isf = two_sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    assert get_participant(db, nurse, UCM, teh).code == teh
    save_form(db, nurse, UCM, teh, visit="SCR", form_id="SCREEN", values=screen_values)
    with pytest.raises(AccessDenied) as denied:
        get_participant(db, nurse, UCM, isf)
    assert denied.value.code == "AUTH.E010"
    assert "coordinator at site TEH" in str(denied.value)
    assert "at site ISF" in str(denied.value)
    with pytest.raises(AccessDenied):
        save_form(db, nurse, UCM, isf, visit="SCR", form_id="SCREEN", values=screen_values)
    with pytest.raises(AccessDenied):
        calendar(db, nurse, UCM, isf, date(2025, 3, 3))
    with pytest.raises(AccessDenied):
        history(db, nurse, UCM, isf)
    with pytest.raises(AccessDenied):
        register(db, nurse, UCM, "ISF")
    with pytest.raises(AccessDenied):
        consent(db, nurse, UCM, isf, on=date(2025, 3, 3), form_version="1", obtained_by="x")
    # Nothing was written for the refused save.
    with pytest.raises(AccessDenied):
        read_form(db, nurse, UCM, isf, visit="SCR", form_id="SCREEN")
    assert [s.code for s in list_sites(db, nurse, UCM)] == ["TEH"]


def test_a_study_wide_membership_reaches_every_site(
    db: Database, ctx: Context, person: People, two_sites: tuple[str, str]
) -> None:
    teh, isf = two_sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    assert {get_participant(db, monitor, UCM, c).site for c in (teh, isf)} == {"TEH", "ISF"}
    assert [s.code for s in list_sites(db, monitor, UCM)] == ["ISF", "TEH"]


def test_reading_roles_cannot_enter_data(
    db: Database,
    ctx: Context,
    person: People,
    two_sites: tuple[str, str],
    screen_values: dict[str, str],
) -> None:
    teh, _ = two_sites
    for name, role in (
        ("monitor.a", Role.MONITOR),
        ("dm.a", Role.DATA_MANAGER),
        ("stats.a", Role.STATISTICIAN),
        ("dsmb.a", Role.SAFETY_BOARD),
        ("ro.a", Role.READ_ONLY),
        ("admin.a", Role.ADMINISTRATOR),
    ):
        who = person(name, UCM, role)
        assert get_participant(db, who, UCM, teh).code == teh
        with pytest.raises(AccessDenied):
            save_form(db, who, UCM, teh, visit="SCR", form_id="SCREEN", values=screen_values)
        with pytest.raises(AccessDenied):
            register(db, who, UCM, "TEH")


def test_no_membership_no_access(db: Database, ctx: Context, two_sites: tuple[str, str]) -> None:
    teh, _ = two_sites
    create_user(db, ctx, "stranger", PASSWORD, display_name="Stranger")
    stranger = authenticate(db, "stranger", PASSWORD, ctx.as_of)
    with pytest.raises(AccessDenied) as denied:
        get_participant(db, stranger, UCM, teh)
    assert "has no role in study psoriasis-ucmsc" in str(denied.value)
    with pytest.raises(AccessDenied):
        overdue(db, stranger, UCM, date(2025, 6, 1))
    with pytest.raises(AccessDenied):
        list_memberships(db, stranger, UCM)


def test_a_context_before_the_membership_starts_says_when_it_starts(
    db: Database, ctx: Context, two_sites: tuple[str, str]
) -> None:
    teh, _ = two_sites
    create_user(db, ctx, "late.nurse", PASSWORD, display_name="Late Nurse")
    granted = ctx.at(ctx.as_of + timedelta(days=2))
    add_membership(db, granted, "late.nurse", UCM, Role.COORDINATOR, site_code="TEH")
    early = authenticate(db, "late.nurse", PASSWORD, ctx.as_of + timedelta(days=1))
    with pytest.raises(AccessDenied) as denied:
        get_participant(db, early, UCM, teh)
    assert (
        "user 'late.nurse' has no role in study psoriasis-ucmsc yet: their membership as "
        "coordinator at site TEH starts 2025-03-05 09:00"
    ) in str(denied.value)
    # The same login dated after the start acts; dated before it again, it is refused again.
    later = early.at(granted.as_of)
    assert get_participant(db, later, UCM, teh).code == teh
    with pytest.raises(AccessDenied, match="starts 2025-03-05 09:00"):
        get_participant(db, later.at(ctx.as_of), UCM, teh)


def test_a_membership_in_one_study_gives_nothing_in_another(
    db: Database, ctx: Context, person: People, two_sites: tuple[str, str]
) -> None:
    nurse = person("nurse.pae", "psoriasis-adipose-exosomes", Role.COORDINATOR)
    with pytest.raises(AccessDenied):
        get_participant(db, nurse, UCM, two_sites[0])


def test_overdue_lists_only_the_readable_sites(
    db: Database, ctx: Context, person: People, two_sites: tuple[str, str]
) -> None:
    for code in two_sites:
        consent(db, ctx, UCM, code, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    everywhere = {o.participant for o in overdue(db, ctx, UCM, date(2026, 1, 1))}
    assert everywhere == set(two_sites)
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    assert {o.participant for o in overdue(db, nurse, UCM, date(2026, 1, 1))} == {two_sites[0]}


def test_analysis_needs_a_study_wide_analysing_role(
    db: Database, ctx: Context, person: People
) -> None:
    nurse = person("nurse.all", UCM, Role.COORDINATOR)
    with pytest.raises(AccessDenied):
        tidy_tables(db, nurse, UCM)
    local_stats = person("stats.teh", UCM, Role.STATISTICIAN, site="TEH")
    with pytest.raises(AccessDenied):
        tidy_tables(db, local_stats, UCM)
    stats = person("stats.all", UCM, Role.STATISTICIAN)
    assert tidy_tables(db, stats, UCM).observations == ()


def test_a_revoked_membership_ends_access(
    db: Database, ctx: Context, person: People, two_sites: tuple[str, str]
) -> None:
    teh, _ = two_sites
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    (m,) = [m for m in list_memberships(db, ctx, UCM) if m.username == "nurse.teh"]
    revoke_membership(db, ctx.at(ctx.as_of + timedelta(days=1)), m.id, "left the team")
    later = authenticate(db, "nurse.teh", PASSWORD, ctx.as_of + timedelta(days=2))
    with pytest.raises(AccessDenied):
        get_participant(db, later, UCM, teh)
    # A context taken before the revocation still carries the grant it was given; a session
    # re-reads its grants on each request (see docs/access.md).
    assert get_participant(db, nurse, UCM, teh).code == teh


def test_only_study_administrators_grant_memberships(
    db: Database, ctx: Context, person: People
) -> None:
    create_user(db, ctx, "newcomer", PASSWORD, display_name="Newcomer")
    pi = person("dr.pi", UCM, Role.PRINCIPAL_INVESTIGATOR)
    with pytest.raises(AccessDenied):
        add_membership(db, pi, "newcomer", UCM, Role.COORDINATOR, site_code="TEH")
    admin = person("study.admin", UCM, Role.ADMINISTRATOR)
    granted = add_membership(db, admin, "newcomer", UCM, Role.COORDINATOR, site_code="TEH")
    assert (granted.role, granted.site, granted.granted_by) == (
        Role.COORDINATOR,
        "TEH",
        "study.admin",
    )
    with pytest.raises(AccessDenied):  # a study administrator of UCM only
        add_membership(db, admin, "newcomer", "psoriasis-adipose-exosomes", Role.COORDINATOR)


def test_only_platform_administrators_create_users(
    db: Database, ctx: Context, person: People
) -> None:
    admin = person("study.admin", UCM, Role.ADMINISTRATOR)
    with pytest.raises(AccessDenied) as denied:
        create_user(db, admin, "someone", PASSWORD, display_name="Someone")
    assert denied.value.code == "AUTH.E011"


def test_every_role_has_a_documented_permission_set() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert Permission.SIGN_CASEBOOK in ROLE_PERMISSIONS[Role.PRINCIPAL_INVESTIGATOR]
    assert Permission.SIGN_CASEBOOK not in ROLE_PERMISSIONS[Role.INVESTIGATOR]
    assert Permission.WRITE not in ROLE_PERMISSIONS[Role.MONITOR]


def _enrolled_masked(screened: Screened, db: Database, ctx: Context, masked: str) -> str:
    code = screened(masked, like=UCM)
    enrolled = enrol(db, ctx, masked, code)
    assert enrolled.arm is not None
    return code


def test_blinded_roles_never_see_the_allocation(
    db: Database, ctx: Context, person: People, masked: str, screened: Screened
) -> None:
    code = _enrolled_masked(screened, db, ctx, masked)
    arm = get_participant(db, ctx, masked, code).arm
    with db.read() as conn:
        arms = {a.id for a in protocol(conn, masked).study.arms}
    assert arm in arms  # the operator sees the arm the participant was allocated to
    blinded = [
        person("nurse.m", masked, Role.COORDINATOR, site="TEH"),
        person("dr.m", masked, Role.INVESTIGATOR),
        person("monitor.m", masked, Role.MONITOR),
    ]
    for who in blinded:
        assert get_participant(db, who, masked, code).arm is None
        enrol_event = [e for e in history(db, who, masked, code) if e["step"] == "enrol"]
        assert enrol_event[0]["data"]["arm"] is None
    stats = person("stats.m", masked, Role.STATISTICIAN)
    assert tidy_tables(db, stats, masked).observations  # the screening values
    assert {o.arm for o in tidy_tables(db, stats, masked).observations} == {BLINDED}


def test_unblinded_roles_see_the_allocation(
    db: Database, ctx: Context, person: People, masked: str, screened: Screened
) -> None:
    code = _enrolled_masked(screened, db, ctx, masked)
    arm = get_participant(db, ctx, masked, code).arm
    dsmb = person("dsmb.m", masked, Role.SAFETY_BOARD)
    pharmacist = person("pharm.m", masked, Role.COORDINATOR, unblinded=True)
    assert get_participant(db, dsmb, masked, code).arm == arm
    assert get_participant(db, pharmacist, masked, code).arm == arm
    assert {o.arm for o in tidy_tables(db, dsmb, masked).observations} == {arm}


def test_an_open_label_study_hides_nothing(
    db: Database,
    ctx: Context,
    person: People,
    two_sites: tuple[str, str],
    eligible_values: dict[str, dict[str, dict[str, str]]],
) -> None:
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    teh = two_sites[0]
    consent(db, nurse, UCM, teh, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    for form_id, values in eligible_values[UCM].items():
        save_form(db, nurse, UCM, teh, visit="SCR", form_id=form_id, values=values)
    screen(db, nurse, UCM, teh)
    verdict = get_participant(db, nurse, UCM, teh).eligibility
    assert (verdict["status"], verdict["eligible"]) == ("evaluated", True)
    assert verdict["explanation"]["outcome"] == "eligible"
    assert verdict["explanation"]["failed"] == []
    assert verdict["explanation"]["missing"] == []


def test_the_audit_trail_names_the_user_who_acted(
    db: Database,
    ctx: Context,
    person: People,
    two_sites: tuple[str, str],
    screen_values: dict[str, str],
) -> None:
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    save_form(db, nurse, UCM, two_sites[0], visit="SCR", form_id="SCREEN", values=screen_values)
    with db.read() as conn:
        actors = set(
            conn.execute(
                sa.select(audit_log.c.actor).where(audit_log.c.entity == "form_instance")
            ).scalars()
        )
    assert actors == {"nurse.teh"}
