"""Users, argon2 passwords, lockout, API tokens and memberships on real databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from trialkit.errors import AccessDenied, ConflictError, ValidationFailed
from trialkit.services import (
    Context,
    Role,
    add_membership,
    authenticate,
    context_for_token,
    create_user,
    get_participant,
    issue_token,
    register,
    revoke_token,
    set_active,
    set_password,
)
from trialkit.services.users import LOCKOUT, MAX_FAILED_LOGINS, MIN_PASSWORD_LENGTH
from trialkit.store import Database
from trialkit.store.tables import api_token, app_user, audit_log

UCM = "psoriasis-ucmsc"
PASSWORD = "correct horse battery staple"


def test_passwords_are_stored_as_argon2id_hashes(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    with db.read() as conn:
        stored = conn.execute(sa.select(app_user.c.password_hash)).scalar_one()
        audited = " ".join(
            str(v) for v in conn.execute(sa.select(audit_log.c.old, audit_log.c.new)).all()
        )
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert stored not in audited
    assert PASSWORD not in audited


def test_login_gives_the_users_grants(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    add_membership(db, ctx, "s.karimi", UCM, Role.INVESTIGATOR, site_code="TEH")
    me = authenticate(db, "s.karimi", PASSWORD, ctx.as_of)
    assert me.actor == "s.karimi"
    assert not me.principal.operator
    assert [(g.study, g.role, g.site) for g in me.principal.grants] == [
        (UCM, Role.INVESTIGATOR, "TEH")
    ]


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [
        ("s.karimi", "short", "AUTH.E001"),
        ("s.karimi", "s.karimi", "AUTH.E001"),
        ("S Karimi", PASSWORD, "AUTH.E003"),
    ],
)
def test_bad_users_are_refused_with_the_reason(
    db: Database, ctx: Context, username: str, password: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create_user(db, ctx, username, password, display_name="X")
    assert refused.value.code == code


def test_the_minimum_length_is_exact(db: Database, ctx: Context) -> None:
    with pytest.raises(ValidationFailed):
        create_user(db, ctx, "a.b", "x" * (MIN_PASSWORD_LENGTH - 1), display_name="A B")
    create_user(db, ctx, "a.b", "x" * MIN_PASSWORD_LENGTH, display_name="A B")
    with pytest.raises(ConflictError):
        create_user(db, ctx, "a.b", PASSWORD, display_name="A B")


def test_wrong_and_unknown_logins_look_alike(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    with pytest.raises(AccessDenied) as wrong:
        authenticate(db, "s.karimi", "not the password", ctx.as_of)
    with pytest.raises(AccessDenied) as unknown:
        authenticate(db, "nobody", "not the password", ctx.as_of)
    assert str(wrong.value) == str(unknown.value) == "unknown user or wrong password"
    assert wrong.value.code == unknown.value.code == "AUTH.E020"


def test_lockout_after_repeated_failures_and_reset(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AccessDenied):
            authenticate(db, "s.karimi", "not the password", ctx.as_of)
    with pytest.raises(AccessDenied) as locked:
        authenticate(db, "s.karimi", PASSWORD, ctx.as_of + timedelta(minutes=1))
    assert locked.value.code == "AUTH.E022"
    # After the lockout period the right password works again and clears the counter.
    after = ctx.as_of + LOCKOUT + timedelta(seconds=1)
    assert authenticate(db, "s.karimi", PASSWORD, after).actor == "s.karimi"
    with db.read() as conn:
        assert conn.execute(sa.select(app_user.c.failed_logins)).scalar_one() == 0


def test_four_failures_do_not_lock(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AccessDenied):
            authenticate(db, "s.karimi", "not the password", ctx.as_of)
    assert authenticate(db, "s.karimi", PASSWORD, ctx.as_of).actor == "s.karimi"


def test_changing_a_password(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    me = authenticate(db, "s.karimi", PASSWORD, ctx.as_of)
    with pytest.raises(AccessDenied):
        set_password(db, me, "s.karimi", "a new long passphrase", current="wrong one")
    set_password(db, me, "s.karimi", "a new long passphrase", current=PASSWORD)
    with pytest.raises(AccessDenied):
        authenticate(db, "s.karimi", PASSWORD, ctx.as_of)
    assert authenticate(db, "s.karimi", "a new long passphrase", ctx.as_of).actor == "s.karimi"
    create_user(db, ctx, "other", PASSWORD, display_name="Other")
    with pytest.raises(AccessDenied):  # not an administrator
        set_password(db, me, "other", "a new long passphrase")


def test_a_deactivated_user_cannot_log_in_or_use_tokens(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    me = authenticate(db, "s.karimi", PASSWORD, ctx.as_of)
    token = issue_token(db, me, "laboratory import").token
    set_active(db, ctx, "s.karimi", False, "left the study team")
    with pytest.raises(AccessDenied) as refused:
        authenticate(db, "s.karimi", PASSWORD, ctx.as_of)
    assert refused.value.code == "AUTH.E021"
    with pytest.raises(AccessDenied):
        context_for_token(db, token, ctx.as_of)


def test_api_tokens_are_stored_hashed_and_give_the_users_access(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    add_membership(db, ctx, "s.karimi", UCM, Role.COORDINATOR, site_code="TEH")
    me = authenticate(db, "s.karimi", PASSWORD, ctx.as_of)
    issued = issue_token(db, me, "REDCap client script", expires_at=ctx.as_of + timedelta(days=30))
    assert issued.token.startswith("tk_")
    with db.read() as conn:
        row = conn.execute(sa.select(api_token)).one()
        audit_text = " ".join(
            str(v) for v in conn.execute(sa.select(audit_log.c.new)).scalars().all()
        )
    assert issued.token not in (row.token_hash, row.prefix)
    assert issued.token not in audit_text
    assert row.token_hash not in audit_text
    via_token = context_for_token(db, issued.token, ctx.as_of + timedelta(days=1))
    assert via_token.actor == "s.karimi"
    code = register(db, via_token, UCM, "TEH").code
    assert get_participant(db, via_token, UCM, code).site == "TEH"


def test_expired_revoked_and_forged_tokens_are_refused(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    me = authenticate(db, "s.karimi", PASSWORD, ctx.as_of)
    short = issue_token(db, me, "short-lived", expires_at=ctx.as_of + timedelta(hours=1))
    with pytest.raises(AccessDenied) as expired:
        context_for_token(db, short.token, ctx.as_of + timedelta(hours=1))
    assert expired.value.code == "AUTH.E035"
    kept = issue_token(db, me, "to revoke")
    revoke_token(db, me, kept.id)
    with pytest.raises(AccessDenied) as revoked:
        context_for_token(db, kept.token, ctx.as_of)
    assert revoked.value.code == "AUTH.E034"
    for forged in ("tk_" + "A" * 43, "not-a-token", kept.token[:-1]):
        with pytest.raises(AccessDenied) as bad:
            context_for_token(db, forged, ctx.as_of)
        assert bad.value.code == "AUTH.E033"


def test_unknown_roles_are_refused_with_the_list(db: Database, ctx: Context) -> None:
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    with pytest.raises(ValidationFailed) as refused:
        add_membership(db, ctx, "s.karimi", UCM, "nurse")
    assert "coordinator" in (refused.value.hint or "")
