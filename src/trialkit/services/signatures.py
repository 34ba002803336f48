"""Electronic signatures: an investigator signs a form, a visit or a participant's casebook.

Signing re-enters the signer's password and states its meaning ("I confirm that I reviewed
these data and they are accurate"). The signature records the user name and display name, the
time, the meaning and ``content_hash``: the SHA-256 of the canonical JSON of the signed forms,
each as ``{id, form_id, visit, instance, version, data}`` in visit, form, instance order. A form
signature covers that form; a visit signature every entered form at the visit; a casebook
signature every entered form of the participant. A form with nothing entered cannot be signed.

A later change to covered data voids the signature: ``save_form`` (a change, or a new form at a
signed visit), and a form marked not required at a signed visit. ``voided_at`` and
``void_reason`` ("form VITALS at SCR changed by nurse.teh (version 3)") are set and audited.
:func:`signatures` lists a participant's signatures as valid or voided and recomputes each valid
signature's hash from the current data: a mismatch means the data changed outside trialkit's
write path and is reported as ``mismatch``.

SIGN (investigators) for forms and visits, SIGN_CASEBOOK (principal investigators) for the
casebook, at the participant's site. The operator has no password and cannot sign. A wrong
password is refused (``SIGN.E001``), writes nothing and does not count toward the login
lockout. Locked data may be signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from trialkit.errors import AccessDenied, ConflictError, ValidationFailed
from trialkit.services import lookups
from trialkit.services.access import Permission
from trialkit.services.context import Context
from trialkit.services.records import write
from trialkit.services.targets import load_form
from trialkit.services.users import confirm_password
from trialkit.store import Database, canonical
from trialkit.store.tables import form_instance, signature

__all__ = [
    "MISMATCH",
    "VALID",
    "VOIDED",
    "Signature",
    "SignatureScope",
    "content_hash",
    "sign",
    "signatures",
]

SignatureScope = Literal["form", "visit", "casebook"]
_SCOPES = ("form", "visit", "casebook")
VALID = "valid"
VOIDED = "voided"
MISMATCH = "mismatch"


@dataclass(frozen=True)
class Signature:
    """A signature and its status: ``valid``, ``voided`` or ``mismatch`` (see ``problem``)."""

    id: int
    participant: str
    scope: str
    visit: str | None
    form_id: str | None
    instance_no: int | None
    meaning: str
    content_hash: str
    signed_by: str
    signer_name: str
    signed_at: datetime
    voided_at: datetime | None
    void_reason: str | None
    status: str
    problem: str | None = None
    forms: int = 0
    #: What a valid signature covers now: each form as ``VISIT/FORM`` (``#n`` for a further
    #: instance) with its version, e.g. ``SCR/VITALS v2``, in the hash's order.
    covered: tuple[str, ...] = ()


def content_hash(forms: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of the signed forms (see the module docstring)."""
    return hashlib.sha256(canonical.dumps(list(forms)).encode("utf-8")).hexdigest()


def _covered(
    conn: sa.Connection,
    participant_id: int,
    scope: str,
    visit: str | None,
    form_instance_id: int | None,
) -> list[dict[str, Any]]:
    q = sa.select(
        form_instance.c.id,
        form_instance.c.form_id,
        form_instance.c.visit_key,
        form_instance.c.instance_no,
        form_instance.c.version,
        form_instance.c.data,
    ).where(form_instance.c.participant_id == participant_id, form_instance.c.status == "entered")
    if scope == "form":
        q = q.where(form_instance.c.id == form_instance_id)
    elif scope == "visit":
        q = q.where(form_instance.c.visit_key == visit)
    rows = conn.execute(
        q.order_by(
            form_instance.c.visit_key,
            form_instance.c.form_id,
            form_instance.c.instance_no,
            form_instance.c.id,
        )
    ).all()
    return [
        {
            "id": int(r.id),
            "form_id": r.form_id,
            "visit": r.visit_key,
            "instance": int(r.instance_no),
            "version": int(r.version),
            "data": canonical.loads(r.data),
        }
        for r in rows
    ]


