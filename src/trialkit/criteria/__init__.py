"""The eligibility criteria language: parse, type-check, evaluate (three-valued), compile to SQL.

A small, safe expression language (a lark grammar; nothing reaches ``eval``)::

    months_between(psoriasis_onset_date, screening_date) >= 6
    alt <= 3 * uln(alt)
    creatinine <= 2 mg/dL
    psoriasis_type in ("pustular", "guttate")

See docs/criteria.md for the syntax, the functions, the units and the diagnostic codes.
"""

from trialkit.criteria.checker import check, compile_expression
from trialkit.criteria.diagnostics import CODES, Diagnostic
from trialkit.criteria.evaluator import evaluate
from trialkit.criteria.functions import FUNCTIONS
from trialkit.criteria.nodes import Expr
from trialkit.criteria.parser import ExpressionSyntaxError, parse
from trialkit.criteria.prescreen import PrescreenSummary, prescreen_file
from trialkit.criteria.screening import (
    CompiledCriteria,
    CriterionResult,
    Outcome,
    Screening,
    UsedValue,
    Verdict,
    check_criteria,
    coerce_record,
    compile_criteria,
    evaluate_criteria,
)
from trialkit.criteria.spec import (
    Criterion,
    CriterionLike,
    ItemSpec,
    ReferenceRange,
    ReferenceRanges,
)
from trialkit.criteria.sql import Dialect, compile_sql, sql_type
from trialkit.criteria.studyfile import StudyCriteria, load_criteria_file

__all__ = [
    "CODES",
    "FUNCTIONS",
    "CompiledCriteria",
    "Criterion",
    "CriterionLike",
    "CriterionResult",
    "Diagnostic",
    "Dialect",
    "Expr",
    "ExpressionSyntaxError",
    "ItemSpec",
    "Outcome",
    "PrescreenSummary",
    "ReferenceRange",
    "ReferenceRanges",
    "Screening",
    "StudyCriteria",
    "UsedValue",
    "Verdict",
    "check",
    "check_criteria",
    "coerce_record",
    "compile_criteria",
    "compile_expression",
    "compile_sql",
    "evaluate",
    "evaluate_criteria",
    "load_criteria_file",
    "parse",
    "prescreen_file",
    "sql_type",
]
