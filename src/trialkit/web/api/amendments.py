"""An amendment's preview, as on the study's amendments page: a new protocol version's YAML
checked as ``trialkit study check`` checks it, and (with no error) compared item by item with
the current version (:func:`trialkit.services.amendments.preview_amendment`, the study's
administrator). It writes nothing: loading the version is ``trialkit study load``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from trialkit.errors import ValidationFailed
from trialkit.protocol import Severity
from trialkit.services import Permission
from trialkit.services.access import require
from trialkit.services.amendments import preview_amendment
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, WRITE_ERRORS
from trialkit.web.api.params import StudyPath

__all__ = ["AmendmentIn", "AmendmentOut", "router"]

router = APIRouter(tags=["studies"], responses=READ_ERRORS)

#: The largest protocol taken (characters), as on the page; the shipped studies are under 60 kB.
MAX_YAML = 1_000_000


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: str = Field(
        min_length=1, max_length=MAX_YAML, description="The new version's YAML, as a file holds it."
    )


class FindingOut(BaseModel):
    code: str
    severity: str
    path: str
    message: str
    hint: str | None


class ChangedFieldOut(BaseModel):
    path: str
    old: Any
    new: Any


class ChangeOut(BaseModel):
    section: str
    key: str
    kind: str
    fields: list[ChangedFieldOut]


class AmendmentOut(BaseModel):
    """``ok``: no finding is an error (the version would load); ``changes`` from the current
    version, empty when it would not."""

    study: str
    current_version: str
    new_version: str
    ok: bool
    findings: list[FindingOut]
    changes: list[ChangeOut]


@router.post(
    "/studies/{study}/amendments/preview",
    response_model=AmendmentOut,
    responses=WRITE_ERRORS,
    summary="Check a new protocol version and what it changes (writes nothing)",
)
def amendment_preview(call: Auth, study: StudyPath, body: AmendmentIn) -> AmendmentOut:
    require(call.ctx.principal, Permission.MANAGE_STUDY, study, None)  # before the input
    try:
        p = preview_amendment(call.db, call.ctx, study, body.protocol, source="<api>")
    except RecursionError:  # a YAML nested deeper than any protocol
        raise ValidationFailed(
            "the protocol is nested too deeply to be a study definition",
            code="AMEND.E006",
            hint="give the new version's YAML as `trialkit study check` reads it",
        ) from None
    return AmendmentOut(
        study=p.study,
        current_version=p.current_version,
        new_version=p.new_version,
        ok=not any(d.severity is Severity.ERROR for d in p.findings),
        findings=[
            FindingOut(
                code=d.code,
                severity=d.severity.value,
                path=d.path,
                message=d.message,
                hint=d.hint,
            )
            for d in p.findings
        ],
        changes=[
            ChangeOut(
                section=c.section,
                key=c.key,
                kind=c.kind,
                fields=[ChangedFieldOut(path=f.path, old=f.old, new=f.new) for f in c.fields],
            )
            for c in p.changes
        ],
    )
