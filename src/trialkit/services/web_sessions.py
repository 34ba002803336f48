"""Web sessions kept in the database: an opaque random cookie, idle and absolute timeouts.

A session is opened by :func:`sign_in` (the password checked by
:func:`trialkit.services.users.authenticate`, with its lockout and argon2 hashing) and gives
the browser a token of 256 random bits; only its SHA-256 is stored. Each request
:func:`resume` s the session into a fresh :class:`~trialkit.services.Context` (the grants read
at that moment) or refuses it:

* ``WEB.E001`` no such session (never issued, or the cookie was tampered with);
* ``WEB.E002`` the session was revoked (signed out, password changed, roles changed,
  deactivated);
* ``WEB.E003`` idle for longer than the idle timeout;
* ``WEB.E004`` past its absolute lifetime.

A session remembers a fingerprint of what it was granted on (the password hash, whether the
user is active or a platform administrator, and the memberships in force): when any of those
changes, the session is revoked at its next request, so a password change, a deactivation or a
role change signs the user out everywhere. The session, its user and the memberships in force
are read in one joined query, built once (a request's resume is one round trip, plus the
last-seen write at most every ten seconds).

Sessions are not clinical data: their rows are written outside the audit ledger. Signing in
and out is audited on the user (``web_sign_in``, ``web_sign_out``), never with the token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa

from trialkit.errors import AccessDenied, ValidationFailed
from trialkit.services.access import Grant, Principal, Role
from trialkit.services.context import Context, naive
from trialkit.services.users import authenticate, grants_of
from trialkit.store import Change, Database, Prepared, append
from trialkit.store.tables import app_user, membership, site, study, web_preference, web_session

__all__ = [
    "LANGUAGES",
    "NewSession",
    "ResumedSession",
    "preferred_language",
    "resume",
    "set_language",
    "sign_in",
    "sign_out",
]

#: The languages of the web application (catalogues in trialkit/web/locale).
LANGUAGES = ("en", "fa")
#: A session's last-seen time is written at most this often (it bounds the idle timeout's slack).
_TOUCH_EVERY = timedelta(seconds=10)


@dataclass(frozen=True)
class NewSession:
    """A session just opened: ``token`` goes into the cookie and is never stored."""

    token: str
    ctx: Context
    language: str
    expires_at: datetime


@dataclass(frozen=True)
class ResumedSession:
    ctx: Context
    session_id: int
    language: str
    idle_deadline: datetime
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _digest(password_hash: object, active: bool, is_admin: bool, grants: tuple[Grant, ...]) -> str:
    parts = [
        str(password_hash),
        str(active),
        str(is_admin),
        *sorted(f"{g.study}|{g.role.value}|{g.site}|{g.unblinded}" for g in grants),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _fingerprint(conn: sa.Connection, user_id: int, at: datetime) -> tuple[str, Principal | None]:
    row = conn.execute(sa.select(app_user).where(app_user.c.id == user_id)).first()
    if row is None:
        return "", None
    grants = grants_of(conn, user_id, at)
    principal = Principal(
        str(row.username),
        user_id,
        bool(row.is_admin),
        grants,
        display_name=str(row.display_name),
    )
    digest = _digest(row.password_hash, bool(row.active), bool(row.is_admin), grants)
    return digest, principal if row.active else None


# What :func:`resume` reads, in one query built once: the session, its user and the user's
# memberships in force at ``:at`` (one row per membership; one row with NULL membership
# columns when there is none), in the order of :func:`grants_of`. It runs on every request, so
# it is a :class:`~trialkit.store.Prepared` statement on the driver's cursor: its times are read
# as the stored text on SQLite (a DateTime column's result processor would send it through
# Core) and turned into datetimes here, its flags as stored (0/1 on SQLite, booleans on
# PostgreSQL) and tested for truth.
_AT = sa.bindparam("at", type_=sa.DateTime())
_GRANTED = membership.join(study, study.c.id == membership.c.study_id).outerjoin(
    site, site.c.id == membership.c.site_id
)


def _as_stored(column: Any) -> Any:
    """``column`` read as the driver gives it (no result processing)."""
    raw = sa.Integer() if isinstance(column.type, sa.Boolean) else sa.String()
    return sa.type_coerce(column, raw).label(column.name)


_RESUME = Prepared(
    sa.select(
        web_session.c.id,
        web_session.c.user_id,
        web_session.c.fingerprint,
        web_session.c.language,
        _as_stored(web_session.c.last_seen_at),
        _as_stored(web_session.c.expires_at),
        _as_stored(web_session.c.revoked_at),
        web_session.c.revoked_reason,
        app_user.c.id.label("found_user"),
        app_user.c.username,
        app_user.c.display_name,
        app_user.c.password_hash,
        _as_stored(app_user.c.active),
        _as_stored(app_user.c.is_admin),
        membership.c.id.label("membership_id"),
        study.c.code.label("study"),
        site.c.code.label("site"),
        membership.c.role,
        _as_stored(membership.c.unblinded),
        _as_stored(membership.c.granted_at),
    )
    .select_from(
        web_session.outerjoin(app_user, app_user.c.id == web_session.c.user_id).outerjoin(
            _GRANTED,
            sa.and_(
                membership.c.user_id == web_session.c.user_id,
                membership.c.granted_at <= _AT,
                sa.or_(membership.c.revoked_at.is_(None), membership.c.revoked_at > _AT),
            ),
        )
    )
    .where(web_session.c.token_hash == sa.bindparam("digest"))
    .order_by(membership.c.id)
)


def _when(value: Any) -> datetime | None:
    """A stored time: a datetime from PostgreSQL, SQLAlchemy's ISO text from SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class _SessionRow(NamedTuple):
    """The session's own columns of the joined read."""

    id: int
    user_id: int
    fingerprint: str
    language: str
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


