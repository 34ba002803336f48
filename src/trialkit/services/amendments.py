"""An amendment before it is loaded: the new protocol version checked, and what it changes.

:func:`preview_amendment` reads a new version's YAML (as uploaded), runs the checks
``trialkit study check`` runs (:func:`trialkit.checks.check_full`) and, when it has no error,
compares it item by item with the study's current (newest loaded) version
(:func:`trialkit.protocol.diff.diff_studies`; both with their instrument items written out, as
stored). It writes nothing: loading is :func:`trialkit.services.studies.load_study` (which runs
the same checks again and refuses on an error), moving a participant to the new version is
:func:`trialkit.services.participants.apply_amendment`. Who may load an amendment may preview
it (the study's administrator).
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.checks import check_full
from trialkit.errors import ConflictError, ValidationFailed
from trialkit.instruments.from_study import expand_study
from trialkit.protocol import Severity, load_study_text
from trialkit.protocol.check import Diagnostic
from trialkit.protocol.diff import ProtocolChange, diff_studies
from trialkit.services import studies
from trialkit.services.access import Permission, require
from trialkit.services.context import Context
from trialkit.store import Database

__all__ = ["AmendmentPreview", "preview_amendment"]


@dataclass(frozen=True)
class AmendmentPreview:
    """A new version as checked: its findings, and (no error) its changes from the current."""

    study: str
    current_version: str
    new_version: str
    findings: tuple[Diagnostic, ...]
    changes: tuple[ProtocolChange, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.findings if d.severity is Severity.ERROR)


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
    return AmendmentPreview(study_code, current.version, parsed.protocol_version, findings, changes)
