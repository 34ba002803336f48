"""Amendments: a new protocol version checked and compared, loaded with its approval, and
applied to participants one by one or all at once, each move with its reason.

:func:`preview_amendment` reads a new version's YAML (as uploaded), runs the checks
``trialkit study check`` runs (:func:`trialkit.checks.check_full`) and, when it has no error,
compares it item by item with the study's current (newest loaded) version
(:func:`trialkit.protocol.diff.diff_studies`; both with their instrument items written out, as
stored). It writes nothing.

Loading a version makes it the study's current one at once: new participants are registered
under it (:func:`trialkit.services.participants.register` takes the newest loaded). An
amendment is therefore loaded *with* its ethics approval (committee, reference, date) in one
transaction (:func:`load_amendment`), and only the exact text that was checked and compared
(its SHA-256). ``trialkit study load`` (the local operator) goes through :func:`load_version`:
a study's first version may come with its approval or without one; a later version (an
amendment) only with it (``AMEND.E018``), recorded in the same transaction. A version loaded
without one (a first version, or one loaded before approvals were required) gets its approval
afterwards (:func:`approve_amendment`). No participant is moved to a version before its
approval is recorded (:func:`apply_version`, :func:`apply_to_all`). Approvals are stored in
the audited ``protocol_approval`` table, through the one write path.

Every use case here is the study's administrator's (``MANAGE_STUDY``, with a membership at
every site); the participants offered are those the caller's memberships reach.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from trialkit.checks import check_full
from trialkit.errors import (
    ConflictError,
    TransitionError,
    TrialkitError,
    ValidationFailed,
)
from trialkit.instruments.from_study import expand_study
from trialkit.protocol import Severity, load_study_text
from trialkit.protocol.check import Diagnostic
from trialkit.protocol.diff import ProtocolChange, diff_studies
from trialkit.services import studies
from trialkit.services.access import Permission, require, visible_sites
from trialkit.services.context import Context
from trialkit.services.lifecycle import Status
from trialkit.services.locks import active_locks
from trialkit.services.lookups import Participant, load_checked
from trialkit.services.participants import move_to_version
from trialkit.services.records import write
from trialkit.store import Database
from trialkit.store.tables import participant, protocol_approval, protocol_version, site, study

__all__ = [
    "ENDED",
    "AmendmentPreview",
    "AppliedReport",
    "Approval",
    "Candidate",
    "LoadedWithApproval",
    "VersionState",
    "apply_to_all",
    "apply_version",
    "approve_amendment",
    "candidates",
    "load_amendment",
    "load_version",
    "preview_amendment",
    "versions",
]

#: The states a participant has left the study in: their protocol version no longer changes.
ENDED = frozenset(
    {Status.COMPLETED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP, Status.SCREEN_FAILED}
)


@dataclass(frozen=True)
class AmendmentPreview:
    """A new version as checked: its findings, and (no error) its changes from the current."""

    study: str
    current_version: str
    new_version: str
    findings: tuple[Diagnostic, ...]
    changes: tuple[ProtocolChange, ...]
    #: The SHA-256 of the text checked: :func:`load_amendment` loads only this text.
    sha256: str = ""

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.findings if d.severity is Severity.ERROR)


@dataclass(frozen=True)
class Approval:
    """A protocol version's approval by its ethics committee, and who recorded it when."""

    committee: str
    reference: str
    approved_on: date
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class LoadedWithApproval:
    """What :func:`load_version` did: the version (``loaded.created`` False: it was loaded
    already, nothing written) and its approval as recorded (None: none recorded)."""

    loaded: studies.LoadedVersion
    approval: Approval | None


@dataclass(frozen=True)
class VersionState:
    """A loaded protocol version: when and by whom, its approval, and how many of the
    participants the caller reaches are on it."""

    version: str
    loaded_at: datetime
    loaded_by: str
    approval: Approval | None
    participants: int
    current: bool


