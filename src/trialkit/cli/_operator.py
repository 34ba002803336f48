"""The CLI acts on a database as its local operator (whoever holds the database credentials).

The operator's name in the audit trail is ``--as`` when given, else ``$TRIALKIT_OPERATOR``,
else the operating-system user, suffixed ``@cli`` so that CLI changes stand out from users'.
The CLI is the one edge that reads the clock; the services receive the time.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime

from trialkit.services import Context

__all__ = ["OPERATOR_ENV", "operator_context"]

OPERATOR_ENV = "TRIALKIT_OPERATOR"


def operator_context(name: str | None = None) -> Context:
    """The operator's context now (local wall-clock time, as the services store it)."""
    who = name or os.environ.get(OPERATOR_ENV)
    if not who:
        try:
            who = f"{getpass.getuser()}@cli"
        except (KeyError, OSError):  # no login name (e.g. a container without a passwd entry)
            who = "operator@cli"
    return Context.operator(who, datetime.now())
