"""What an import gives back: a draft study and what it could not map."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from trialkit.protocol import Study

__all__ = ["FORMAT_NAMES", "ImportResult", "SourceFormat"]


class SourceFormat(StrEnum):
    IRCT_TEXT = "irct_text"
    """The text export of an IRCT (Iranian Registry of Clinical Trials) record page."""
    IRCT_XML = "irct_xml"
    """IRCT's own XML export of a trial (``/trial/{n}/xml``: the WHO ICTRP data-provider schema)."""
    CTGOV_V2 = "ctgov_v2_json"
    """A ClinicalTrials.gov API v2 single-study JSON document."""
    CTGOV_V2_SEARCH = "ctgov_v2_search_json"
    """A ClinicalTrials.gov API v2 search response (``{"studies": [...]}``)."""
    CTGOV_V1 = "ctgov_classic_v1_json"
    """The retired ClinicalTrials.gov classic API v1 JSON (``FullStudiesResponse``)."""
    CTGOV_XML = "ctgov_legacy_xml"
    """The legacy ClinicalTrials.gov ``clinical_study`` XML of the old bulk downloads."""
    ICTRP_XML = "ictrp_xml"
    """A WHO ICTRP search-portal export (``<Trials_downloaded_from_ICTRP>``)."""
    ICTRP_PROVIDER_XML = "ictrp_provider_xml"
    """The WHO ICTRP data-provider XML (``<trials><trial><main>``) of a primary registry."""
    ICTRP_JSON = "ictrp_json"
    """An ICTRP-style study JSON (``public_title``, ``inclusion_criteria`` ...)."""


#: How each format is named in messages.
FORMAT_NAMES: dict[SourceFormat, str] = {
    SourceFormat.IRCT_TEXT: "IRCT record page text export",
    SourceFormat.IRCT_XML: "IRCT XML export",
    SourceFormat.CTGOV_V2: "ClinicalTrials.gov API v2 study JSON",
    SourceFormat.CTGOV_V2_SEARCH: "ClinicalTrials.gov API v2 search response",
    SourceFormat.CTGOV_V1: "ClinicalTrials.gov classic API v1 JSON",
    SourceFormat.CTGOV_XML: "ClinicalTrials.gov legacy clinical_study XML",
    SourceFormat.ICTRP_XML: "WHO ICTRP portal XML export",
    SourceFormat.ICTRP_PROVIDER_XML: "WHO ICTRP data-provider XML",
    SourceFormat.ICTRP_JSON: "ICTRP-style study JSON",
}


@dataclass(frozen=True)
class ImportResult:
    """A draft study (valid, not yet runnable) and what the record stated but it could not map."""

    study: Study
    unmapped: list[str] = field(default_factory=list)
    source_format: SourceFormat = SourceFormat.IRCT_TEXT
    record_id: str | None = None
    """The registry id of the record the draft was made from."""