def _resumed_rows(
    conn: sa.Connection, digest: str, at: datetime
) -> tuple[_SessionRow | None, str, Principal | None]:
    """The session row of ``digest``, and the fingerprint and principal of its user at ``at``
    (computed as :func:`_fingerprint` does, from the one joined read)."""
    rows = _RESUME.execute(conn, {"digest": digest, "at": at}).rows
    if not rows:
        return None, "", None
    first = rows[0]
    row = _SessionRow(
        int(first[0]),
        int(first[1]),
        str(first[2]),
        str(first[3]),
        _when(first[4]),  # type: ignore[arg-type]
        _when(first[5]),  # type: ignore[arg-type]
        _when(first[6]),
        first[7],
    )
    if first[8] is None:
        return row, "", None
    grants = tuple(
        Grant(r[15], Role(r[17]), r[16], bool(r[18]), _when(r[19]))
        for r in rows
        if r[14] is not None
    )
    username, display_name, password_hash, active, is_admin = first[9:14]
    principal = Principal(
        str(username), row.user_id, bool(is_admin), grants, display_name=str(display_name)
    )
    digest_ = _digest(password_hash, bool(active), bool(is_admin), grants)
    return row, digest_, principal if active else None


def _audit(conn: sa.Connection, username: str, user_id: int, at: datetime, what: str) -> None:
    append(
        conn,
        actor=username,
        at=at,
        changes=[Change(what, "app_user", str(user_id), "web_session", None, what, None, None)],
    )


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValidationFailed(
            f"language {language!r} is not offered",
            code="WEB.E010",
            errors={"language": [f"one of {', '.join(LANGUAGES)}"]},
        )
    return language


def preferred_language(db: Database, user_id: int) -> str | None:
    """The language the user chose last (None: never chose)."""
    with db.read() as conn:
        value = conn.execute(
            sa.select(web_preference.c.language).where(web_preference.c.user_id == user_id)
        ).scalar()
    return None if value is None else str(value)


def sign_in(
    db: Database,
    username: str,
    password: str,
    now: datetime,
    *,
    language: str,
    lifetime: timedelta,
) -> NewSession:
    """Check the password (lockout and all) and open a session of at most ``lifetime``.

    The session's language is the user's stored preference, else ``language``.
    """
    now = naive(now)
    _check_language(language)
    ctx = authenticate(db, username, password, now)
    user_id = ctx.principal.user_id
    assert user_id is not None
    token = secrets.token_urlsafe(32)
    expires = now + lifetime
    with db.write() as conn:
        stored = conn.execute(
            sa.select(web_preference.c.language).where(web_preference.c.user_id == user_id)
        ).scalar()
        chosen = str(stored) if stored in LANGUAGES else language
        fingerprint, _ = _fingerprint(conn, user_id, now)
        conn.execute(
            web_session.insert().values(
                user_id=user_id,
                token_hash=_hash(token),
                fingerprint=fingerprint,
                language=chosen,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
                revoked_at=None,
                revoked_reason=None,
            )
        )
        _audit(conn, username, user_id, now, "web_sign_in")
    return NewSession(token, ctx, chosen, expires)