@dataclass(frozen=True)
class Candidate:
    """A participant on another version than the one to apply; ``blocked`` says why they
    cannot be moved (ended, locked), None when they can."""

    code: str
    site: str
    status: Status
    version: str
    blocked: str | None
    #: What blocks the move: ``"ended"`` (left the study), ``"locked"``, or None.
    blocked_by: str | None = None


@dataclass(frozen=True)
class AppliedReport:
    """What applying a version to every participant did: who was moved, who was not and why."""

    version: str
    reason: str
    moved: tuple[str, ...]
    not_moved: tuple[tuple[str, str], ...]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def preview_amendment(
    db: Database, ctx: Context, study_code: str, text: str, *, source: str = "<upload>"
) -> AmendmentPreview:
    """Check ``text`` as a new protocol version of ``study_code`` and compare it with the
    current one (see the module doc). A YAML that cannot be read raises its
    :class:`~trialkit.errors.DefinitionError`; one of another study ``AMEND.E001``; the current
    version's number again ``AMEND.E002``."""
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    with db.read() as conn:
        current = studies.protocol(conn, study_code)
    parsed = load_study_text(text, source=source)
    if parsed.id != study_code:
        raise ValidationFailed(
            f"the uploaded protocol is study {parsed.id!r}, not {study_code!r}",
            code="AMEND.E001",
            hint="upload a version of this study (its `id` stays the same)",
        )
    if parsed.protocol_version == current.version:
        raise ConflictError(
            f"protocol version {parsed.protocol_version} is the current version of {study_code}",
            code="AMEND.E002",
            hint="an amendment needs a new protocol_version in the YAML",
        )
    findings = tuple(check_full(parsed))
    changes: tuple[ProtocolChange, ...] = ()
    if not any(d.severity is Severity.ERROR for d in findings):
        changes = tuple(diff_studies(current.study, expand_study(parsed)))
    return AmendmentPreview(
        study_code, current.version, parsed.protocol_version, findings, changes, _digest(text)
    )


def _approval_values(
    ctx: Context, committee: str, reference: str, approved_on: date | None
) -> dict[str, object]:
    committee, reference = committee.strip(), reference.strip()
    if not committee:
        raise ValidationFailed(
            "the approval needs the committee that approved the amendment",
            code="AMEND.E010",
            hint="name the ethics committee, e.g. 'TUMS Research Ethics Committee'",
        )
    if len(committee) > 256:
        raise ValidationFailed(
            f"the committee's name is {len(committee)} characters long; at most 256 are kept",
            code="AMEND.E010",
        )
    if not reference:
        raise ValidationFailed(
            "the approval needs the committee's reference (its approval number)",
            code="AMEND.E011",
            hint="copy the reference from the approval letter, e.g. IR.TUMS.REC.1404.123",
        )
    if len(reference) > 128:
        raise ValidationFailed(
            f"the reference is {len(reference)} characters long; at most 128 are kept",
            code="AMEND.E011",
        )
    if approved_on is None:
        raise ValidationFailed(
            "the approval needs the date the committee approved it",
            code="AMEND.E012",
            hint="give the date of the approval letter (YYYY-MM-DD)",
        )
    if approved_on > ctx.as_of.date():
        raise ValidationFailed(
            f"the approval date {approved_on.isoformat()} is in the future "
            f"(today is {ctx.as_of.date().isoformat()})",
            code="AMEND.E012",
            hint="record an approval once the committee has given it",
        )
    return {
        "committee": committee,
        "reference": reference,
        "approved_on": approved_on,
        "recorded_by": ctx.actor,
        "recorded_at": ctx.as_of,
    }


def _approval_of(conn: sa.Connection, protocol_version_id: int) -> Approval | None:
    row = conn.execute(
        sa.select(protocol_approval).where(
            protocol_approval.c.protocol_version_id == protocol_version_id
        )
    ).first()
    if row is None:
        return None
    return Approval(row.committee, row.reference, row.approved_on, row.recorded_by, row.recorded_at)


