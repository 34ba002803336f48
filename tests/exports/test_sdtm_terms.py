"""The NCI codes given for the CDISC code lists SEX, NY, AGEU and OUT, as checked against
public copies of CDISC SDTM controlled terminology (sources in trialkit.exports.sdtm_terms)."""

from __future__ import annotations

from trialkit.exports.sdtm_terms import CODELISTS


def test_the_nci_codes_of_the_cdisc_code_lists() -> None:
    codes = {
        name: (spec.nci, {term: nci for term, (_, nci) in spec.decodes.items()})
        for name, spec in CODELISTS.items()
        if spec.nci
    }
    assert codes == {
        "SEX": (
            "C66731",
            {"F": "C16576", "M": "C20197", "U": "C17998", "UNDIFFERENTIATED": "C45908"},
        ),
        "NY": ("C66742", {"N": "C49487", "Y": "C49488", "U": "C17998", "NA": "C48660"}),
        "AGEU": ("C66781", {"YEARS": "C29848"}),
        "OUT": (
            "C66768",
            {
                "RECOVERED/RESOLVED": "C49498",
                "RECOVERING/RESOLVING": "C49496",
                "NOT RECOVERED/NOT RESOLVED": "C49494",
                "RECOVERED/RESOLVED WITH SEQUELAE": "C49495",
                "FATAL": "C48275",
                "UNKNOWN": "C17998",
            },
        ),
    }
