"""Anchors of a participant's calendar, with their history.

An anchor moved (the last dose given on another day) supersedes its previous value, which is
kept with ``superseded_at`` set. The calendar is always planned from the current values.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from trialkit.protocol import Study
from trialkit.services.context import Context
from trialkit.services.records import write
from trialkit.store.tables import anchor

__all__ = ["anchors_set_by", "current_anchors", "set_anchor"]


def anchors_set_by(study: Study, setter: str) -> list[str]:
    """Ids of the anchors set by ``setter`` (``consent`` or a dosing event id)."""
    out: list[str] = []
    last = (
        max(study.timeline.dosing, key=lambda d: (d.offset.days, d.offset.hours)).id
        if study.timeline.dosing
        else None
    )
    for a in study.timeline.anchors:
        direct = a.set_by in (setter, f"dosing:{setter}")
        if direct or (a.set_by == "dosing:last" and setter == last):
            out.append(a.id)
    return out


def current_anchors(conn: sa.Connection, participant_id: int) -> dict[str, datetime]:
    rows = conn.execute(
        sa.select(anchor.c.anchor_id, anchor.c.at).where(
            anchor.c.participant_id == participant_id, anchor.c.superseded_at.is_(None)
        )
    )
    return {r.anchor_id: r.at for r in rows}


def set_anchor(
    conn: sa.Connection,
    ctx: Context,
    participant_id: int,
    anchor_id: str,
    at: datetime,
    source: str,
    protocol_version: str,
) -> bool:
    """Record ``anchor_id`` at ``at``; returns True when it was new or moved."""
    row = conn.execute(
        sa.select(anchor.c.id, anchor.c.at).where(
            anchor.c.participant_id == participant_id,
            anchor.c.anchor_id == anchor_id,
            anchor.c.superseded_at.is_(None),
        )
    ).first()
    if row is not None:
        if row.at == at:
            return False
        write(
            conn,
            ctx,
            table=anchor,
            row_id=row.id,
            action="supersede",
            values={"superseded_at": ctx.as_of},
            protocol_version=protocol_version,
        )
    write(
        conn,
        ctx,
        table=anchor,
        values={
            "participant_id": participant_id,
            "anchor_id": anchor_id,
            "at": at,
            "source": source,
            "recorded_at": ctx.as_of,
        },
        protocol_version=protocol_version,
    )
    return True