def _record(
    conn: sa.Connection, ctx: Context, ref: studies.ProtocolRef, values: dict[str, object]
) -> Approval:
    if _approval_of(conn, ref.id) is not None:
        raise ConflictError(
            f"protocol version {ref.version} of {ref.study.id} already has its approval recorded",
            code="AMEND.E009",
            hint="an approval is recorded once; it is in the audit trail",
        )
    write(
        conn,
        ctx,
        table=protocol_approval,
        action="approve",
        values={"protocol_version_id": ref.id, **values},
        protocol_version=ref.version,
    )
    found = _approval_of(conn, ref.id)
    assert found is not None
    return found


def load_amendment(
    db: Database,
    ctx: Context,
    study_code: str,
    text: str,
    *,
    checked: str,
    committee: str,
    reference: str,
    approved_on: date | None,
    source: str = "<upload>",
) -> VersionState:
    """Load ``text`` as a new protocol version of ``study_code`` with its approval, in one
    transaction. ``checked`` is the SHA-256 of the text that was previewed (the page sends it
    back): another text is refused (``AMEND.E007``), so what is loaded is what was compared.
    Refused like :func:`preview_amendment`, and on any error finding (``AMEND.E006``); a
    version already loaded ``AMEND.E008``; the approval's fields ``AMEND.E010``-``E012``."""
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    values = _approval_values(ctx, committee, reference, approved_on)
    if _digest(text) != checked:
        raise ConflictError(
            "the YAML is not the one that was checked and compared",
            code="AMEND.E007",
            hint="check and compare it again, then record the approval and load it",
        )
    preview = preview_amendment(db, ctx, study_code, text, source=source)
    if preview.errors:
        raise ValidationFailed(
            f"protocol version {preview.new_version} has {len(preview.errors)} error(s) and "
            "cannot be loaded: " + "; ".join(str(d) for d in preview.errors),
            code="AMEND.E006",
            hint="fix each finding and check it again",
        )
    parsed = load_study_text(text, source=source)
    with db.write() as conn:
        loaded = studies.store_version(conn, ctx, parsed, text)
        if not loaded.created:
            raise ConflictError(
                f"protocol version {loaded.version} of {study_code} is loaded already",
                code="AMEND.E008",
                hint="record its approval among the loaded versions instead",
            )
        ref = studies.protocol(conn, study_code, loaded.version)
        _record(conn, ctx, ref, values)
    return next(v for v in versions(db, ctx, study_code) if v.version == loaded.version)


def _same(found: Approval, values: dict[str, object]) -> bool:
    return (found.committee, found.reference, found.approved_on) == (
        values["committee"],
        values["reference"],
        values["approved_on"],
    )


