"""Users, passwords, API tokens and memberships; and how a request becomes a :class:`Context`.

* Passwords are hashed with argon2id (``argon2-cffi``'s RFC 9106 low-memory profile) and
  re-hashed on the next login when the parameters change. A password has at least
  :data:`MIN_PASSWORD_LENGTH` characters and is not the user name. After
  :data:`MAX_FAILED_LOGINS` wrong passwords in a row the account refuses logins for
  :data:`LOCKOUT` (counted from the last failure).
* API tokens are random (``tk_`` + 43 URL-safe characters, 256 bits). Only their SHA-256 is
  stored (a slow hash adds nothing to a secret of that strength) with their first characters
  for recognition; the token itself is shown once, when it is issued. Tokens may expire and
  can be revoked. A REDCap token (``redcap=True``, for the REDCap-compatible endpoint) is 32
  upper-case hexadecimal characters (128 bits, the shape REDCap clients check), always limited
  to one study, compared case-insensitively, and accepted only by :func:`redcap_context`;
  :func:`context_for_token` refuses it, as the REDCap endpoint refuses ``tk_`` tokens.
* Memberships give a role in a study, at one site or at all of them (see
  :mod:`trialkit.services.access`). Granting and revoking are audited changes; so are users'
  creation, (de)activation and password changes - the audit trail records that the password
  changed, never the hash.

Failed logins say "unknown user or wrong password" whichever it was, and take as long.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trialkit.errors import AccessDenied, ConflictError, NotFound, ValidationFailed
from trialkit.services import studies
from trialkit.services.access import (
    Grant,
    Permission,
    Principal,
    Role,
    require,
    require_admin,
    visible_sites,
)
from trialkit.services.context import Context, naive
from trialkit.services.records import FieldChange, write
from trialkit.store import Database
from trialkit.store.tables import api_token, app_user, membership, participant, site, study

__all__ = [
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "TOKEN_PREFIX",
    "IssuedToken",
    "Membership",
    "SiteInfo",
    "TokenInfo",
    "User",
    "UserSummary",
    "add_membership",
    "authenticate",
    "confirm_password",
    "context_for_token",
    "create_user",
    "get_user",
    "grants_of",
    "issue_token",
    "list_memberships",
    "list_sites",
    "list_tokens",
    "list_users",
    "redcap_context",
    "revoke_membership",
    "revoke_token",
    "set_active",
    "set_password",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_PREFIX = "tk_"
_REDCAP_TOKEN = re.compile(r"[0-9A-F]{32}")
_REDCAP_SHOWN = 4  # of a REDCap token's 32 characters, the ones kept for recognition

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so that a failed login takes as long.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
_BAD_LOGIN = "unknown user or wrong password"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    email: str | None
    is_admin: bool
    active: bool
    version: int


@dataclass(frozen=True)
class Membership:
    id: int
    username: str
    study: str
    site: str | None
    role: Role
    unblinded: bool
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: ``token`` is shown this once and never stored."""

    id: int
    name: str
    token: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: never the token itself, only its first characters."""

    id: int
    username: str
    name: str
    prefix: str
    study: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, at: datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``at``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= naive(at):
            return "expired"
        return "active"


@dataclass(frozen=True)
class UserSummary:
    """A user with the memberships in force (for ``trialkit user list``)."""

    user: User
    memberships: tuple[Membership, ...]
    locked_until: datetime | None


@dataclass(frozen=True)
class SiteInfo:
    code: str
    name: str
    participants: int


def _check_password(username: str, password: str) -> None:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"it has {len(password)} characters; at least {MIN_PASSWORD_LENGTH}")
    if password.strip().lower() == username.lower():
        problems.append("it is the user name")
    if problems:
        raise ValidationFailed(
            "the password is too weak: " + "; ".join(problems),
            code="AUTH.E001",
            errors={"password": problems},
            hint=f"choose a passphrase of {MIN_PASSWORD_LENGTH} or more characters",
        )


def _user_row(conn: sa.Connection, username: str) -> sa.Row[tuple[object, ...]] | None:
    return conn.execute(sa.select(app_user).where(app_user.c.username == username)).first()


def _user(row: sa.Row[tuple[object, ...]]) -> User:
    m = row._mapping
    return User(
        int(m["id"]),
        str(m["username"]),
        str(m["display_name"]),
        None if m["email"] is None else str(m["email"]),
        bool(m["is_admin"]),
        bool(m["active"]),
        int(m["version"]),
    )


def _need_user(conn: sa.Connection, username: str) -> sa.Row[tuple[object, ...]]:
    row = _user_row(conn, username)
    if row is None:
        raise NotFound(f"no user {username!r}", code="AUTH.E002", hint="create the user first")
    return row


def create_user(
    db: Database,
    ctx: Context,
    username: str,
    password: str,
    *,
    display_name: str,
    email: str | None = None,
    is_admin: bool = False,
) -> User:
    """Create an active user (platform administrators only)."""
    require_admin(ctx.principal, "create users")
    if not _USERNAME.fullmatch(username):
        raise ValidationFailed(
            f"user name {username!r} is not allowed",
            code="AUTH.E003",
            errors={
                "username": ["2-64 characters: lower-case letters, digits, '.', '_', '@', '-'"]
            },
            hint="e.g. s.karimi",
        )
    if not display_name.strip():
        raise ValidationFailed(
            "a user needs a display name (it is shown with their signatures)",
            code="AUTH.E004",
            errors={"display_name": ["required"]},
        )
    _check_password(username, password)
    hashed = _HASHER.hash(password)
    with db.write() as conn:
        if _user_row(conn, username) is not None:
            raise ConflictError(f"user {username!r} exists already", code="AUTH.E005")
        values = {
            "username": username,
            "display_name": display_name.strip(),
            "email": email,
            "password_hash": hashed,
            "is_admin": is_admin,
            "active": True,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": ctx.as_of,
            "version": 1,
        }
        audited = [
            FieldChange(k, None, v)
            for k, v in sorted(values.items())
            if k not in ("password_hash", "locked_until")
        ] + [FieldChange("password", None, "set")]
        write(conn, ctx, table=app_user, action="create_user", values=values, changes=audited)
        return _user(_need_user(conn, username))


def get_user(db: Database, username: str) -> User:
    with db.read() as conn:
        return _user(_need_user(conn, username))


def set_password(
    db: Database, ctx: Context, username: str, new_password: str, *, current: str | None = None
) -> None:
    """Change a password: by the user (giving ``current``) or by a platform administrator.

    A reset also clears a lockout.
    """
    _check_password(username, new_password)
    own = ctx.principal.username == username and not ctx.principal.operator
    if own:
        if current is None or not verify_password(db, username, current):
            raise AccessDenied(
                "the current password is wrong", code="AUTH.E006", hint="give your current one"
            )
    else:
        require_admin(ctx.principal, f"set the password of {username!r}")
    hashed = _HASHER.hash(new_password)
    with db.write() as conn:
        row = _need_user(conn, username)
        write(
            conn,
            ctx,
            table=app_user,
            row_id=int(row.id),
            action="set_password",
            values={"password_hash": hashed, "failed_logins": 0, "locked_until": None},
            changes=[FieldChange("password", "set", "changed"), *_unlocked(row)],
        )


def set_active(db: Database, ctx: Context, username: str, active: bool, reason: str) -> None:
    """Deactivate (no login, no token) or reactivate a user; audited with ``reason``."""
    require_admin(ctx.principal, "activate or deactivate users")
    if not reason.strip():
        raise ValidationFailed("give the reason", code="AUTH.E007", errors={"reason": ["required"]})
    with db.write() as conn:
        row = _need_user(conn, username)
        write(
            conn,
            ctx,
            table=app_user,
            row_id=int(row.id),
            action="activate" if active else "deactivate",
            values={"active": active, "failed_logins": 0, "locked_until": None},
            changes=[FieldChange("active", bool(row.active), active), *_unlocked(row)],
            reason=reason,
        )


def _unlocked(row: Any) -> list[FieldChange]:
    """The entries of clearing a user's login bookkeeping (a password reset, a reactivation)."""
    changes = []
    if row.failed_logins:
        changes.append(FieldChange("failed_logins", int(str(row.failed_logins)), 0))
    if row.locked_until is not None:
        changes.append(FieldChange("locked_until", row.locked_until, None))
    return changes


