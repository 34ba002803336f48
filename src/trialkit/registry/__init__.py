"""Import registry records as draft studies.

Formats read (detected from the content): ClinicalTrials.gov API v2 JSON (a study or a search
response), the classic API v1 JSON and the legacy ``clinical_study`` XML; WHO ICTRP portal XML,
data-provider XML and ICTRP-style JSON; IRCT's XML export and record page text export.

``import_record(path)`` gives an :class:`ImportResult`: a valid draft
:class:`~trialkit.protocol.Study` holding everything the record states, and the list of what
it could not map; ``import_records(path)`` gives one per record of a file of several. See
docs/registry-import.md for what a person adds to make a draft runnable.
"""

from trialkit.registry.criteria_text import (
    CRITERION_HEADS,
    CriteriaLists,
    match_passages,
    split_criteria,
    split_ctgov_criteria,
    split_numbered,
    split_run_on,
    split_summary,
)
from trialkit.registry.ctgov import parse_ctgov
from trialkit.registry.detect import READ_FORMATS, detect_format, sniff
from trialkit.registry.draft import IMPORT_NOTE, SCREENING_FORM, slug
from trialkit.registry.importer import (
    ImportBatch,
    Refused,
    import_bytes,
    import_record,
    import_records,
    import_text,
)
from trialkit.registry.irct import parse_irct
from trialkit.registry.result import FORMAT_NAMES, ImportResult, SourceFormat

__all__ = [
    "CRITERION_HEADS",
    "FORMAT_NAMES",
    "IMPORT_NOTE",
    "READ_FORMATS",
    "SCREENING_FORM",
    "CriteriaLists",
    "ImportBatch",
    "ImportResult",
    "Refused",
    "SourceFormat",
    "detect_format",
    "import_bytes",
    "import_record",
    "import_records",
    "import_text",
    "match_passages",
    "parse_ctgov",
    "parse_irct",
    "slug",
    "sniff",
    "split_criteria",
    "split_ctgov_criteria",
    "split_numbered",
    "split_run_on",
    "split_summary",
]