def load_version(
    db: Database,
    ctx: Context,
    text: str,
    *,
    source: str = "<yaml>",
    committee: str | None = None,
    reference: str | None = None,
    approved_on: date | None = None,
) -> LoadedWithApproval:
    """Load ``text`` as a protocol version, with its ethics approval, in one transaction
    (``trialkit study load``).

    The study's first version may come without an approval (it shows "no approval recorded"
    until :func:`approve_amendment`); any later version is an amendment, which becomes the
    current version for new registrations at once, so it is refused without its approval
    (``AMEND.E018``, nothing written). Giving any of ``committee``, ``reference`` and
    ``approved_on`` asks for all three (``AMEND.E010``-``E012``). A study with errors is
    refused (``STUDY.E001``), other text under a loaded version number ``STUDY.E002``. The
    same text again loads nothing: with an approval that is not the one recorded it is refused
    (none recorded ``AMEND.E008``, another ``AMEND.E009``).

    Who may: as :func:`trialkit.services.studies.store_version` (a platform administrator for
    a new study, the study's administrator for a new version; the CLI's local operator)."""
    given = committee is not None or reference is not None or approved_on is not None
    values = _approval_values(ctx, committee or "", reference or "", approved_on) if given else None
    parsed = studies.checked_study(text, source=source)
    with db.write() as conn:
        earlier = (
            conn.execute(
                sa.select(protocol_version.c.version)
                .join(study, study.c.id == protocol_version.c.study_id)
                .where(study.c.code == parsed.id)
                .order_by(protocol_version.c.id)
            )
            .scalars()
            .all()
        )
        loaded = studies.store_version(conn, ctx, parsed, text)
        ref = studies.protocol(conn, parsed.id, loaded.version)
        if not loaded.created:
            found = _approval_of(conn, ref.id)
            if values is not None and found is None:
                raise ConflictError(
                    f"protocol version {loaded.version} of {parsed.id} is loaded already, "
                    "without an approval: nothing was loaded or recorded",
                    code="AMEND.E008",
                    hint=f"record its approval with `trialkit amend approve {parsed.id} "
                    f"{loaded.version} --committee NAME --reference REF --approved-on DATE`",
                )
            if values is not None and found is not None and not _same(found, values):
                raise ConflictError(
                    f"protocol version {loaded.version} of {parsed.id} is loaded already, "
                    f"approved by {found.committee} ({found.reference}, "
                    f"{found.approved_on.isoformat()}): nothing was loaded or recorded",
                    code="AMEND.E009",
                    hint="an approval is recorded once; it is in the audit trail",
                )
            return LoadedWithApproval(loaded, found)
        if values is None and earlier:
            raise ConflictError(
                f"protocol version {loaded.version} of {parsed.id} is an amendment (loaded: "
                f"{', '.join(earlier)}) and has no approval: loading it would make it the "
                "current version for new registrations before its approval is recorded; "
                "nothing was loaded",
                code="AMEND.E018",
                hint="give its approval with --committee NAME --reference REF --approved-on "
                "YYYY-MM-DD, or check, compare and load it with `trialkit amend load`",
            )
        approval = None if values is None else _record(conn, ctx, ref, values)
        return LoadedWithApproval(loaded, approval)


def approve_amendment(
    db: Database,
    ctx: Context,
    study_code: str,
    version: str,
    *,
    committee: str,
    reference: str,
    approved_on: date | None,
) -> Approval:
    """Record the approval of a loaded protocol version (one loaded without it, e.g. by
    ``trialkit study load``). Once per version (``AMEND.E009``)."""
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    values = _approval_values(ctx, committee, reference, approved_on)
    with db.write() as conn:
        return _record(conn, ctx, studies.protocol(conn, study_code, version), values)


def versions(db: Database, ctx: Context, study_code: str) -> list[VersionState]:
    """The study's loaded versions, newest first, each with its approval and the number of
    participants (that the caller reaches) on it."""
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)  # NotFound for an unknown study
        counts = (
            sa.select(participant.c.protocol_version_id, sa.func.count().label("n"))
            .join(site, site.c.id == participant.c.site_id)
            .where(participant.c.study_id == ref.study_id)
        )
        if sites is not None:
            counts = counts.where(site.c.code.in_(sorted(sites)))
        grouped = conn.execute(counts.group_by(participant.c.protocol_version_id))
        per: dict[int, int] = {int(r[0]): int(r[1]) for r in grouped}
        rows = conn.execute(
            sa.select(
                protocol_version.c.id,
                protocol_version.c.version,
                protocol_version.c.loaded_at,
                protocol_version.c.loaded_by,
            )
            .join(study, study.c.id == protocol_version.c.study_id)
            .where(study.c.code == study_code)
            .order_by(protocol_version.c.id.desc())
        ).all()
        return [
            VersionState(
                r.version,
                r.loaded_at,
                r.loaded_by,
                _approval_of(conn, r.id),
                int(per.get(r.id, 0)),
                i == 0,
            )
            for i, r in enumerate(rows)
        ]