def verify_password(db: Database, username: str, password: str) -> bool:
    """Whether ``password`` is the user's (no lockout bookkeeping; see :func:`authenticate`)."""
    with db.read() as conn:
        row = _user_row(conn, username)
    stored = None if row is None else row.password_hash
    return _verify(str(stored or _DUMMY_HASH), password) and row is not None


def _verify(stored: str, password: str) -> bool:
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def grants_of(
    conn: sa.Connection, user_id: int, at: datetime, *, upcoming: bool = False
) -> tuple[Grant, ...]:
    """The user's memberships in force at ``at`` (``upcoming``: those that start after it)."""
    started = membership.c.granted_at > at if upcoming else membership.c.granted_at <= at
    rows = conn.execute(
        sa.select(
            study.c.code.label("study"),
            site.c.code.label("site"),
            membership.c.role,
            membership.c.unblinded,
            membership.c.granted_at,
        )
        .join(study, study.c.id == membership.c.study_id)
        .outerjoin(site, site.c.id == membership.c.site_id)
        .where(
            membership.c.user_id == user_id,
            started,
            sa.or_(membership.c.revoked_at.is_(None), membership.c.revoked_at > at),
        )
        .order_by(membership.c.id)
    ).all()
    return tuple(
        Grant(r.study, Role(r.role), r.site, bool(r.unblinded), r.granted_at) for r in rows
    )


