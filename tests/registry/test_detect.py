"""The format is read from the content; a refused file is told what it is and what is read."""

from __future__ import annotations

import json

import pytest

from trialkit.errors import ImportFailed
from trialkit.registry import SourceFormat, detect_format, import_text
from trialkit.registry.detect import MAX_BYTES, sniff

IRCT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<trials><trial><main>
<trial_id>IRCT20080901001159N29</trial_id><utrn></utrn><reg_name>IRCT</reg_name>
<date_registration>2020-10-05</date_registration>
<primary_sponsor>Tehran University of Medical Sciences</primary_sponsor>
<public_title>Exosomes in psoriasis</public_title><acronym></acronym>
<scientific_title>Safety of adipose-derived exosomes in plaque psoriasis</scientific_title>
<date_enrolment>2020-11-21</date_enrolment><type_enrolment>anticipated</type_enrolment>
<target_size>12</target_size><recruitment_status>Recruiting</recruitment_status>
<study_type>interventional</study_type>
<study_design>Randomization: Not randomized, Blinding: Not blinded, Placebo: Not used,
 Assignment: Parallel, Purpose: Treatment</study_design>
<phase>1</phase>
<hc_freetext>Psoriasis</hc_freetext>
<i_freetext>Intervention 1: Group 1: 50 micrograms per square centimetre of exosomes injected
 intradermally. Intervention 2: Group 2: 100 micrograms per square centimetre of exosomes
 injected intradermally.</i_freetext>
