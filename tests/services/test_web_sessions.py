"""Web sessions: opened with the password (and its lockout), resumed into a fresh context per
request, ended by sign-out, idleness, their lifetime, a password change, a role change or a
deactivation; signing in and out is audited, the token never stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from trialkit.errors import AccessDenied
from trialkit.services import Context, Role, add_membership, set_active, set_password
from trialkit.services.web_sessions import (
    preferred_language,
    resume,
    set_language,
    sign_in,
    sign_out,
)
from trialkit.store import Database
from trialkit.store.tables import audit_log, web_session

PASSWORD = "correct horse battery staple"  # as in conftest.py
T0 = datetime(2025, 3, 3, 9, 0)
UCM = "psoriasis-ucmsc"
People = Callable[..., Context]

IDLE = timedelta(minutes=30)
LIFE = timedelta(hours=12)


def _open(db: Database, username: str = "nurse.teh", language: str = "en") -> str:
    return sign_in(db, username, PASSWORD, T0, language=language, lifetime=LIFE).token


def _code(exc: pytest.ExceptionInfo[AccessDenied]) -> str:
    return exc.value.code


def test_a_session_resumes_into_the_users_context(db: Database, person: People) -> None:
    person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    token = _open(db)
    s = resume(db, token, T0 + timedelta(minutes=5), idle=IDLE)
    assert s.ctx.principal.username == "nurse.teh"
    assert s.ctx.principal.grants[0].site == "TEH"
    assert s.ctx.as_of == T0 + timedelta(minutes=5)
    assert s.idle_deadline == T0 + timedelta(minutes=35)
    with db.read() as conn:
        stored = conn.execute(sa.select(web_session.c.token_hash)).scalars().all()
        entries = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.new).where(
                audit_log.c.action == "web_sign_in"
            )
        ).all()
    assert token not in stored
    assert len(stored[0]) == 64
    assert len(entries) == 1
    assert token not in str(entries[0])


def test_idle_and_absolute_timeouts(db: Database, person: People) -> None:
    person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    token = _open(db)
    with pytest.raises(AccessDenied) as idle:
        resume(db, token, T0 + IDLE, idle=IDLE)
    assert _code(idle) == "WEB.E003"
    with pytest.raises(AccessDenied) as after:  # and it stays ended
        resume(db, token, T0 + timedelta(minutes=1), idle=IDLE)
    assert _code(after) == "WEB.E002"
    busy = _open(db)
    at = T0
    while at + timedelta(minutes=20) < T0 + LIFE:
        at += timedelta(minutes=20)
        resume(db, busy, at, idle=IDLE)
    with pytest.raises(AccessDenied) as life:
        resume(db, busy, T0 + LIFE, idle=IDLE)
    assert _code(life) == "WEB.E004"


def test_sign_out_ends_the_session_and_is_audited(db: Database, person: People) -> None:
    person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    token = _open(db)
    sign_out(db, token, T0 + timedelta(minutes=1))
    with pytest.raises(AccessDenied) as ended:
        resume(db, token, T0 + timedelta(minutes=2), idle=IDLE)
    assert _code(ended) == "WEB.E002"
    with pytest.raises(AccessDenied) as unknown:
        resume(db, "not-a-token", T0, idle=IDLE)
    assert _code(unknown) == "WEB.E001"
    with db.read() as conn:
        actions = conn.execute(
            sa.select(audit_log.c.action).where(audit_log.c.entity == "app_user")
        ).scalars()
        assert "web_sign_out" in set(actions)


def test_password_role_and_activation_changes_end_sessions(
    db: Database, ctx: Context, person: People
) -> None:
    person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    first = _open(db)
    set_password(db, ctx, "nurse.teh", "a brand new passphrase")
    with pytest.raises(AccessDenied) as changed:
        resume(db, first, T0 + timedelta(minutes=1), idle=IDLE)
    assert _code(changed) == "WEB.E002"
    second = sign_in(db, "nurse.teh", "a brand new passphrase", T0, language="en", lifetime=LIFE)
    add_membership(db, ctx.at(T0 + timedelta(minutes=1)), "nurse.teh", UCM, Role.MONITOR)
    with pytest.raises(AccessDenied):
        resume(db, second.token, T0 + timedelta(minutes=2), idle=IDLE)
    third = sign_in(
        db,
        "nurse.teh",
        "a brand new passphrase",
        T0 + timedelta(minutes=3),
        language="en",
        lifetime=LIFE,
    )
    set_active(db, ctx.at(T0 + timedelta(minutes=3)), "nurse.teh", False, "left the team")
    with pytest.raises(AccessDenied):
        resume(db, third.token, T0 + timedelta(minutes=4), idle=IDLE)


def test_wrong_passwords_and_the_lockout_apply(db: Database, person: People) -> None:
    person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    for _ in range(5):
        with pytest.raises(AccessDenied) as wrong:
            sign_in(db, "nurse.teh", "wrong password!", T0, language="en", lifetime=LIFE)
        assert _code(wrong) == "AUTH.E020"
    with pytest.raises(AccessDenied) as locked:
        _open(db)
    assert _code(locked) == "AUTH.E022"


def test_the_language_is_remembered(db: Database, person: People) -> None:
    person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    s = sign_in(db, "nurse.teh", PASSWORD, T0, language="en", lifetime=LIFE)
    user = resume(db, s.token, T0, idle=IDLE)
    assert user.language == "en"
    assert user.ctx.principal.user_id is not None
    assert preferred_language(db, user.ctx.principal.user_id) is None
    set_language(db, user.ctx, user.session_id, "fa")
    assert resume(db, s.token, T0, idle=IDLE).language == "fa"
    # the next session starts in the chosen language whatever the browser asks
    again = sign_in(db, "nurse.teh", PASSWORD, T0, language="en", lifetime=LIFE)
    assert again.language == "fa"


def test_the_joined_read_equals_the_fingerprint_of_separate_reads(
    db: Database, ctx: Context, person: People
) -> None:
    """``resume`` reads the session, the user and the memberships in one query: its fingerprint
    and principal are those of :func:`_fingerprint`'s separate reads, with no membership, with
    several (a site's and a study-wide one), and with one revoked."""
    from trialkit.services.users import revoke_membership
    from trialkit.services.web_sessions import _fingerprint, _hash, _resumed_rows
    from trialkit.store.tables import app_user

    person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")

    def same(token: str, at: datetime) -> None:
        with db.read() as conn:
            row, joined, principal = _resumed_rows(conn, _hash(token), at)
            user_id = conn.execute(
                sa.select(app_user.c.id).where(app_user.c.username == "nurse.teh")
            ).scalar_one()
            separate, expected = _fingerprint(conn, user_id, at)
        assert row is not None
        assert joined == separate == row.fingerprint
        assert principal == expected
        assert principal is not None
        assert principal.display_name == expected.display_name  # type: ignore[union-attr]

    same(_open(db), T0)
    added = add_membership(db, ctx.at(T0), "nurse.teh", UCM, Role.MONITOR)
    later = T0 + timedelta(minutes=1)
    same(sign_in(db, "nurse.teh", PASSWORD, later, language="en", lifetime=LIFE).token, later)
    revoke_membership(db, ctx.at(T0 + timedelta(minutes=2)), added.id, "moved on")
    with pytest.raises(AccessDenied) as revoked:  # the revocation ends the session
        resume(db, _open(db), T0 + timedelta(minutes=3), idle=IDLE)
    assert _code(revoked) == "WEB.E002"
    after = T0 + timedelta(minutes=3)
    same(sign_in(db, "nurse.teh", PASSWORD, after, language="en", lifetime=LIFE).token, after)
    with db.read() as conn:
        row, fingerprint, principal = _resumed_rows(conn, _hash("never issued"), after)
    assert (row, fingerprint, principal) == (None, "", None)


def test_the_session_read_runs_on_the_drivers_cursor(db: Database) -> None:
    """The per-request read is a direct :class:`Prepared` statement on both databases (no
    result processing: times parsed from SQLite's text, flags tested for truth)."""
    from trialkit.services.web_sessions import _RESUME
    from trialkit.store.direct import _compile

    assert _compile(_RESUME.statement, db.engine.dialect, ("digest", "at")) is not None