def _principal(conn: sa.Connection, row: sa.Row[tuple[object, ...]], at: datetime) -> Principal:
    return Principal(
        str(row.username),
        int(str(row.id)),
        bool(row.is_admin),
        grants_of(conn, int(str(row.id)), at),
        display_name=str(row.display_name),
        upcoming=grants_of(conn, int(str(row.id)), at, upcoming=True),
    )


def authenticate(db: Database, username: str, password: str, as_of: datetime) -> Context:
    """Check a password and return the user's context, or refuse (audited either way)."""
    as_of = naive(as_of)
    _attempt(db, username, password, as_of, "login")
    with db.read() as conn:
        row = _need_user(conn, username)
        return Context(_principal(conn, row, as_of), as_of)


def confirm_password(db: Database, ctx: Context, password: str) -> None:
    """Re-check the acting user's password (to sign, say), under the same lockout as a login.

    Refuses with ``AUTH.E020`` (wrong), ``AUTH.E021`` (deactivated) or ``AUTH.E022`` (locked
    out); a wrong password counts toward the lockout, so a session cannot be used to guess it.
    """
    if ctx.principal.operator or ctx.principal.user_id is None:
        raise AccessDenied(
            f"{ctx.principal.username!r} is the operator and has no password", code="AUTH.E023"
        )
    _attempt(db, ctx.principal.username, password, ctx.as_of, "password_confirmed")


