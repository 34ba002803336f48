"""Endpoints, statistics, dose selection and operating characteristics (pure core).

Every result records its ``method`` and ``conventions`` so that a report can say exactly what
was computed. See docs/analysis.md.
"""

from __future__ import annotations

from trialkit.analysis.dose_selection import (
    CATEGORIES,
    DoseDecision,
    DoseSelectionRule,
    DoseSummary,
    EffToxCheck,
    beta_sf,
    choose,
    select_dose,
    summarise_dose,
    tabulate_outcomes,
)
from trialkit.analysis.efftox import EffToxContour
from trialkit.analysis.mixed import MixedModelResult, VisitEffect, change_mixed_model
from trialkit.analysis.operating import (
    ArmTables,
    OperatingCharacteristics,
    arm_tables,
    exact_operating_characteristics,
    simulate_operating_characteristics,
)
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
    "CATEGORIES",
    "ArmTables",
    "DoseDecision",
    "DoseSelectionRule",
    "DoseSummary",
    "EffToxCheck",
    "EffToxContour",
    "KMRow",
    "KaplanMeier",
    "MixedModelResult",
    "OperatingCharacteristics",
    "PairedT",
    "ProportionCI",
    "VisitEffect",
    "WilcoxonExact",
    "arm_tables",
    "beta_sf",
    "change_mixed_model",
    "choose",
    "clopper_pearson",
    "exact_operating_characteristics",
    "kaplan_meier",
    "midranks",
    "paired_t",
    "proportion_ci",
    "select_dose",
    "signed_rank_distribution",
    "simulate_operating_characteristics",
    "summarise_dose",
    "tabulate_outcomes",
    "wilcoxon_signed_rank_exact",
    "wilson",
]