</main>
<criteria>
<inclusion_criteria>Inclusion criteria: Age 18 to 65 years; Plaque psoriasis for 6 months
</inclusion_criteria>
<agemin>18 Years</agemin><agemax>65 Years</agemax><gender>Both</gender>
<exclusion_criteria>Pregnancy</exclusion_criteria>
</criteria>
<health_condition_code><hc_code>L40.0</hc_code></health_condition_code>
<health_condition_keyword><hc_keyword>Psoriasis vulgaris</hc_keyword></health_condition_keyword>
<primary_outcome><prim_outcome>PASI improvement. Timepoint: month 3</prim_outcome>
</primary_outcome>
</trial></trials>
"""

#: An IRCT record in the ICTRP-style JSON shape (hand-made after the RPCEC sample's fields).
IRCT_JSON = {
    "sd_sid": "IRCT20230801058996N5",
    "public_title": "Exosomes in inflammatory bowel disease",
    "scientific_title": "Placental exosomes in refractory inflammatory bowel disease",
    "study_type": "Interventional",
    "date_registration": "2023-09-12",
    "target_size": "12",
    "design_string": "Randomization: N/A, Blinding: Not blinded, Placebo: Not used, "
    "Assignment: Single, Purpose: Treatment",
    "phase_string": "1-2",
    "interventions": "Intervention 1: Intervention group: one vial of exosomes by intravenous "
    "infusion on days 1, 2, 3, 10 and 21.",
    "agemin": "18",
    "agemin_units": "Years",
    "agemax": "65",
    "agemax_units": "Years",
    "gender": "Both",
    "inclusion_criteria": "Severe refractory disease; Age 18 to 65",
    "exclusion_criteria": "Pregnancy",
    "primary_outcome": "Adverse events. Timepoint: day 90",
}


def test_json_xml_and_irct_text_are_told_apart_by_content() -> None:
    assert detect_format('\ufeff  {"protocolSection": {}}') is SourceFormat.CTGOV_V2
    assert detect_format('{"studies": [], "nextPageToken": "x"}') is SourceFormat.CTGOV_V2_SEARCH
    assert detect_format('{"FullStudiesResponse": {}}') is SourceFormat.CTGOV_V1
    assert detect_format('{"Rank": 1, "Study": {"ProtocolSection": {}}}') is SourceFormat.CTGOV_V1
    assert detect_format(json.dumps(IRCT_JSON)) is SourceFormat.ICTRP_JSON
    assert detect_format(json.dumps([IRCT_JSON])) is SourceFormat.ICTRP_JSON
    assert detect_format("<clinical_study><id_info/></clinical_study>") is SourceFormat.CTGOV_XML
    assert detect_format("<Trials_downloaded_from_ICTRP/>") is SourceFormat.ICTRP_XML
    assert detect_format(
        "<trials><trial><main><trial_id>PER-1</trial_id></main></trial></trials>"
    ) is (SourceFormat.ICTRP_PROVIDER_XML)
    assert detect_format(IRCT_XML) is SourceFormat.IRCT_XML
    assert detect_format(
        "\n\nClinical Trial Protocol\n\nIranian Registry of Clinical Trials\n"
    ) is (SourceFormat.IRCT_TEXT)


def test_an_irct_json_record_is_read_not_sent_to_clinicaltrials_gov() -> None:
    result = import_text(json.dumps(IRCT_JSON))
    s = result.study
    assert result.source_format is SourceFormat.ICTRP_JSON
    assert (s.identity.registrations[0].registry, s.identity.registrations[0].id) == (
        "IRCT",
        "IRCT20230801058996N5",
    )
    assert (s.identity.phase, s.design.allocation, s.design.intervention_model) == (
        "1-2",
        "not_applicable",
        "single_group",
    )
    assert s.arms[0].interventions[0].route == "intravenous"
    assert s.outcomes[0].timepoint == "day 90"


def test_irct_xml_export() -> None:
    result = import_text(IRCT_XML)
    s = result.study
    assert result.source_format is SourceFormat.IRCT_XML
    assert s.identity.registrations[0].registry == "IRCT"
    assert (s.design.allocation, s.design.masking.level, s.design.masking.placebo) == (
        "non_randomised",
        "none",
        False,
    )
    assert s.identity.conditions[0].icd10 == "L40.0"
    assert [a.name for a in s.arms] == ["Intervention 1: Group 1", "Intervention 2: Group 2"]
    assert (s.design.age.minimum, s.design.age.maximum) == (18, 65)
    assert s.outcomes[0].description == "PASI improvement."
    assert s.outcomes[0].timepoint == "month 3"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("\n\nhello\nworld", r"line 3: 'hello' starts neither JSON, nor XML, nor an IRCT"),
        ('{"foo": 1, "bar": 2}', r"JSON, but no registry record trialkit knows .*'foo', 'bar'"),
        ("[1, 2]", r"a JSON list of 2 element\(s\) that are not registry records"),
        ("<html><body>x</body></html>", r"a web page \(HTML\)"),
        ("<!DOCTYPE html><html></html>", r"a web page \(HTML\)"),
        ("<feed/>", r"XML whose root element is <feed>"),
        ('{"StudyFieldsResponse": {}}', r"study_fields response"),
        (
            "Trial summary page\nNCT number NCT03745417\n",
            r"names ClinicalTrials.gov record NCT03745417",
        ),
        ("Record IRCT20080901001159N29 summary", r"names IRCT record IRCT20080901001159N29"),
    ],
)
def test_a_refused_file_is_told_what_it_is_and_what_is_read(text: str, pattern: str) -> None:
    with pytest.raises(ImportFailed, match=pattern) as info:
        detect_format(text)
    assert info.value.code == "IMPORT.E001"
    assert "trialkit reads ClinicalTrials.gov API v2 JSON" in info.value.message
    assert info.value.hint


def test_a_web_page_with_an_nct_id_is_told_where_to_download_it() -> None:
    with pytest.raises(ImportFailed) as info:
        detect_format("Clinical Trials Logo\n\nNCT number NCT03745417\n")
    assert (
        info.value.hint
        == "download the record itself: clinicaltrials.gov/api/v2/studies/NCT03745417"
    )


def test_truncated_xml_names_line_and_column() -> None:
    with pytest.raises(ImportFailed, match=r"line 2, column \d+: not well-formed XML") as info:
        detect_format("<clinical_study>\n<id_info><nct_id>NCT0")
    assert info.value.code == "IMPORT.E002"


def test_entities_are_refused_not_expanded() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<clinical_study>&lol2;</clinical_study>"
    )
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<clinical_study><brief_title>&xxe;</brief_title></clinical_study>"
    )
    for text in (laughs, xxe):
        with pytest.raises(ImportFailed, match="declares entities") as info:
            detect_format(text)
        assert info.value.code == "IMPORT.E006"


def test_binary_and_oversized_input() -> None:
    with pytest.raises(ImportFailed, match="a binary file") as info:
        sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert info.value.code == "IMPORT.E001"
    with pytest.raises(ImportFailed, match="larger than a registry record") as info:
        sniff(b" " * (MAX_BYTES + 1))
    assert info.value.code == "IMPORT.E007"


def test_a_latin_1_file_without_declaration_names_its_line() -> None:
    with pytest.raises(ImportFailed, match=r"line 2: not UTF-8 text \(byte 0xfa\)") as info:
        sniff("Iranian Registry of Clinical Trials\nPer\xfa".encode("latin-1"))
    assert info.value.code == "IMPORT.E004"


def test_an_ictrp_irct_record_with_both_lists_in_one_field() -> None:
    record = {
        **IRCT_JSON,
        "inclusion_criteria": "Inclusion criteria: Age 18 to 65; Refractory disease (despite "
        "biologics; steroids) Exclusion criteria: Pregnancy; Active infection",
        "exclusion_criteria": "",
    }
    s = import_text(json.dumps(record)).study
    assert [(c.kind, c.text) for c in s.eligibility] == [
        ("inclusion", "Age 18 to 65"),
        ("inclusion", "Refractory disease (despite biologics; steroids)"),
        ("exclusion", "Pregnancy"),
        ("exclusion", "Active infection"),
    ]


def test_irct_outcomes_as_ictrp_carries_them() -> None:
    record = {
        **IRCT_JSON,
        "primary_outcome": "Pain. Timepoint: Before and 4 weeks after the intervention. Method "
        "of measurement: VAS.;Quality of life. Timepoint: Week 12. Method of measurement: SF-36.",
    }
    s = import_text(json.dumps(record)).study
    assert [(o.description, o.timepoint, o.method) for o in s.outcomes] == [
        ("Pain", "Before and 4 weeks after the intervention", "VAS"),
        ("Quality of life", "Week 12", "SF-36"),
    ]