def _attempt(db: Database, username: str, password: str, as_of: datetime, action: str) -> None:
    """Verify a password with the lockout bookkeeping; raises on refusal (after committing the
    failure count)."""
    system = Context.operator("trialkit.auth", as_of)
    with db.write() as conn:
        row = _user_row(conn, username)
        stored = _DUMMY_HASH if row is None or row.password_hash is None else row.password_hash
        ok = _verify(str(stored), password)
        if row is None or row.password_hash is None:
            raise AccessDenied(_BAD_LOGIN, code="AUTH.E020")
        uid = int(str(row.id))
        if ok and not row.active:
            raise AccessDenied(
                f"user {username!r} is deactivated", code="AUTH.E021", hint="ask an administrator"
            )
        locked_until = row.locked_until
        if isinstance(locked_until, datetime) and locked_until > as_of:
            raise AccessDenied(
                f"user {username!r} is locked out after {MAX_FAILED_LOGINS} wrong passwords "
                f"until {locked_until:%Y-%m-%d %H:%M}",
                code="AUTH.E022",
                hint="wait, or ask an administrator to reset the password",
            )
        if not ok:
            failed = int(str(row.failed_logins)) + 1
            lock = as_of + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
            write(
                conn,
                system,
                table=app_user,
                row_id=uid,
                action=f"{action}_failed",
                values={"failed_logins": failed, "locked_until": lock},
                changes=[
                    FieldChange("failed_logins", failed - 1, failed),
                    *(
                        [FieldChange("locked_until", row.locked_until, lock)]
                        if row.locked_until != lock
                        else []
                    ),
                ],
            )
        else:
            updates: dict[str, object] = {}
            if row.failed_logins or row.locked_until is not None:
                updates.update(failed_logins=0, locked_until=None)
            if _HASHER.check_needs_rehash(str(row.password_hash)):
                updates["password_hash"] = _HASHER.hash(password)
            if updates:
                write(
                    conn,
                    system,
                    table=app_user,
                    row_id=uid,
                    action=action,
                    values=updates,
                    changes=[FieldChange("failed_logins", int(str(row.failed_logins)), 0)]
                    + (
                        [FieldChange("locked_until", row.locked_until, None)]
                        if "locked_until" in updates
                        else []
                    ),
                )
            return
    # The failed attempt is committed (the counter must persist) before refusing.
    raise AccessDenied(_BAD_LOGIN, code="AUTH.E020")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    db: Database,
    ctx: Context,
    name: str,
    *,
    expires_at: datetime | None = None,
    username: str | None = None,
    study_code: str | None = None,
    redcap: bool = False,
) -> IssuedToken:
    """A new API token (shown once) for the acting user, or for ``username``.

    Issuing a token for another user needs a platform administrator (or the operator).
    ``study_code`` limits the token to that study: its context carries only the user's
    memberships there. ``redcap`` issues a REDCap token (32 hexadecimal characters) for the
    REDCap-compatible endpoint, which needs ``study_code`` (a REDCap token is one project's).
    """
    own = username is None or (username == ctx.principal.username and not ctx.principal.operator)
    if own and ctx.principal.user_id is None:
        raise AccessDenied("API tokens belong to users; the operator has none", code="AUTH.E030")
    if not own:
        require_admin(ctx.principal, f"issue an API token for {username!r}")
    if not name.strip():
        raise ValidationFailed(
            "name the token (what it is for)", code="AUTH.E031", errors={"name": ["required"]}
        )
    if expires_at is not None and naive(expires_at) <= ctx.as_of:
        raise ValidationFailed(
            f"the expiry {expires_at:%Y-%m-%d %H:%M} is not in the future",
            code="AUTH.E036",
            errors={"expires_at": ["must be later than now"]},
            hint="give a later date, or none for a token that does not expire",
        )
    if redcap and study_code is None:
        raise ValidationFailed(
            "a REDCap token belongs to one study; give the study",
            code="AUTH.E037",
            errors={"study": ["required with --redcap"]},
            hint="add --study ID",
        )
    if redcap:
        token = secrets.token_hex(16).upper()
        prefix = token[:_REDCAP_SHOWN]
    else:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        prefix = token[:10]
    with db.write() as conn:
        if own:
            user_id = ctx.principal.user_id
        else:
            assert username is not None
            target = _need_user(conn, username)
            if not target.active:
                raise AccessDenied(
                    f"user {username!r} is deactivated", code="AUTH.E021", hint="reactivate first"
                )
            user_id = int(str(target.id))
        study_id = None if study_code is None else studies.protocol(conn, study_code).study_id
        token_id = write(
            conn,
            ctx,
            table=api_token,
            action="issue_token",
            values={
                "user_id": user_id,
                "name": name.strip(),
                "prefix": prefix,
                "token_hash": _token_hash(token),
                "created_at": ctx.as_of,
                "expires_at": None if expires_at is None else naive(expires_at),
                "revoked_at": None,
                "study_id": study_id,
            },
            changes=[
                FieldChange("user_id", None, user_id),
                FieldChange("name", None, name.strip()),
                FieldChange("prefix", None, prefix),
                FieldChange("created_at", None, ctx.as_of),
                FieldChange("expires_at", None, None if expires_at is None else naive(expires_at)),
                FieldChange("study", None, study_code),
                FieldChange("study_id", None, study_id),
            ],
        )
    return IssuedToken(token_id, name.strip(), token, expires_at)


