"""Proving the audit trail for a platform administrator over the API.

:func:`verify_trail` is :func:`trialkit.store.verify_all` (the hash chain, and every audited
table replayed from the trail, as ``trialkit audit verify`` runs it) behind the platform
administrator's permission: the trail covers every study, and a difference shows stored values.
"""

from __future__ import annotations

from trialkit.services.access import require_admin
from trialkit.services.context import Context
from trialkit.store import Database, Verification, verify_all

__all__ = ["verify_trail"]


def verify_trail(db: Database, ctx: Context) -> Verification:
    """The verification of the whole trail and data (platform administrators only)."""
    require_admin(ctx.principal, "verify the audit trail")
    with db.read() as conn:
        return verify_all(conn)
