"""Import registry records (IRCT record pages, ClinicalTrials.gov API v2 JSON) as draft studies.

``import_record(path)`` gives an :class:`ImportResult`: a valid draft
:class:`~trialkit.protocol.Study` holding everything the record states, and the list of what
it could not map. See docs/registry-import.md for what a person adds to make a draft runnable.
"""

from trialkit.registry.criteria_text import (
    CRITERION_HEADS,
    CriteriaLists,
    match_passages,
    split_ctgov_criteria,
    split_run_on,
    split_summary,
)
from trialkit.registry.ctgov import parse_ctgov
from trialkit.registry.detect import detect_format
from trialkit.registry.draft import IMPORT_NOTE, SCREENING_FORM, slug
from trialkit.registry.importer import import_record, import_text
from trialkit.registry.irct import parse_irct
from trialkit.registry.result import ImportResult, SourceFormat

__all__ = [
    "CRITERION_HEADS",
    "IMPORT_NOTE",
    "SCREENING_FORM",
    "CriteriaLists",
    "ImportResult",
    "SourceFormat",
    "detect_format",
    "import_record",
    "import_text",
    "match_passages",
    "parse_ctgov",
    "parse_irct",
    "slug",
    "split_ctgov_criteria",
    "split_run_on",
    "split_summary",
]
