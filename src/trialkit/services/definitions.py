"""A study's current protocol, for a caller who may read the study at some site.

The REDCap-compatible endpoint describes the project (data dictionary, events, instruments) from
it. It holds no participant data, so the ``READ`` permission at any one site suffices; the arms
of the randomisation are part of the protocol, never an allocation.
"""

from __future__ import annotations

from trialkit.protocol import Study
from trialkit.services import studies
from trialkit.services.access import Permission, visible_sites
from trialkit.services.context import Context
from trialkit.store import Database

__all__ = ["readable_study"]


def readable_study(db: Database, ctx: Context, study_code: str) -> Study:
    """The newest protocol version of ``study_code`` (``AUTH.E0xx`` without a reading role)."""
    visible_sites(ctx.principal, Permission.READ, study_code)  # refuses at no site
    with db.read() as conn:
        return studies.protocol(conn, study_code).study
