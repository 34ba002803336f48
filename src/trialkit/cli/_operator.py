"""The CLI administers a database as its local operator (whoever holds the database credentials).

Administration only (studies, sites, users, memberships, tokens): a participant is touched only
by an authenticated user (:mod:`trialkit.cli._auth`). The operator's name in the audit trail is
the operating-system login that ran the command, suffixed ``@cli`` so that CLI changes stand out
from users'; it cannot be chosen on the command line. The CLI is the one edge that reads the
clock; the services receive the time.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trialkit.services import Context

__all__ = ["operator_context", "operator_name"]


def operator_name() -> str:
    """``<login>@cli``: the login of the process's user id (not $USER, which anyone can set);
    ``operator@cli`` where the process has no login name."""
    try:
        import pwd

        return f"{pwd.getpwuid(os.getuid()).pw_name}@cli"
    except (ImportError, KeyError, OSError):  # not POSIX, or no passwd entry (a container)
        pass
    try:
        return f"{getpass.getuser()}@cli"
    except (KeyError, OSError):
        return "operator@cli"


def operator_context() -> Context:
    """The operator's context now (local wall-clock time, as the services store it)."""
    from trialkit.services import Context

    return Context.operator(operator_name(), datetime.now())
