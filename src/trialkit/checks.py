"""The whole check of a study: its definition, its instruments and its expressions.

``trialkit.protocol.check_study`` knows only the definition layer; this module (pure core, like
the packages it composes) first writes out the items of instrument item groups, then runs the
definition checks together with the instrument and expression checks and the checks of what a
draft imported from a registry record lacks (``protocol.draft_check``). ``trialkit study check``,
``trialkit demo`` and the services use it.
"""

from __future__ import annotations

from trialkit.criteria.from_study import check_study_expressions
from trialkit.instruments.from_study import check_study_instruments, expand_study
from trialkit.protocol import Diagnostic, Study, check_study
from trialkit.protocol.draft_check import check_draft

__all__ = ["check_full"]


def check_full(study: Study) -> list[Diagnostic]:
    """Every finding on ``study`` from every layer, errors first."""
    return check_study(
        expand_study(study),
        extra=(check_study_instruments, check_study_expressions, check_draft),
    )