def _has_values(data: Any) -> bool:
    if isinstance(data, dict):
        return any(_has_values(v) for v in data.values()) or (
            "raw" in data and data.get("raw") not in (None, "")
        )
    if isinstance(data, list):
        return any(_has_values(v) for v in data)
    return False


def _check_args(scope: str, visit: str | None, form_id: str | None, meaning: str) -> str:
    if scope not in _SCOPES:
        raise ValidationFailed(
            f"signature scope {scope!r} is not one of {', '.join(_SCOPES)}", code="SIGN.E006"
        )
    if scope == "form" and not (visit and form_id):
        raise ValidationFailed("a form signature names the visit and the form", code="SIGN.E006")
    if scope == "visit" and (not visit or form_id):
        raise ValidationFailed("a visit signature names the visit (and no form)", code="SIGN.E006")
    if scope == "casebook" and (visit or form_id):
        raise ValidationFailed(
            "a casebook signature covers every form of the participant: name no visit or form",
            code="SIGN.E006",
        )
    if not meaning.strip():
        raise ValidationFailed(
            "a signature needs its meaning",
            code="SIGN.E003",
            hint='state what the signature means, e.g. "I confirm that I reviewed these data '
            'and they are accurate"',
            errors={"meaning": ["state the meaning of the signature"]},
        )
    return meaning.strip()


def _what(scope: str, p: lookups.Participant, visit: str | None, form: str | None) -> str:
    if scope == "form":
        return f"form {form} at visit {visit} of participant {p.code}"
    if scope == "visit":
        return f"visit {visit} of participant {p.code}"
    return f"the casebook of participant {p.code}"


def sign(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    scope: SignatureScope,
    visit: str | None = None,
    form_id: str | None = None,
    instance_no: int = 1,
    meaning: str,
    password: str,
) -> Signature:
    """Sign a form, a visit or the casebook, re-entering the password (see the module
    docstring)."""
    stated = _check_args(scope, visit, form_id, meaning)
    principal = ctx.principal
    if principal.operator:
        raise AccessDenied(
            f"the operator {principal.username!r} has no password and cannot sign: a signature "
            "is a person's",
            code="SIGN.E002",
            hint="log in as the investigator who signs",
        )
    permission = Permission.SIGN_CASEBOOK if scope == "casebook" else Permission.SIGN
    with db.read() as conn:  # the role first: a monitor learns nothing about the password
        lookups.load_checked(conn, ctx, study_code, participant_code, permission)
    try:
        confirm_password(db, ctx, password)  # a wrong password counts toward the lockout
    except AccessDenied as refused:
        if refused.code != "AUTH.E020":
            raise
        raise AccessDenied(
            f"the password of user {principal.username!r} is wrong: {scope} not signed",
            code="SIGN.E001",
            hint="re-enter your own password to sign",
        ) from None
    with db.write() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, permission)
        fi_id: int | None = None
        if scope == "form":
            assert visit is not None
            assert form_id is not None
            fi_id = load_form(conn, p, visit, form_id, instance_no).id
        forms = _covered(conn, p.id, scope, visit, fi_id)
        what = _what(scope, p, visit, form_id)
        if not any(_has_values(f["data"]) for f in forms):
            raise ValidationFailed(
                f"nothing is entered in {what}: there is nothing to sign",
                code="SIGN.E004",
                hint="enter the data first",
            )
        same = conn.execute(
            sa.select(signature.c.id, signature.c.signed_at).where(
                signature.c.participant_id == p.id,
                signature.c.scope == scope,
                signature.c.signed_by == principal.username,
                signature.c.voided_at.is_(None),
                signature.c.visit_key.is_(None)
                if scope == "casebook"
                else signature.c.visit_key == visit,
                signature.c.form_instance_id.is_(None)
                if fi_id is None
                else signature.c.form_instance_id == fi_id,
            )
        ).first()
        if same is not None:
            raise ConflictError(
                f"{what} is already signed by {principal.username} "
                f"({same.signed_at:%Y-%m-%d %H:%M}) and the signature is valid",
                code="SIGN.E005",
            )
        digest = content_hash(forms)
        sig_id = write(
            conn,
            ctx,
            table=signature,
            action="sign",
            values={
                "participant_id": p.id,
                "scope": scope,
                "visit_key": visit,
                "form_instance_id": fi_id,
                "meaning": stated,
                "content_hash": digest,
                "signed_by": principal.username,
                "signer_name": principal.display_name or principal.username,
                "signed_at": ctx.as_of,
                "voided_at": None,
                "void_reason": None,
            },
            reason=stated,
            protocol_version=p.protocol_version,
        )
        return _listed(conn, p)[sig_id]


