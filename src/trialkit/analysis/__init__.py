"""Endpoints, statistics, dose selection and operating characteristics (pure core).

Every result records its ``method`` and ``conventions`` so that a report can say exactly what
was computed. See docs/analysis.md.
"""

from __future__ import annotations

from trialkit.analysis.mixed import MixedModelResult, VisitEffect, change_mixed_model
from trialkit.analysis.paired import (
    PairedT,
    WilcoxonExact,
    midranks,
    paired_t,
    signed_rank_distribution,
    wilcoxon_signed_rank_exact,
)
from trialkit.analysis.proportions import ProportionCI, clopper_pearson, proportion_ci, wilson
from trialkit.analysis.survival import KaplanMeier, KMRow, kaplan_meier

__all__ = [
    "KMRow",
    "KaplanMeier",
    "MixedModelResult",
    "PairedT",
    "ProportionCI",
    "VisitEffect",
    "WilcoxonExact",
    "change_mixed_model",
    "clopper_pearson",
    "kaplan_meier",
    "midranks",
    "paired_t",
    "proportion_ci",
    "signed_rank_distribution",
    "wilcoxon_signed_rank_exact",
    "wilson",
]
