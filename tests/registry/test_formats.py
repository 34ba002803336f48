"""Each format read, on the real records of shared/registry-samples (see its README)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from trialkit.checks import check_full
from trialkit.errors import ImportFailed
from trialkit.protocol import Severity, dump_study, load_study_text
from trialkit.registry import SourceFormat, import_record, import_records

Get = Callable[[str], Path]


def _round_trips(result_study: object) -> None:
    assert load_study_text(dump_study(result_study)) == result_study  # type: ignore[arg-type]


def test_v2_search_response_gives_one_draft_per_study(sample: Get) -> None:
    batch = import_records(sample("ctgov_v2search_ILD_5studies.json"))
    assert batch.source_format is SourceFormat.CTGOV_V2_SEARCH
    assert [r.record_id for r in batch.results] == [
        "NCT06476470",
        "NCT02960672",
        "NCT05932303",
        "NCT00258583",
        "NCT04676594",
    ]
    assert batch.refused == []
    ddi = batch.results[2].study
    assert ddi.identity.phase == "1"
    assert (ddi.design.allocation, ddi.design.intervention_model) == (
        "non_randomised",
        "sequential",
    )
    assert [a.type for a in ddi.arms] == ["experimental"] * 3
    # the misspelt heading "Inclusion Criteriar:" is still a heading
    second = batch.results[1].study
    assert {c.kind for c in second.eligibility} == {"inclusion", "exclusion"}
    assert not any("Criteriar" in c.text for c in second.eligibility)
    for r in batch.results:
        _round_trips(r.study)


def test_v2_search_response_picks_one_study_by_id(sample: Get) -> None:
    path = sample("ctgov_v2search_ILD_5studies.json")
    result = import_record(path, record_id="nct05932303")
    assert result.record_id == "NCT05932303"
    with pytest.raises(ImportFailed, match=r"holds 5 records .*say which one") as info:
        import_record(path)
    assert info.value.code == "IMPORT.E009"
    with pytest.raises(ImportFailed, match="'NCT99999999' is not in this") as info:
        import_record(path, record_id="NCT99999999")
    assert info.value.code == "IMPORT.E009"


def test_partial_studies_of_a_fields_projection_are_drafts_with_gaps(sample: Get) -> None:
    batch = import_records(sample("ctgov_v2search_fields_PhelanMcDermid_5studies.json"))
    assert len(batch.results) == 5
    first = batch.results[0]
    # the interventions list is not taken for arms; the gaps are reported and checked
    assert first.study.arms == []
    assert first.study.eligibility == []
    assert any("belongs to no arm group" in u for u in first.unmapped)
    assert any("states no criteria" in u for u in first.unmapped)
    codes = {d.code for d in check_full(first.study)}
    assert {"STUDY.E002", "DRAFT.W001", "DRAFT.W002"} <= codes
    assert batch.results[1].study.identity.phase == "1-2"


def test_classic_v1_element_with_cells_per_kg(sample: Get) -> None:
    result = import_record(sample("ctgov_classicv1_NCT04356287.json"))
    s = result.study
    assert result.source_format is SourceFormat.CTGOV_V1
    assert s.id == "care-ssc"
    assert s.identity.phase == "1-2"
    assert s.identity.registrations[0].registered is not None
    assert str(s.identity.registrations[0].registered.gregorian) == "2020-04-15"
    assert (s.design.allocation, s.design.intervention_model, s.design.masking.level) == (
        "randomised",
        "parallel",
        "quadruple",
    )
    assert s.design.sample_size.target == 18
    assert (s.design.age.minimum, s.design.age.maximum) == (18, None)
    assert [a.type for a in s.arms] == ["experimental", "experimental", "placebo_comparator"]
    ucmsc = s.arms[0].interventions[0]
    assert ucmsc.product.kind == "cells"
    assert ucmsc.dose is not None
    assert (ucmsc.dose.amount, ucmsc.dose.unit, ucmsc.dose.per) == (Decimal(10**6), "cells", "kg")
    assert s.arms[2].interventions[0].name == "Placebo"
    # a sub-group heading inside the exclusion list is the criteria's group
    grouped = [c for c in s.eligibility if c.group]
    assert grouped
    assert all(c.group.startswith("Life-threatening end-organ damage") for c in grouped[1:])
    _round_trips(s)


def test_classic_v1_envelope_with_nci_style_criteria(sample: Get) -> None:
    result = import_record(sample("ctgov_classicv1_NCT00023673.json"))
    s = result.study
    assert s.identity.registrations[0].id == "NCT00023673"
    assert len(s.arms) == 4
    assert s.design.sample_size.target == 63
    assert (s.design.age.minimum, s.design.age.maximum) == (None, None)
    # "DISEASE CHARACTERISTICS:" ... are groups of conditions to meet, not criteria
    assert s.eligibility[0].group == "DISEASE CHARACTERISTICS"
    assert s.eligibility[0].text.startswith("Histologically or cytologically confirmed")
    hepatic = [c for c in s.eligibility if c.group == "PATIENT CHARACTERISTICS: Hepatic"]
    assert hepatic[0].text == "Bilirubin less than 1.5 mg/dL"
    assert not any(c.text == "Not specified" for c in s.eligibility)
    assert any("resultsSection" in u for u in result.unmapped)


def test_legacy_xml_with_a_conditioning_and_a_maintenance_dose(sample: Get) -> None:
    result = import_record(sample("ctgov_legacyxml_NCT00739882.xml"))
    s = result.study
    assert result.source_format is SourceFormat.CTGOV_XML
    assert s.id == "trust"
    assert s.identity.phase == "4"
    assert (s.design.allocation, s.design.masking.level, s.design.sample_size.target) == (
        "randomised",
        "quadruple",
        76,
    )
    efalizumab = s.arms[0].interventions
    assert [iv.id for iv in efalizumab] == ["A1-IV1-L", "A1-IV1-M"]
    assert [(iv.dose.amount, iv.dose.per) for iv in efalizumab if iv.dose] == [
        (Decimal("0.7"), "kg"),
        (Decimal("1.0"), "kg"),
    ]
    assert s.eligibility[0].text.startswith("Subject with chronic (disease history")
    assert any("resultsSection" in u for u in result.unmapped)
    _round_trips(s)


def test_legacy_xml_with_a_no_intervention_arm(sample: Get) -> None:
    s = import_record(sample("ctgov_legacyxml_NCT05481619.xml")).study
    assert [a.type for a in s.arms] == ["active_comparator", "no_intervention"]
    assert s.arms[1].interventions == []
    vedo = s.arms[0].interventions[0]
    assert (vedo.route, vedo.dose.amount if vedo.dose else None) == ("intravenous", Decimal(300))
    assert s.design.masking.level == "single"
    assert s.identity.recruitment is not None
    assert str(s.identity.recruitment.actual_start.gregorian) == "2021-01-01"  # type: ignore[union-attr]
    assert [c.kind for c in s.eligibility].count("exclusion") == 6


def test_ictrp_portal_export_gives_both_registrations(sample: Get) -> None:
    batch = import_records(sample("ictrp_xml_JPRN-jRCT2071210009_EUCTR2019-001698-10-PT.xml"))
    assert batch.source_format is SourceFormat.ICTRP_XML
    jprn, euctr = (r.study for r in batch.results)
    assert jprn.identity.registrations[0].registry == "JPRN"
    assert "NCT04136184" in [r.id for r in jprn.identity.registrations]
    assert (jprn.design.age.minimum, jprn.design.age.maximum, jprn.design.sample_size.target) == (
        20,
        82,
        14,
    )
    assert [(a.type, a.name) for a in jprn.arms] == [
        ("experimental", "ION-682884"),
        ("active_comparator", "Inotersen"),
    ]
    assert jprn.arms[0].interventions[0].route == "subcutaneous"
    # the heading prefix "Inclusion criteria: 1. …" and a sub-list without indentation
    assert jprn.eligibility[0].text == "Aged 20 to 82 years at the time of informed consent"
    assert jprn.eligibility[3].text.endswith(
        "Documented genetic mutation in the TTR gene\n- "
        "Symptoms and signs consistent with neuropathy associated with transthyretin "
        "amyloidosis, including NIS >= 10 and <= 130"
    )
    assert [c.kind for c in jprn.eligibility].count("exclusion") == 10
    assert euctr.identity.phase == "3"
    assert euctr.design.sex == "all"
    assert euctr.arms == []  # a product sheet names no arms: reported
    # a line over a list of outcomes is their heading; EU CTR's objective is the aim
    assert euctr.outcomes[2].description == (
        "Final Analysis Co-Primary Efficacy Endpoints: Percent change from Baseline in serum "
        "TTR concentration"
    )
    assert (euctr.identity.aim or "").startswith("To evaluate the efficacy of ION-682884")
    unmapped = batch.results[1].unmapped
    assert any("without named arms" in u for u in unmapped)
    assert any("age-range form field" in u for u in unmapped)
    assert not any("Are the trial subjects" in c.text for c in euctr.eligibility)


def test_ictrp_json_record(sample: Get) -> None:
    result = import_record(sample("ictrp_json_ecrin_RPCEC00000014.json"))
    s = result.study
    assert result.source_format is SourceFormat.ICTRP_JSON
    assert (s.identity.registrations[0].registry, s.identity.registrations[0].id) == (
        "RPCEC",
        "RPCEC00000014",
    )
    assert (s.identity.phase, s.design.allocation, s.design.intervention_model) == (
        "2",
        "randomised",
        "parallel",
    )
    assert (s.design.age.minimum, s.design.age.maximum, s.design.sample_size.target) == (19, 74, 68)
    # criteria numbered on one line are cut at 1. 2. 3. …, not at the sub-numbers 1- 2-
    inclusion = [c.text for c in s.eligibility if c.kind == "inclusion"]
    assert len(inclusion) == 10
    assert "2- Intrathoracic esophagus" in inclusion[0]
    assert inclusion[4] == "Age > 18 and < 75 years."
    assert [a.name for a in s.arms] == ["Group I", "Group II"]
    assert s.arms[0].interventions[0].product.kind == "biological"
    assert s.outcomes[0].timepoint == "4 months"


def test_ictrp_provider_xml_in_latin_1(sample: Get) -> None:
    result = import_record(sample("ictrp_providerxml_PER-001-95.xml"))
    s = result.study
    assert result.source_format is SourceFormat.ICTRP_PROVIDER_XML
    assert s.identity.registrations[0].registry == "REPEC"
    assert s.identity.phase == "3"
    assert s.identity.conditions[0].icd10 == "F32.9"
    assert s.design.masking.level == "double"
    assert any("Hamilton´s" in c.text for c in s.eligibility)  # decoded as ISO-8859-1
    assert [c.kind for c in s.eligibility].count("exclusion") == 11
    assert any("placeholder" in u for u in result.unmapped)  # date_enrolment 01/01/1900
    assert any(d.code == "STUDY.E002" for d in check_full(s))


def test_every_sample_imports_and_checks_without_a_traceback(sample: Get) -> None:
    folder = sample("README.md").parent
    names = sorted(p.name for p in folder.glob("*") if p.suffix in (".json", ".xml"))
    assert len(names) >= 12
    for name in names:
        batch = import_records(sample(name))
        assert batch.results, name
        assert batch.refused == [], name
        for r in batch.results:
            assert all(d.severity in Severity for d in check_full(r.study))


def test_classic_v1_response_of_many_studies_and_a_bad_value_named_in_v1_terms(
    sample: Get,
) -> None:
    import json

    from trialkit.registry import import_bytes

    element = json.loads(sample("ctgov_classicv1_NCT04356287.json").read_text(encoding="utf-8"))
    other = json.loads(json.dumps(element))
    ident = other["Study"]["ProtocolSection"]["IdentificationModule"]
    ident["NCTId"], ident["Acronym"] = "NCT04356288", "OTHER"
    design = other["Study"]["ProtocolSection"]["DesignModule"]
    design["EnrollmentInfo"]["EnrollmentCount"] = "eighteen"
    envelope = {"FullStudiesResponse": {"FullStudies": [element, other]}}
    batch = import_bytes(json.dumps(envelope).encode())
    assert [r.record_id for r in batch.results] == ["NCT04356287"]
    assert [r.record_id for r in batch.refused] == ["NCT04356288"]
    error = batch.refused[0].error
    assert error.code == "IMPORT.E020"
    assert error.message == (
        "ClinicalTrials.gov classic API v1 JSON, field FullStudiesResponse.FullStudies[1].Study."
        "ProtocolSection.DesignModule.EnrollmentInfo.EnrollmentCount: 'eighteen' is not a whole "
        "number"
    )
    assert "api/v2/studies" in (error.hint or "")


def test_legacy_xml_bad_values_are_named_by_element(sample: Get) -> None:
    from trialkit.registry import import_bytes

    raw = sample("ctgov_legacyxml_NCT05481619.xml").read_bytes()
    bad = raw.replace(
        b'<enrollment type="Anticipated">30</enrollment>', b"<enrollment>about 30</enrollment>"
    )
    assert bad != raw
    with pytest.raises(
        ImportFailed, match=r"legacy clinical_study XML, field <enrollment>: 'about 30'"
    ):
        import_bytes(bad)
    no_date = raw.replace(b"July 25, 2022", b"sometime")
    with pytest.raises(
        ImportFailed, match=r"field <study_first_submitted>: 'sometime' is not a date"
    ):
        import_bytes(no_date)


def test_a_search_response_study_missing_its_id_is_named_by_its_place(sample: Get) -> None:
    import json

    from trialkit.registry import import_bytes

    data = json.loads(sample("ctgov_v2search_ILD_5studies.json").read_text(encoding="utf-8"))
    del data["studies"][1]["protocolSection"]["identificationModule"]["nctId"]
    batch = import_bytes(json.dumps(data).encode())
    assert len(batch.results) == 4
    assert batch.refused[0].record_id == "studies[1]"
    assert "field studies[1].protocolSection.identificationModule.nctId: is missing" in (
        batch.refused[0].error.message
    )