_SELECT = (
    sa.select(
        signature,
        form_instance.c.form_id,
        form_instance.c.instance_no,
    )
    .select_from(signature)
    .outerjoin(form_instance, form_instance.c.id == signature.c.form_instance_id)
)


def _listed(conn: sa.Connection, p: lookups.Participant) -> dict[int, Signature]:
    rows = conn.execute(
        _SELECT.where(signature.c.participant_id == p.id).order_by(signature.c.id)
    ).all()
    out: dict[int, Signature] = {}
    for r in rows:
        status, problem, count = (VOIDED, None, 0)
        covered: tuple[str, ...] = ()
        if r.voided_at is None:
            forms = _covered(conn, p.id, r.scope, r.visit_key, r.form_instance_id)
            count = len(forms)
            covered = tuple(
                f"{f['visit']}/{f['form_id']}"
                + (f" #{f['instance']}" if f["instance"] != 1 else "")
                + f" v{f['version']}"
                for f in forms
            )
            now = content_hash(forms)
            status = VALID
            if now != r.content_hash:
                status = MISMATCH
                problem = (
                    f"the signed data no longer match the signature (hash {r.content_hash[:12]} "
                    f"when signed, {now[:12]} now) although nothing voided it: the data were "
                    "changed outside trialkit's write path; check the audit trail "
                    "(trialkit.store.verify) and have the data re-signed"
                )
        out[int(r.id)] = Signature(
            int(r.id),
            p.code,
            r.scope,
            r.visit_key,
            r.form_id,
            None if r.instance_no is None else int(r.instance_no),
            r.meaning,
            r.content_hash,
            r.signed_by,
            r.signer_name,
            r.signed_at,
            r.voided_at,
            r.void_reason,
            status,
            problem,
            count,
            covered,
        )
    return out


def signatures(
    db: Database, ctx: Context, study_code: str, participant_code: str
) -> list[Signature]:
    """The participant's signatures, oldest first, each valid, voided or ``mismatch``."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.READ)
        return list(_listed(conn, p).values())


def void_covering(
    conn: sa.Connection,
    ctx: Context,
    participant_id: int,
    visit: str,
    form_instance_id: int | None,
    why: str,
    protocol_version: str,
) -> list[int]:
    """The save_form / mark_not_required hook: void the valid signatures that cover a form of
    ``visit`` (its own, the visit's, the casebook), with ``why`` as the reason. Returns their
    ids."""
    covering = [
        sa.and_(signature.c.scope == "casebook"),
        sa.and_(signature.c.scope == "visit", signature.c.visit_key == visit),
    ]
    if form_instance_id is not None:
        covering.append(
            sa.and_(signature.c.scope == "form", signature.c.form_instance_id == form_instance_id)
        )
    ids = (
        conn.execute(
            sa.select(signature.c.id)
            .where(
                signature.c.participant_id == participant_id,
                signature.c.voided_at.is_(None),
                sa.or_(*covering),
            )
            .order_by(signature.c.id)
        )
        .scalars()
        .all()
    )
    for sig_id in ids:
        write(
            conn,
            ctx,
            table=signature,
            row_id=int(sig_id),
            action="void",
            values={"voided_at": ctx.as_of, "void_reason": why},
            reason=why,
            protocol_version=protocol_version,
        )
    return [int(i) for i in ids]
