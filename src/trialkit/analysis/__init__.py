"""Endpoints, statistics, dose selection and operating characteristics (pure core).

Every result records its ``method`` and ``conventions`` so that a report can say exactly what
was computed. See docs/analysis.md.
"""

from __future__ import annotations

from trialkit.analysis.data import (
    AdverseEvent,
    Observation,
    TidyData,
    read_adverse_events,
    read_observations,
    read_tidy,
)
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
from trialkit.analysis.endpoints import EndpointResult, analyse, percent_improvement
from trialkit.analysis.mixed import MixedModelResult, VisitEffect, change_mixed_model
from trialkit.analysis.operating import (
    ArmTables,
    OperatingCharacteristics,
    arm_tables,
    exact_operating_characteristics,
    simulate_operating_characteristics,
)
from trialkit.analysis.paired import (
    HodgesLehmann,
    PairedT,
    SignTest,
    WilcoxonExact,
    hodges_lehmann,
    midranks,
    paired_t,
    sign_test,
    signed_rank_distribution,
    wilcoxon_signed_rank_exact,
)
from trialkit.analysis.proportions import (
    BinomialTest,
    ProportionCI,
    binomial_test,
    clopper_pearson,
    jeffreys,
    proportion_ci,
    wilson,
    wilson_cc,
)
from trialkit.analysis.survival import KaplanMeier, KMRow, kaplan_meier
from trialkit.protocol.endpoints import (
    AdverseEventIncidence,
    ChangeFromBaseline,
    DoseSelection,
    EfficacyDefinition,
    EffToxPoints,
    EndpointSpec,
    EndpointSpecs,
    PercentImprovement,
    ResponderRule,
    TimeToFirstEvent,
    ToxicityDefinition,
    WithinPatientDifference,
)

__all__ = [
    "CATEGORIES",
    "AdverseEvent",
    "AdverseEventIncidence",
    "ArmTables",
    "BinomialTest",
    "ChangeFromBaseline",
    "DoseDecision",
    "DoseSelection",
    "DoseSelectionRule",
    "DoseSummary",
    "EffToxCheck",
    "EffToxContour",
    "EffToxPoints",
    "EfficacyDefinition",
    "EndpointResult",
    "EndpointSpec",
    "EndpointSpecs",
    "HodgesLehmann",
    "KMRow",
    "KaplanMeier",
    "MixedModelResult",
    "Observation",
    "OperatingCharacteristics",
    "PairedT",
    "PercentImprovement",
    "ProportionCI",
    "ResponderRule",
    "SignTest",
    "TidyData",
    "TimeToFirstEvent",
    "ToxicityDefinition",
    "VisitEffect",
    "WilcoxonExact",
    "WithinPatientDifference",
    "analyse",
    "arm_tables",
    "beta_sf",
    "binomial_test",
    "change_mixed_model",
    "choose",
    "clopper_pearson",
    "exact_operating_characteristics",
    "hodges_lehmann",
    "jeffreys",
    "kaplan_meier",
    "midranks",
    "paired_t",
    "percent_improvement",
    "proportion_ci",
    "read_adverse_events",
    "read_observations",
    "read_tidy",
    "select_dose",
    "sign_test",
    "signed_rank_distribution",
    "simulate_operating_characteristics",
    "summarise_dose",
    "tabulate_outcomes",
    "wilcoxon_signed_rank_exact",
    "wilson",
    "wilson_cc",
]
