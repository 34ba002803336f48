"""Convert the older ClinicalTrials.gov formats to the API v2 shape, field by field.

Two formats are read:

* the classic API v1 JSON (retired in 2024): ``FullStudiesResponse.FullStudies[i].Study``, or
  one ``{"Rank", "Study"}`` element, or a bare ``Study``; PascalCase modules
  (``ProtocolSection.DesignModule.EnrollmentInfo.EnrollmentCount``), every value a string,
  lists wrapped (``PhaseList.Phase``), dates in English (``April 15, 2020``, ``November 2022``);
* the legacy ``clinical_study`` XML of the old AllPublicXML bulk download (public.xsd):
  ``enrollment type="Actual"``, ``eligibility/criteria/textblock``, month-name dates.

Each is turned into the v2 document :func:`trialkit.registry.ctgov.parse_ctgov` maps, together
with the source field of every value it filled, so that an error names the field the file has
(``ProtocolSection.DesignModule.EnrollmentInfo.EnrollmentCount``, ``<enrollment>``).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from trialkit.errors import ImportFailed
from trialkit.registry.ctgov import Origin
from trialkit.registry.detect import local_name
from trialkit.registry.result import FORMAT_NAMES, SourceFormat

__all__ = ["enum_value", "from_legacy_xml", "from_v1", "v1_studies", "xml_studies"]

V1_HINT = (
    "the classic API is retired: download the study again as API v2 JSON from "
    "clinicaltrials.gov/api/v2/studies/<NCT id>"
)
XML_HINT = (
    "the legacy XML is no longer published: download the study again as API v2 JSON from "
    "clinicaltrials.gov/api/v2/studies/<NCT id>"
)


def enum_value(text: str) -> str:
    """A classic display value as the v2 enum: ``Parallel Assignment`` -> ``PARALLEL``,
    ``Phase 1`` -> ``PHASE1``, ``N/A`` -> ``NA``, ``None (Open Label)`` -> ``NONE``."""
    head = re.split(r"[(\[]", text, maxsplit=1)[0]
    value = re.sub(r"[^A-Z0-9]+", "_", head.upper()).strip("_")
    value = re.sub(r"PHASE_(\d)", r"PHASE\1", value).removesuffix("_ASSIGNMENT")
    return {"N_A": "NA", "ANTICIPATED": "ESTIMATED", "BOTH": "ALL"}.get(value, value)


_DATE_FORMATS = ("%B %d, %Y", "%B %Y", "%b %d, %Y", "%b %Y", "%Y-%m-%d", "%Y-%m")


def _iso_date(text: str) -> str | None:
    """``April 15, 2020`` -> ``2020-04-15``; ``November 2022`` -> ``2022-11``."""
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
        return parsed.isoformat() if "%d" in fmt else parsed.isoformat()[:7]
    return None


class _Builder:
    """Fills a v2 document, remembering where each value came from."""

    def __init__(self, fmt: SourceFormat, hint: str) -> None:
        self.doc: dict[str, Any] = {}
        self.fields: dict[str, str] = {}
        self.fmt = fmt
        self.hint = hint

    def fail(self, where: str, message: str) -> ImportFailed:
        return ImportFailed(
            f"{FORMAT_NAMES[self.fmt]}, field {where}: {message}",
            code="IMPORT.E020",
            hint=self.hint,
        )

    def put(self, path: str, value: Any, where: str) -> None:
        if value is None or value == "" or value == []:
            return
        node = self.doc
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        self.fields[path] = where

    def date(self, path: str, text: str | None, where: str) -> None:
        if not text:
            return
        iso = _iso_date(text)
        if iso is None:
            raise self.fail(where, f"{text!r} is not a date such as 'April 15, 2020'")
        self.put(path, iso, where)

    def count(self, path: str, text: str | None, where: str) -> None:
        if text is None or not text.strip():
            return
        if not text.strip().isdigit():
            raise self.fail(where, f"{text!r} is not a whole number")
        self.put(path, int(text.strip()), where)

    def origin(self) -> Origin:
        return Origin(self.fmt, self.fields, self.hint)


# -- classic API v1 JSON --------------------------------------------------------------------------


def v1_studies(data: object) -> Iterator[tuple[str, object]]:
    """The ``Study`` objects of a classic v1 document, each with its JSON path."""
    if isinstance(data, list):
        for n, item in enumerate(data):
            yield from ((f"[{n}]{p}", s) for p, s in v1_studies(item))
        return
    if not isinstance(data, dict):
        yield "", data
        return
    if "FullStudiesResponse" in data:
        inner = data["FullStudiesResponse"]
        studies = inner.get("FullStudies") if isinstance(inner, dict) else None
        for n, item in enumerate(studies if isinstance(studies, list) else []):
            study = item.get("Study") if isinstance(item, dict) else item
            yield f"FullStudiesResponse.FullStudies[{n}].Study", study
        return
    if isinstance(data.get("FullStudies"), list):
        for n, item in enumerate(data["FullStudies"]):
            study = item.get("Study") if isinstance(item, dict) else item
            yield f"FullStudies[{n}].Study", study
        return
    if "Study" in data:
        yield "Study", data["Study"]
        return
    yield "", data


def _v1_text(node: object, path: str) -> str | None:
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    if isinstance(node, str):
        return node.strip() or None
    if isinstance(node, int | float) and not isinstance(node, bool):
        return str(node)
    return None


def _v1_list(node: object, path: str) -> list[Any]:
    for part in path.split("."):
        if not isinstance(node, dict):
            return []
        node = node.get(part)
    return node if isinstance(node, list) else []


def from_v1(study: object, where: str = "Study") -> tuple[dict[str, Any], Origin]:
    """A classic API v1 ``Study`` as a v2 document and the source field of each value."""
    b = _Builder(SourceFormat.CTGOV_V1, V1_HINT)
    if not isinstance(study, dict) or not isinstance(study.get("ProtocolSection"), dict):
        raise b.fail(f"{where}.ProtocolSection", "is missing: this is not a full study")
    ps = study["ProtocolSection"]
    pre = f"{where}.ProtocolSection" if where else "ProtocolSection"

    def t(path: str) -> str | None:
        return _v1_text(ps, path)

    def put(v2: str, v1: str, convert: Any = None) -> None:
        value = t(v1)
        if value is not None and convert is not None:
            value = convert(value)
        b.put(f"protocolSection.{v2}", value, f"{pre}.{v1}")

    put("identificationModule.nctId", "IdentificationModule.NCTId")
    put("identificationModule.orgStudyIdInfo.id", "IdentificationModule.OrgStudyIdInfo.OrgStudyId")
    put("identificationModule.briefTitle", "IdentificationModule.BriefTitle")
    put("identificationModule.officialTitle", "IdentificationModule.OfficialTitle")
    put("identificationModule.acronym", "IdentificationModule.Acronym")
    sec_path = "IdentificationModule.SecondaryIdInfoList.SecondaryIdInfo"
    b.put(
        "protocolSection.identificationModule.secondaryIdInfos",
        [
            {"id": _v1_text(s, "SecondaryId"), "type": _v1_text(s, "SecondaryIdType")}
            for s in _v1_list(ps, sec_path)
        ],
        f"{pre}.{sec_path}",
    )
    put("statusModule.overallStatus", "StatusModule.OverallStatus", enum_value)
    put("statusModule.lastKnownStatus", "StatusModule.LastKnownStatus", enum_value)
    for v2, v1 in (
        ("startDateStruct", "StartDate"),
        ("primaryCompletionDateStruct", "PrimaryCompletionDate"),
        ("completionDateStruct", "CompletionDate"),
    ):
        struct = f"StatusModule.{v1}Struct"
        b.date(f"protocolSection.statusModule.{v2}.date", t(f"{struct}.{v1}"), f"{pre}.{struct}")
        put(f"statusModule.{v2}.type", f"{struct}.{v1}Type", enum_value)
    for v2, v1 in (
        ("studyFirstSubmitDate", "StudyFirstSubmitDate"),
        ("lastUpdateSubmitDate", "LastUpdateSubmitDate"),
    ):
        b.date(f"protocolSection.statusModule.{v2}", t(f"StatusModule.{v1}"), f"{pre}.{v1}")
    put(
        "sponsorCollaboratorsModule.leadSponsor.name",
        "SponsorCollaboratorsModule.LeadSponsor.LeadSponsorName",
    )
    put(
        "sponsorCollaboratorsModule.leadSponsor.class",
        "SponsorCollaboratorsModule.LeadSponsor.LeadSponsorClass",
    )
    col_path = "SponsorCollaboratorsModule.CollaboratorList.Collaborator"
    b.put(
        "protocolSection.sponsorCollaboratorsModule.collaborators",
        [
            {"name": _v1_text(c, "CollaboratorName"), "class": _v1_text(c, "CollaboratorClass")}
            for c in _v1_list(ps, col_path)
        ],
        f"{pre}.{col_path}",
    )
    put("descriptionModule.briefSummary", "DescriptionModule.BriefSummary")
    put("descriptionModule.detailedDescription", "DescriptionModule.DetailedDescription")
    b.put(
        "protocolSection.conditionsModule.conditions",
        [c for c in _v1_list(ps, "ConditionsModule.ConditionList.Condition") if isinstance(c, str)],
        f"{pre}.ConditionsModule.ConditionList.Condition",
    )
    put("designModule.studyType", "DesignModule.StudyType", enum_value)
    registry = t("DesignModule.PatientRegistry")
    if registry:
        b.put(
            "protocolSection.designModule.patientRegistry",
            registry == "Yes",
            f"{pre}.DesignModule.PatientRegistry",
        )
    b.put(
        "protocolSection.designModule.phases",
        [enum_value(p) for p in _v1_list(ps, "DesignModule.PhaseList.Phase") if isinstance(p, str)],
        f"{pre}.DesignModule.PhaseList.Phase",
    )
    di = "DesignModule.DesignInfo"
    put("designModule.designInfo.allocation", f"{di}.DesignAllocation", enum_value)
    put("designModule.designInfo.interventionModel", f"{di}.DesignInterventionModel", enum_value)
    put(
        "designModule.designInfo.interventionModelDescription",
        f"{di}.DesignInterventionModelDescription",
    )
    put("designModule.designInfo.primaryPurpose", f"{di}.DesignPrimaryPurpose", enum_value)
    for v2, v1 in (
        ("observationalModel", "DesignObservationalModelList.DesignObservationalModel"),
        ("timePerspective", "DesignTimePerspectiveList.DesignTimePerspective"),
    ):
        values = [v for v in _v1_list(ps, f"{di}.{v1}") if isinstance(v, str)]
        if values:
            b.put(
                f"protocolSection.designModule.designInfo.{v2}",
                enum_value(values[0]),
                f"{pre}.{di}.{v1}",
            )
    mi = f"{di}.DesignMaskingInfo"
    put("designModule.designInfo.maskingInfo.masking", f"{mi}.DesignMasking", enum_value)
    put("designModule.designInfo.maskingInfo.maskingDescription", f"{mi}.DesignMaskingDescription")
    b.put(
        "protocolSection.designModule.designInfo.maskingInfo.whoMasked",
        [
            enum_value(w)
            for w in _v1_list(ps, f"{mi}.DesignWhoMaskedList.DesignWhoMasked")
            if isinstance(w, str)
        ],
        f"{pre}.{mi}.DesignWhoMaskedList.DesignWhoMasked",
    )
    ei = "DesignModule.EnrollmentInfo"
    b.count(
        "protocolSection.designModule.enrollmentInfo.count",
        t(f"{ei}.EnrollmentCount"),
        f"{pre}.{ei}.EnrollmentCount",
    )
    put("designModule.enrollmentInfo.type", f"{ei}.EnrollmentType", enum_value)
    ai = "ArmsInterventionsModule"
    arms = []
    for n, a in enumerate(_v1_list(ps, f"{ai}.ArmGroupList.ArmGroup")):
        arm_type = _v1_text(a, "ArmGroupType")
        names = _v1_list(a, "ArmGroupInterventionList.ArmGroupInterventionName")
        arm: dict[str, Any] = {
            "label": _v1_text(a, "ArmGroupLabel"),
            "type": enum_value(arm_type) if arm_type else None,
            "description": _v1_text(a, "ArmGroupDescription"),
            "interventionNames": [x for x in names if isinstance(x, str)],
        }
        arms.append(arm)
        b.fields[f"protocolSection.armsInterventionsModule.armGroups[{n}]"] = (
            f"{pre}.{ai}.ArmGroupList.ArmGroup[{n}]"
        )
    b.put(
        "protocolSection.armsInterventionsModule.armGroups",
        arms,
        f"{pre}.{ai}.ArmGroupList.ArmGroup",
    )
    ivs = []
    for i in _v1_list(ps, f"{ai}.InterventionList.Intervention"):
        iv_type = _v1_text(i, "InterventionType")
        ivs.append(
            {
                "type": enum_value(iv_type) if iv_type else None,
                "name": _v1_text(i, "InterventionName"),
                "description": _v1_text(i, "InterventionDescription"),
                "armGroupLabels": [
                    x
                    for x in _v1_list(i, "InterventionArmGroupLabelList.InterventionArmGroupLabel")
                    if isinstance(x, str)
                ],
            }
        )
    b.put(
        "protocolSection.armsInterventionsModule.interventions",
        ivs,
        f"{pre}.{ai}.InterventionList.Intervention",
    )
    for v2, v1 in (("primary", "Primary"), ("secondary", "Secondary"), ("other", "Other")):
        lst = f"OutcomesModule.{v1}OutcomeList.{v1}Outcome"
        outs = []
        for n, o in enumerate(_v1_list(ps, lst)):
            outs.append(
                {
                    "measure": _v1_text(o, f"{v1}OutcomeMeasure"),
                    "description": _v1_text(o, f"{v1}OutcomeDescription"),
                    "timeFrame": _v1_text(o, f"{v1}OutcomeTimeFrame"),
                }
            )
            b.fields[f"protocolSection.outcomesModule.{v2}Outcomes[{n}].measure"] = (
                f"{pre}.{lst}[{n}].{v1}OutcomeMeasure"
            )
        b.put(f"protocolSection.outcomesModule.{v2}Outcomes", outs, f"{pre}.{lst}")
    em = "EligibilityModule"
    put("eligibilityModule.eligibilityCriteria", f"{em}.EligibilityCriteria")
    put("eligibilityModule.sex", f"{em}.Gender", enum_value)
    for v2, v1 in (("minimumAge", "MinimumAge"), ("maximumAge", "MaximumAge")):
        value = t(f"{em}.{v1}")
        if value and enum_value(value) != "NA":
            b.put(f"protocolSection.eligibilityModule.{v2}", value, f"{pre}.{em}.{v1}")
    cl = "ContactsLocationsModule"
    b.put(
        "protocolSection.contactsLocationsModule.overallOfficials",
        [
            {
                "name": _v1_text(o, "OverallOfficialName"),
                "affiliation": _v1_text(o, "OverallOfficialAffiliation"),
                "role": enum_value(_v1_text(o, "OverallOfficialRole") or "") or None,
            }
            for o in _v1_list(ps, f"{cl}.OverallOfficialList.OverallOfficial")
        ],
        f"{pre}.{cl}.OverallOfficialList.OverallOfficial",
    )
    b.put(
        "protocolSection.contactsLocationsModule.centralContacts",
        [
            {
                "name": _v1_text(c, "CentralContactName"),
                "phone": _v1_text(c, "CentralContactPhone"),
                "email": _v1_text(c, "CentralContactEMail"),
            }
            for c in _v1_list(ps, f"{cl}.CentralContactList.CentralContact")
        ],
        f"{pre}.{cl}.CentralContactList.CentralContact",
    )
    b.put(
        "protocolSection.contactsLocationsModule.locations",
        [
            {
                "facility": _v1_text(loc, "LocationFacility"),
                "city": _v1_text(loc, "LocationCity"),
                "state": _v1_text(loc, "LocationState"),
                "zip": _v1_text(loc, "LocationZip"),
                "country": _v1_text(loc, "LocationCountry"),
            }
            for loc in _v1_list(ps, f"{cl}.LocationList.Location")
        ],
        f"{pre}.{cl}.LocationList.Location",
    )
    ipd = "IPDSharingStatementModule"
    put("ipdSharingStatementModule.ipdSharing", f"{ipd}.IPDSharing", enum_value)
    put("ipdSharingStatementModule.description", f"{ipd}.IPDSharingDescription")
    put("ipdSharingStatementModule.timeFrame", f"{ipd}.IPDSharingTimeFrame")
    put("ipdSharingStatementModule.accessCriteria", f"{ipd}.IPDSharingAccessCriteria")
    put("ipdSharingStatementModule.url", f"{ipd}.IPDSharingURL")
    if isinstance(study.get("ResultsSection"), dict):
        b.put("resultsSection", {"present": True}, f"{where}.ResultsSection")
    b.fields.setdefault("protocolSection", pre)
    return b.doc, b.origin()


# -- legacy clinical_study XML ---------------------------------------------------------------


def xml_studies(root: Element) -> list[Element]:
    return [root] if local_name(root.tag) == "clinical_study" else []


def _child(el: Element | None, name: str) -> Element | None:
    if el is None:
        return None
    return next((c for c in el if local_name(c.tag) == name), None)


def _children(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else [c for c in el if local_name(c.tag) == name]


def _xtext(el: Element | None, path: str = "") -> str | None:
    node = el
    for part in [p for p in path.split("/") if p]:
        node = _child(node, part)
    if node is None:
        return None
    text = "".join(node.itertext()).strip()
    return text or None


_ITEM_START = re.compile(r"^\s*(?:[*\-•]|\d{1,3}[.)])\s+")


def textblock(text: str | None, *, lists: bool = False) -> str | None:
    """A ``textblock`` without its indentation and carriage returns, its wrapped lines joined.

    With ``lists``, a line that starts an item (``-``, ``1.``) or a heading (ends in ``:``) is
    kept on its own line and its indentation relative to the block is kept."""
    if text is None:
        return None
    lines = textwrap.dedent(text.replace("\r", "")).strip("\n").splitlines()
    out: list[str] = []
    for line in lines:
        if not line.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        heading = line.rstrip().endswith(":") and len(line.strip()) < 80
        starts = lists and bool(
            _ITEM_START.match(line) or heading or (out and out[-1].rstrip().endswith(":"))
        )
        if out and out[-1] != "" and not starts:
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line.rstrip() if lists else line.strip())
    return "\n".join(out).strip() or None


def from_legacy_xml(root: Element) -> tuple[dict[str, Any], Origin]:
    """A legacy ``clinical_study`` XML record as a v2 document and the source of each value."""
    b = _Builder(SourceFormat.CTGOV_XML, XML_HINT)

    def put(v2: str, xpath: str, convert: Any = None) -> None:
        value = _xtext(root, xpath)
        if value is not None and convert is not None:
            value = convert(value)
        b.put(f"protocolSection.{v2}", value, f"<{xpath}>")

    put("identificationModule.nctId", "id_info/nct_id")
    put("identificationModule.orgStudyIdInfo.id", "id_info/org_study_id")
    b.put(
        "protocolSection.identificationModule.secondaryIdInfos",
        [{"id": _xtext(s)} for s in _children(_child(root, "id_info"), "secondary_id")],
        "<id_info/secondary_id>",
    )
    put("identificationModule.briefTitle", "brief_title")
    put("identificationModule.officialTitle", "official_title")
    put("identificationModule.acronym", "acronym")
    put("statusModule.overallStatus", "overall_status", enum_value)
    put("statusModule.lastKnownStatus", "last_known_status", enum_value)
    for v2, tag in (
        ("startDateStruct", "start_date"),
        ("primaryCompletionDateStruct", "primary_completion_date"),
        ("completionDateStruct", "completion_date"),
    ):
        el = _child(root, tag)
        b.date(f"protocolSection.statusModule.{v2}.date", _xtext(el), f"<{tag}>")
        if el is not None and el.get("type"):
            b.put(
                f"protocolSection.statusModule.{v2}.type",
                enum_value(el.get("type") or ""),
                f"<{tag} type>",
            )
    b.date(
        "protocolSection.statusModule.studyFirstSubmitDate",
        _xtext(root, "study_first_submitted"),
        "<study_first_submitted>",
    )
    b.date(
        "protocolSection.statusModule.lastUpdateSubmitDate",
        _xtext(root, "last_update_submitted"),
        "<last_update_submitted>",
    )
    sponsors = _child(root, "sponsors")
    put("sponsorCollaboratorsModule.leadSponsor.name", "sponsors/lead_sponsor/agency")
    put(
        "sponsorCollaboratorsModule.leadSponsor.class",
        "sponsors/lead_sponsor/agency_class",
        enum_value,
    )
    b.put(
        "protocolSection.sponsorCollaboratorsModule.collaborators",
        [
            {
                "name": _xtext(c, "agency"),
                "class": enum_value(_xtext(c, "agency_class") or "") or None,
            }
            for c in _children(sponsors, "collaborator")
        ],
        "<sponsors/collaborator>",
    )
    b.put(
        "protocolSection.descriptionModule.briefSummary",
        textblock(_xtext(_child(root, "brief_summary"), "textblock")),
        "<brief_summary/textblock>",
    )
    b.put(
        "protocolSection.descriptionModule.detailedDescription",
        textblock(_xtext(_child(root, "detailed_description"), "textblock")),
        "<detailed_description/textblock>",
    )
    b.put(
        "protocolSection.conditionsModule.conditions",
        [c for c in (_xtext(x) for x in _children(root, "condition")) if c],
        "<condition>",
    )
    study_type = _xtext(root, "study_type")
    put("designModule.studyType", "study_type", enum_value)
    if study_type and "patient registry" in study_type.lower():
        b.put("protocolSection.designModule.patientRegistry", True, "<study_type>")
    phase = _xtext(root, "phase")
    if phase:
        b.put(
            "protocolSection.designModule.phases",
            [enum_value(p) for p in phase.split("/")],
            "<phase>",
        )
    di = "study_design_info"
    put("designModule.designInfo.allocation", f"{di}/allocation", enum_value)
    put("designModule.designInfo.interventionModel", f"{di}/intervention_model", enum_value)
    put(
        "designModule.designInfo.interventionModelDescription",
        f"{di}/intervention_model_description",
    )
    put("designModule.designInfo.primaryPurpose", f"{di}/primary_purpose", enum_value)
    put("designModule.designInfo.observationalModel", f"{di}/observational_model", enum_value)
    put("designModule.designInfo.timePerspective", f"{di}/time_perspective", enum_value)
    masking = _xtext(root, f"{di}/masking")
    if masking:
        b.put(
            "protocolSection.designModule.designInfo.maskingInfo.masking",
            enum_value(masking),
            f"<{di}/masking>",
        )
        roles = re.search(r"\(([^)]*)\)", masking)
        if roles:
            b.put(
                "protocolSection.designModule.designInfo.maskingInfo.whoMasked",
                [enum_value(r) for r in roles.group(1).split(",") if r.strip()],
                f"<{di}/masking>",
            )
    put("designModule.designInfo.maskingInfo.maskingDescription", f"{di}/masking_description")
    enrollment = _child(root, "enrollment")
    b.count("protocolSection.designModule.enrollmentInfo.count", _xtext(enrollment), "<enrollment>")
    if enrollment is not None and enrollment.get("type"):
        b.put(
            "protocolSection.designModule.enrollmentInfo.type",
            enum_value(enrollment.get("type") or ""),
            "<enrollment type>",
        )
    arms = []
    for n, a in enumerate(_children(root, "arm_group")):
        arm_type = _xtext(a, "arm_group_type")
        arms.append(
            {
                "label": _xtext(a, "arm_group_label"),
                "type": enum_value(arm_type) if arm_type else None,
                "description": textblock(_xtext(a, "description")),
            }
        )
        b.fields[f"protocolSection.armsInterventionsModule.armGroups[{n}]"] = f"<arm_group> {n + 1}"
    b.put("protocolSection.armsInterventionsModule.armGroups", arms, "<arm_group>")
    ivs = []
    for i in _children(root, "intervention"):
        iv_type = _xtext(i, "intervention_type")
        ivs.append(
            {
                "type": enum_value(iv_type) if iv_type else None,
                "name": _xtext(i, "intervention_name"),
                "description": textblock(_xtext(i, "description")),
                "armGroupLabels": [
                    x for x in (_xtext(g) for g in _children(i, "arm_group_label")) if x
                ],
            }
        )
    b.put("protocolSection.armsInterventionsModule.interventions", ivs, "<intervention>")
    for v2, tag in (
        ("primary", "primary_outcome"),
        ("secondary", "secondary_outcome"),
        ("other", "other_outcome"),
    ):
        outs = []
        for n, o in enumerate(_children(root, tag)):
            outs.append(
                {
                    "measure": _xtext(o, "measure"),
                    "description": textblock(_xtext(o, "description")),
                    "timeFrame": _xtext(o, "time_frame"),
                }
            )
            b.fields[f"protocolSection.outcomesModule.{v2}Outcomes[{n}].measure"] = (
                f"<{tag}> {n + 1}: <measure>"
            )
        b.put(f"protocolSection.outcomesModule.{v2}Outcomes", outs, f"<{tag}>")
    el = _child(root, "eligibility")
    raw_criteria = _child(_child(el, "criteria"), "textblock")
    criteria = "".join(raw_criteria.itertext()) if raw_criteria is not None else None
    b.put(
        "protocolSection.eligibilityModule.eligibilityCriteria",
        textblock(criteria, lists=True),
        "<eligibility/criteria/textblock>",
    )
    gender = _xtext(el, "gender")
    if gender:
        b.put("protocolSection.eligibilityModule.sex", enum_value(gender), "<eligibility/gender>")
    for v2, tag in (("minimumAge", "minimum_age"), ("maximumAge", "maximum_age")):
        value = _xtext(el, tag)
        if value and enum_value(value) != "NA":
            b.put(f"protocolSection.eligibilityModule.{v2}", value, f"<eligibility/{tag}>")
    officials = []
    for o in _children(root, "overall_official"):
        name = " ".join(x for x in (_xtext(o, "first_name"), _xtext(o, "last_name")) if x)
        officials.append(
            {
                "name": name or None,
                "affiliation": _xtext(o, "affiliation"),
                "role": enum_value(_xtext(o, "role") or "") or None,
            }
        )
    b.put(
        "protocolSection.contactsLocationsModule.overallOfficials", officials, "<overall_official>"
    )
    contacts = []
    for tag in ("overall_contact", "overall_contact_backup"):
        for c in _children(root, tag):
            name = " ".join(x for x in (_xtext(c, "first_name"), _xtext(c, "last_name")) if x)
            contacts.append(
                {"name": name or None, "phone": _xtext(c, "phone"), "email": _xtext(c, "email")}
            )
    b.put("protocolSection.contactsLocationsModule.centralContacts", contacts, "<overall_contact>")
    locations = []
    for loc in _children(root, "location"):
        fac = _child(loc, "facility")
        locations.append(
            {
                "facility": _xtext(fac, "name"),
                "city": _xtext(fac, "address/city"),
                "state": _xtext(fac, "address/state"),
                "zip": _xtext(fac, "address/zip"),
                "country": _xtext(fac, "address/country"),
            }
        )
    b.put("protocolSection.contactsLocationsModule.locations", locations, "<location>")
    pd = "patient_data"
    put("ipdSharingStatementModule.ipdSharing", f"{pd}/sharing_ipd", enum_value)
    put("ipdSharingStatementModule.description", f"{pd}/ipd_description")
    put("ipdSharingStatementModule.timeFrame", f"{pd}/ipd_time_frame")
    put("ipdSharingStatementModule.accessCriteria", f"{pd}/ipd_access_criteria")
    put("ipdSharingStatementModule.url", f"{pd}/ipd_url")
    if _child(root, "clinical_results") is not None:
        b.put("resultsSection", {"present": True}, "<clinical_results>")
    b.fields.setdefault("protocolSection", "<clinical_study>")
    return b.doc, b.origin()