def _revoke(conn: sa.Connection, session_id: int, now: datetime, reason: str) -> None:
    conn.execute(
        web_session.update()
        .where(web_session.c.id == session_id, web_session.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def resume(
    db: Database, token: str, now: datetime, *, idle: timedelta, touch: bool = True
) -> ResumedSession:
    """The session of ``token`` as a fresh context at ``now``, or a refusal (``WEB.E00x``).

    ``touch=False`` reads the session without counting the call as activity (the idle
    warning asking how long is left must not itself keep the session alive)."""
    now = naive(now)
    digest = _hash(token)
    with db.read_one() as conn:  # the one joined statement: one snapshot by itself
        row, fingerprint, principal = _resumed_rows(conn, digest, now)
    if row is None:
        raise AccessDenied("you are not signed in", code="WEB.E001", hint="sign in")
    problem: tuple[str, str, str] | None = None
    if row.revoked_at is not None:
        problem = ("WEB.E002", "your session has ended", str(row.revoked_reason))
    elif now >= row.expires_at:
        problem = ("WEB.E004", "your session reached its time limit", "expired")
    elif now - row.last_seen_at >= idle:
        problem = ("WEB.E003", "your session timed out after a period of inactivity", "idle")
    elif principal is None:
        problem = ("WEB.E002", "your session has ended", "deactivated")
    elif fingerprint != row.fingerprint:
        problem = ("WEB.E002", "your session has ended", "credentials_changed")
    if problem is not None:
        code, message, reason = problem
        if row.revoked_at is None:
            with db.engine.begin() as conn:
                _revoke(conn, int(row.id), now, reason)
        raise AccessDenied(message, code=code, hint="sign in again")
    assert principal is not None
    last_seen = row.last_seen_at
    if touch and now - last_seen >= _TOUCH_EVERY:
        with db.engine.begin() as conn:
            conn.execute(
                web_session.update().where(web_session.c.id == row.id).values(last_seen_at=now)
            )
        last_seen = now
    return ResumedSession(
        Context(principal, now),
        int(row.id),
        str(row.language),
        min(last_seen + idle, row.expires_at),
        row.expires_at,
    )


def sign_out(db: Database, token: str, now: datetime) -> None:
    """End the session of ``token`` (audited on its user); an unknown token is ignored."""
    now = naive(now)
    with db.write() as conn:
        row = conn.execute(
            sa.select(web_session.c.id, web_session.c.user_id, web_session.c.revoked_at).where(
                web_session.c.token_hash == _hash(token)
            )
        ).first()
        if row is None or row.revoked_at is not None:
            return
        _revoke(conn, int(row.id), now, "signed_out")
        username = conn.execute(
            sa.select(app_user.c.username).where(app_user.c.id == row.user_id)
        ).scalar_one()
        _audit(conn, str(username), int(row.user_id), now, "web_sign_out")


def set_language(db: Database, ctx: Context, session_id: int, language: str) -> None:
    """The acting user's language, for this session and their next ones."""
    _check_language(language)
    user_id = ctx.principal.user_id
    if user_id is None:
        raise AccessDenied("the operator has no web preferences", code="WEB.E011")
    with db.engine.begin() as conn:
        conn.execute(
            web_session.update()
            .where(web_session.c.id == session_id, web_session.c.user_id == user_id)
            .values(language=language)
        )
        done = conn.execute(
            web_preference.update()
            .where(web_preference.c.user_id == user_id)
            .values(language=language, updated_at=ctx.as_of)
        ).rowcount
        if not done:
            conn.execute(
                web_preference.insert().values(
                    user_id=user_id, language=language, updated_at=ctx.as_of
                )
            )
