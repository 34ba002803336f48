"""Clinical instruments: every score the studies measure, exact and documented.

Each instrument declares its items (:class:`ItemDef`) so that forms can be generated from it,
validates its input, and returns a :class:`ScoreResult` with its parts and version, or no
score with the reason when a required input is missing (never 0). Thresholds are compared
exactly (Decimal or Fraction).
"""

from __future__ import annotations

from trialkit.instruments.base import Instrument, parse_decimal
from trialkit.instruments.cdai import (
    CDAI,
    cdai_category,
    cdai_remission,
    cdai_reported,
    cdai_response,
)
from trialkit.instruments.change import percent_improvement
from trialkit.instruments.ctcae_labs import (
    CTCAE_VERSION,
    grade_count_decreased,
    grade_creatinine,
    grade_hemoglobin,
    grade_liver_test,
)
from trialkit.instruments.ctcae_selectable import GRADE_DEFINITIONS, grade_fever
from trialkit.instruments.ctcae_vitals import celsius_from_fahrenheit, grade_blood_pressure
from trialkit.instruments.items import DataType, ItemDef, OptionDef
from trialkit.instruments.lesion import LESION_GRADE, TLSS
from trialkit.instruments.mayo import (
    MAYO,
    MAYO_RULES,
    MODIFIED_MAYO,
    PARTIAL_MAYO,
    MayoRemissionRule,
    MayoResponseRule,
    RuleOutcome,
)
from trialkit.instruments.pasi import (
    PASI,
    pasi_absolute_target,
    pasi_area_score,
    pasi_improvement,
    pasi_response,
)
from trialkit.instruments.registry import INSTRUMENTS, get_instrument
from trialkit.instruments.responses import (
    RESPONSE_RULES,
    ResponseRule,
    ScoreChange,
    ThresholdRule,
    change_from_baseline,
    rules_for,
)
from trialkit.instruments.result import ScoreResult
from trialkit.instruments.sescd import (
    SESCD,
    sescd_band,
    sescd_remission,
    sescd_response,
    sescd_threshold_met,
)
from trialkit.instruments.sf36 import (
    RAND36,
    SF36_MCS,
    SF36_MCS_SCALES,
    SF36_PCS,
    SF36_PCS_SCALES,
    rand36_scales,
    sf36_summary,
    sf36v1_scales,
)
from trialkit.instruments.simple import BSA, IGA, PAIN_NRS, PAIN_VAS, REDNESS, SPGA

__all__ = [
    "BSA",
    "CDAI",
    "CTCAE_VERSION",
    "GRADE_DEFINITIONS",
    "IGA",
    "INSTRUMENTS",
    "LESION_GRADE",
    "MAYO",
    "MAYO_RULES",
    "MODIFIED_MAYO",
    "PAIN_NRS",
    "PAIN_VAS",
    "PARTIAL_MAYO",
    "PASI",
    "RAND36",
    "REDNESS",
    "RESPONSE_RULES",
    "SESCD",
    "SF36_MCS",
    "SF36_MCS_SCALES",
    "SF36_PCS",
    "SF36_PCS_SCALES",
    "SPGA",
    "TLSS",
    "DataType",
    "Instrument",
    "ItemDef",
    "MayoRemissionRule",
    "MayoResponseRule",
    "OptionDef",
    "ResponseRule",
    "RuleOutcome",
    "ScoreChange",
    "ScoreResult",
    "ThresholdRule",
    "cdai_category",
    "cdai_remission",
    "cdai_reported",
    "cdai_response",
    "celsius_from_fahrenheit",
    "change_from_baseline",
    "get_instrument",
    "grade_blood_pressure",
    "grade_count_decreased",
    "grade_creatinine",
    "grade_fever",
    "grade_hemoglobin",
    "grade_liver_test",
    "parse_decimal",
    "pasi_absolute_target",
    "pasi_area_score",
    "pasi_improvement",
    "pasi_response",
    "percent_improvement",
    "rand36_scales",
    "rules_for",
    "sescd_band",
    "sescd_remission",
    "sescd_response",
    "sescd_threshold_met",
    "sf36_summary",
    "sf36v1_scales",
]