def _blocked(conn: sa.Connection, status: Status, participant_id: int) -> tuple[str, str] | None:
    if status in ENDED:
        return "ended", f"the participant has left the study ({status.value}); their version stays"
    found = active_locks(conn, None, participant_id)
    if found:
        first = found[0]
        return "locked", f"{first.target} is locked by {first.locked_by} (reason: {first.reason})"
    return None


def _candidate(conn: sa.Connection, row: Any) -> Candidate:
    status = Status(row.status)
    blocked = _blocked(conn, status, row.id)
    return Candidate(
        row.code,
        row.site_code,
        status,
        row.version,
        blocked[1] if blocked else None,
        blocked[0] if blocked else None,
    )


def candidates(db: Database, ctx: Context, study_code: str, version: str) -> list[Candidate]:
    """The participants the caller reaches that are on another version than ``version``, by
    participant id, each with what blocks moving them (None: nothing)."""
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    sites = visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        ref = studies.protocol(conn, study_code, version)
        q = (
            sa.select(
                participant.c.id,
                participant.c.code,
                participant.c.status,
                site.c.code.label("site_code"),
                protocol_version.c.version,
            )
            .join(site, site.c.id == participant.c.site_id)
            .join(protocol_version, protocol_version.c.id == participant.c.protocol_version_id)
            .where(
                participant.c.study_id == ref.study_id, participant.c.protocol_version_id != ref.id
            )
            .order_by(participant.c.code)
        )
        if sites is not None:
            q = q.where(site.c.code.in_(sorted(sites)))
        return [_candidate(conn, r) for r in conn.execute(q).all()]


def _need_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "moving a participant to an amended protocol needs a reason",
            code="AMEND.E016",
            hint="e.g. 're-consented to amendment 2 on 2025-06-02'",
        )
    return reason


def _approved(conn: sa.Connection, study_code: str, version: str) -> studies.ProtocolRef:
    ref = studies.protocol(conn, study_code, version)
    if _approval_of(conn, ref.id) is None:
        raise ConflictError(
            f"protocol version {version} of {study_code} has no approval recorded: no "
            "participant is moved to it before",
            code="AMEND.E013",
            hint="record the committee's approval (committee, reference, date) first",
        )
    return ref


def apply_version(
    db: Database, ctx: Context, study_code: str, version: str, code: str, reason: str
) -> Participant:
    """Move participant ``code`` to the approved protocol version ``version``, with ``reason``
    (audited). Refused: no approval (``AMEND.E013``), already on it (``AMEND.E014``), left the
    study (``AMEND.E015``), no reason (``AMEND.E016``), locked (``LOCK.E00x``)."""
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    reason = _need_reason(reason)
    with db.write() as conn:
        ref = _approved(conn, study_code, version)
        p = load_checked(conn, ctx, study_code, code, Permission.READ)
        if p.protocol_version_id == ref.id:
            raise ConflictError(
                f"participant {code} is on protocol version {version} already",
                code="AMEND.E014",
            )
        if p.status in ENDED:
            raise TransitionError(
                f"participant {code} has left the study ({p.status.value}): their protocol "
                f"version stays {p.protocol_version}",
                code="AMEND.E015",
            )
        return move_to_version(conn, ctx, p, ref, reason)


def apply_to_all(
    db: Database, ctx: Context, study_code: str, version: str, reason: str
) -> AppliedReport:
    """Apply the approved ``version`` to every participant the caller reaches who is on
    another version, each in its own transaction with the same ``reason``; reports who was
    moved and who was not, with why (left the study, locked, ...)."""
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    reason = _need_reason(reason)
    with db.read() as conn:
        _approved(conn, study_code, version)
    moved: list[str] = []
    not_moved: list[tuple[str, str]] = []
    for c in candidates(db, ctx, study_code, version):
        try:
            apply_version(db, ctx, study_code, version, c.code, reason)
        except TrialkitError as exc:
            not_moved.append((c.code, exc.message))
        else:
            moved.append(c.code)
    return AppliedReport(version, reason, tuple(moved), tuple(not_moved))