def list_tokens(db: Database, ctx: Context, username: str | None = None) -> list[TokenInfo]:
    """API tokens, newest first: the acting user's own, or (administrators) anyone's.

    ``username`` None lists every user's tokens for an administrator, one's own otherwise.
    """
    principal = ctx.principal
    mine = principal.user_id is not None and username in (None, principal.username)
    if not mine:
        require_admin(principal, "list other users' API tokens")
    q = (
        sa.select(
            api_token.c.id,
            app_user.c.username,
            api_token.c.name,
            api_token.c.prefix,
            study.c.code.label("study"),
            api_token.c.created_at,
            api_token.c.expires_at,
            api_token.c.revoked_at,
        )
        .join(app_user, app_user.c.id == api_token.c.user_id)
        .outerjoin(study, study.c.id == api_token.c.study_id)
        .order_by(api_token.c.id.desc())
    )
    if mine:
        q = q.where(api_token.c.user_id == principal.user_id)
    elif username is not None:
        q = q.where(app_user.c.username == username)
    with db.read() as conn:
        if username is not None and not mine:
            _need_user(conn, username)
        return [
            TokenInfo(
                int(r.id),
                r.username,
                r.name,
                r.prefix,
                r.study,
                r.created_at,
                r.expires_at,
                r.revoked_at,
            )
            for r in conn.execute(q)
        ]


def list_users(db: Database, ctx: Context) -> list[UserSummary]:
    """Every user with the memberships in force at ``ctx.as_of`` (platform administrators)."""
    require_admin(ctx.principal, "list users")
    with db.read() as conn:
        users = conn.execute(sa.select(app_user).order_by(app_user.c.username)).all()
        rows = conn.execute(
            sa.select(
                membership,
                app_user.c.username,
                study.c.code.label("study_code"),
                site.c.code.label("site_code"),
            )
            .join(app_user, app_user.c.id == membership.c.user_id)
            .join(study, study.c.id == membership.c.study_id)
            .outerjoin(site, site.c.id == membership.c.site_id)
            .where(
                membership.c.granted_at <= ctx.as_of,
                sa.or_(membership.c.revoked_at.is_(None), membership.c.revoked_at > ctx.as_of),
            )
            .order_by(study.c.code, membership.c.id)
        ).all()
    by_user: dict[str, list[Membership]] = {}
    for r in rows:
        by_user.setdefault(r.username, []).append(
            Membership(
                int(r.id),
                r.username,
                r.study_code,
                r.site_code,
                Role(r.role),
                bool(r.unblinded),
                r.granted_by,
                r.granted_at,
            )
        )
    out = []
    for row in users:
        locked = row.locked_until
        out.append(
            UserSummary(
                _user(row),
                tuple(by_user.get(str(row.username), ())),
                locked if isinstance(locked, datetime) and locked > ctx.as_of else None,
            )
        )
    return out


