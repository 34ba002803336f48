"""The shared look-ups of the services: a participant by study and id, checked against the
caller's role and site, and shown as the caller may see it (the arm hidden from blinded roles).

They sit below the use cases (participants, forms, locks, queries, signatures, schedule, doses,
...), so that each use case imports only what is beneath it and no two import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from trialkit.errors import NotFound
from trialkit.services import studies
from trialkit.services.access import Permission, require, sees_allocation
from trialkit.services.context import Context
from trialkit.services.lifecycle import Status
from trialkit.store import canonical
from trialkit.store.tables import participant, protocol_version, site, study

__all__ = ["Participant", "load", "load_checked", "masked", "shown"]


@dataclass(frozen=True)
class Participant:
    id: int
    code: str
    study: str
    site: str
    status: Status
    arm: str | None
    protocol_version: str
    protocol_version_id: int
    eligibility: Any
    version: int


_SELECT = (
    sa.select(
        participant,
        study.c.code.label("study_code"),
        site.c.code.label("site_code"),
        protocol_version.c.version.label("pv"),
    )
    .join(study, study.c.id == participant.c.study_id)
    .join(site, site.c.id == participant.c.site_id)
    .join(protocol_version, protocol_version.c.id == participant.c.protocol_version_id)
)


def _from_row(row: Any) -> Participant:
    return Participant(
        row.id,
        row.code,
        row.study_code,
        row.site_code,
        Status(row.status),
        row.arm,
        row.pv,
        row.protocol_version_id,
        canonical.loads(row.eligibility),
        row.version,
    )


def load(conn: sa.Connection, study_code: str, code: str) -> Participant:
    row = conn.execute(
        _SELECT.where(study.c.code == study_code, participant.c.code == code)
    ).first()
    if row is None:
        raise NotFound(
            f"study {study_code}: no participant {code!r}",
            code="PART.E003",
            hint="check the participant id (letters, digits and the site code)",
        )
    return _from_row(row)


def load_checked(
    conn: sa.Connection, ctx: Context, study_code: str, code: str, permission: Permission
) -> Participant:
    """The participant, once ``ctx`` is allowed ``permission`` at the participant's site."""
    p = load(conn, study_code, code)
    require(ctx.principal, permission, p.study, p.site)
    return p


def masked(conn: sa.Connection, protocol_version_id: int) -> bool:
    """Whether the study of a participant's protocol version masks the allocation now: its
    newest version decides, as for the study's lists and exports (a study amended to a masked
    design hides the arms of participants enrolled under an open-label version too)."""
    study_id = conn.execute(
        sa.select(protocol_version.c.study_id).where(protocol_version.c.id == protocol_version_id)
    ).scalar_one()
    newest = conn.execute(
        sa.select(sa.func.max(protocol_version.c.id)).where(protocol_version.c.study_id == study_id)
    ).scalar_one()
    return studies.protocol_by_id(conn, int(newest)).study.design.masking.level != "none"


def shown(conn: sa.Connection, ctx: Context, p: Participant) -> Participant:
    """``p`` as ``ctx`` may see it: the arm hidden (None) from blinded roles of a masked study."""
    if p.arm is None or sees_allocation(
        ctx.principal, p.study, masked(conn, p.protocol_version_id), p.site
    ):
        return p
    return replace(p, arm=None)