def revoke_token(db: Database, ctx: Context, token_id: int) -> None:
    """Revoke a token: its owner or a platform administrator."""
    with db.write() as conn:
        row = conn.execute(sa.select(api_token).where(api_token.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"no API token {token_id}", code="AUTH.E032")
        if row.user_id != ctx.principal.user_id:
            require_admin(ctx.principal, "revoke another user's token")
        if row.revoked_at is not None:
            return
        write(
            conn,
            ctx,
            table=api_token,
            row_id=token_id,
            action="revoke_token",
            values={"revoked_at": ctx.as_of},
        )


def context_for_token(db: Database, token: str, as_of: datetime) -> Context:
    """The context of the user a presented API token belongs to, or a refusal."""
    if not token.startswith(TOKEN_PREFIX):
        raise AccessDenied("the API token is not valid", code="AUTH.E033")
    return _token_context(db, token, as_of)[0]


def redcap_context(db: Database, token: str, as_of: datetime) -> tuple[Context, str]:
    """The context and study of a presented REDCap token (any letter case), or a refusal."""
    upper = token.strip().upper()
    if not _REDCAP_TOKEN.fullmatch(upper):
        raise AccessDenied(
            "the REDCap API token is not valid",
            code="AUTH.E033",
            hint="a REDCap token has 32 hexadecimal characters: trialkit token create USER "
            "--study ID --redcap",
        )
    ctx, study_code = _token_context(db, upper, as_of)
    assert study_code is not None  # issue_token gives every REDCap token a study
    return ctx, study_code


def _token_context(db: Database, token: str, as_of: datetime) -> tuple[Context, str | None]:
    as_of = naive(as_of)
    refused = AccessDenied("the API token is not valid", code="AUTH.E033")
    digest = _token_hash(token)
    with db.read() as conn:
        row = conn.execute(
            sa.select(api_token, app_user.c.active)
            .join(app_user, app_user.c.id == api_token.c.user_id)
            .where(api_token.c.token_hash == digest)
        ).first()
        if row is None or not hmac.compare_digest(str(row.token_hash), digest):
            raise refused
        if row.revoked_at is not None:
            raise AccessDenied("the API token was revoked", code="AUTH.E034")
        if row.expires_at is not None and row.expires_at <= as_of:
            raise AccessDenied(
                f"the API token expired on {row.expires_at:%Y-%m-%d %H:%M}",
                code="AUTH.E035",
                hint="issue a new token",
            )
        if not row.active:
            raise AccessDenied("the token's user is deactivated", code="AUTH.E021")
        user = conn.execute(sa.select(app_user).where(app_user.c.id == row.user_id)).one()
        principal = _principal(conn, user, as_of)
        only = None
        if row.study_id is not None:  # a token limited to one study carries only its grants
            code = conn.execute(sa.select(study.c.code).where(study.c.id == row.study_id))
            only = str(code.scalar_one())
            principal = replace(principal, grants=tuple(principal.grants_in(only)), is_admin=False)
        return Context(principal, as_of), only


def _site_id(conn: sa.Connection, study_id: int, study_code: str, code: str | None) -> int | None:
    if code is None:
        return None
    sid = conn.execute(
        sa.select(site.c.id).where(site.c.study_id == study_id, site.c.code == code)
    ).scalar()
    if sid is None:
        raise NotFound(f"study {study_code}: no site {code!r}", code="AUTH.E040")
    return int(sid)


def add_membership(
    db: Database,
    ctx: Context,
    username: str,
    study_code: str,
    role: Role | str,
    *,
    site_code: str | None = None,
    unblinded: bool = False,
) -> Membership:
    """Give ``username`` ``role`` in a study (at ``site_code``, or at every site).

    The study's administrators and platform administrators may grant memberships.
    """
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(
            f"role {role!r} does not exist",
            code="AUTH.E041",
            errors={"role": [", ".join(r.value for r in Role)]},
            hint="roles: " + ", ".join(r.value for r in Role),
        ) from None
    if not ctx.principal.is_admin:
        require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    with db.write() as conn:
        ref = studies.protocol(conn, study_code)
        user = _need_user(conn, username)
        site_id = _site_id(conn, ref.study_id, study_code, site_code)
        dup = conn.execute(
            sa.select(membership.c.id).where(
                membership.c.user_id == user.id,
                membership.c.study_id == ref.study_id,
                membership.c.role == role.value,
                membership.c.site_id.is_(None)
                if site_id is None
                else membership.c.site_id == site_id,
                membership.c.revoked_at.is_(None),
            )
        ).first()
        if dup is not None:
            where = f"site {site_code}" if site_code else "every site"
            raise ConflictError(
                f"{username!r} is already {role.value} at {where} of study {study_code}",
                code="AUTH.E042",
            )
        mid = write(
            conn,
            ctx,
            table=membership,
            action="grant",
            values={
                "user_id": user.id,
                "study_id": ref.study_id,
                "site_id": site_id,
                "role": role.value,
                "unblinded": unblinded,
                "granted_by": ctx.actor,
                "granted_at": ctx.as_of,
                "revoked_by": None,
                "revoked_at": None,
            },
        )
    return Membership(mid, username, study_code, site_code, role, unblinded, ctx.actor, ctx.as_of)


def revoke_membership(db: Database, ctx: Context, membership_id: int, reason: str) -> None:
    """End a membership from ``ctx.as_of`` on (its history stays)."""
    if not reason.strip():
        raise ValidationFailed("give the reason", code="AUTH.E007", errors={"reason": ["required"]})
    with db.write() as conn:
        row = conn.execute(
            sa.select(membership, study.c.code.label("study_code"))
            .join(study, study.c.id == membership.c.study_id)
            .where(membership.c.id == membership_id)
        ).first()
        if row is None:
            raise NotFound(f"no membership {membership_id}", code="AUTH.E043")
        if not ctx.principal.is_admin:
            require(ctx.principal, Permission.MANAGE_STUDY, row.study_code, None)
        if row.revoked_at is not None:
            raise ConflictError(
                f"membership {membership_id} was revoked on {row.revoked_at:%Y-%m-%d}",
                code="AUTH.E044",
            )
        write(
            conn,
            ctx,
            table=membership,
            row_id=membership_id,
            action="revoke",
            values={"revoked_by": ctx.actor, "revoked_at": ctx.as_of},
            reason=reason,
        )


def list_memberships(db: Database, ctx: Context, study_code: str) -> list[Membership]:
    """The memberships in force in a study (anyone who may read the study)."""
    if not ctx.principal.is_admin:
        visible_sites(ctx.principal, Permission.READ, study_code)  # refuses a non-member
    with db.read() as conn:
        rows = conn.execute(
            sa.select(
                membership,
                app_user.c.username,
                site.c.code.label("site_code"),
            )
            .join(app_user, app_user.c.id == membership.c.user_id)
            .join(study, study.c.id == membership.c.study_id)
            .outerjoin(site, site.c.id == membership.c.site_id)
            .where(study.c.code == study_code, membership.c.revoked_at.is_(None))
            .order_by(app_user.c.username, membership.c.id)
        ).all()
    return [
        Membership(
            int(r.id),
            r.username,
            study_code,
            r.site_code,
            Role(r.role),
            bool(r.unblinded),
            r.granted_by,
            r.granted_at,
        )
        for r in rows
    ]


def list_sites(db: Database, ctx: Context, study_code: str) -> list[SiteInfo]:
    """The study's sites the acting user may read, with their participant counts."""
    sites = (
        None
        if ctx.principal.is_admin
        else visible_sites(ctx.principal, Permission.READ, study_code)
    )
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)
        counts = (
            sa.select(sa.func.count(participant.c.id))
            .where(participant.c.site_id == site.c.id)
            .scalar_subquery()
        )
        q = (
            sa.select(site.c.code, site.c.name, counts.label("n"))
            .where(site.c.study_id == ref.study_id)
            .order_by(site.c.code)
        )
        if sites is not None:
            q = q.where(site.c.code.in_(sorted(sites)))
        return [SiteInfo(r.code, r.name, int(r.n)) for r in conn.execute(q)]
