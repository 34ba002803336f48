"""The SDTM domains the ``sdtm`` export writes: their variables, labels, classes and keys.

Variables follow SDTMIG 3.2 (names, labels, order); each has the origin Define-XML records
(``CRF`` a value entered on a form, ``Derived`` computed here, ``Assigned`` set by this export,
``Protocol`` taken from the protocol). The test-code tables map trialkit's item names to SDTM
test codes where the item names are the usual ones; other items get a code made from their name.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DOMAINS", "LB_TESTS", "SDTMIG_VERSION", "VS_TESTS", "Column", "Domain"]

#: The SDTM implementation guide version the datasets and define.xml follow.
SDTMIG_VERSION = "3.2"


@dataclass(frozen=True)
class Column:
    """One SDTM variable: name, label, numeric or text, origin (Define-XML ``def:Origin``)."""

    name: str
    label: str
    numeric: bool = False
    origin: str = "Derived"


@dataclass(frozen=True)
class Domain:
    """One SDTM domain: its code, label, class, structure, key variables and variables."""

    code: str
    label: str
    cls: str
    structure: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]


def _c(name: str, label: str, kind: str = "C", origin: str = "Derived") -> Column:
    return Column(name, label, kind == "N", origin)


_ID = (
    _c("STUDYID", "Study Identifier", origin="Protocol"),
    _c("DOMAIN", "Domain Abbreviation", origin="Assigned"),
    _c("USUBJID", "Unique Subject Identifier"),
)
_VISIT = (
    _c("VISITNUM", "Visit Number", "N"),
    _c("VISIT", "Visit Name", origin="Protocol"),
)


def _finding(code: str, label: str, extra: tuple[Column, ...], cat: bool) -> Domain:
    p = code
    cols = (
        *_ID,
        _c(f"{p}SEQ", "Sequence Number", "N"),
        *(
            (_c(f"{p}GRPID", "Group ID"), _c(f"{p}SPID", "Sponsor-Defined Identifier"))
            * (p == "QS")
        ),
        _c(f"{p}TESTCD", f"{label[:-1] if label.endswith('s') else label} Test Short Name"[:40]),
        _c(f"{p}TEST", f"{label[:-1] if label.endswith('s') else label} Test Name"[:40]),
        *((_c(f"{p}CAT", f"Category of {label}"[:40]),) if cat else ()),
        _c(f"{p}ORRES", "Result or Finding in Original Units", origin="CRF"),
        *extra,
        _c(f"{p}STRESC", "Character Result/Finding in Std Format"),
        _c(f"{p}STRESN", "Numeric Result/Finding in Standard Units", "N"),
        *((_c(f"{p}STRESU", "Standard Units"),) if p != "QS" else ()),
        *((_c(f"{p}NRIND", "Reference Range Indicator"),) if p == "LB" else ()),
        _c(f"{p}STAT", "Completion Status"),
        _c(f"{p}REASND", "Reason Not Done", origin="CRF"),
        *((_c(f"{p}DRVFL", "Derived Flag"),) if p == "QS" else ()),
        *_VISIT,
        _c(f"{p}DTC", f"Date/Time of {'Measurements' if p == 'VS' else 'Finding'}"[:40]),
        _c(f"{p}DY", f"Study Day of {'Vital Signs' if p == 'VS' else 'Finding'}"[:40], "N"),
    )
    keys = ("STUDYID", "USUBJID", f"{p}TESTCD", "VISITNUM", f"{p}SEQ")
    structure = f"One record per {label.lower()} test per visit per subject"
    return Domain(code, label, "FINDINGS", structure, keys, cols)


DOMAINS: dict[str, Domain] = {
    d.code: d
    for d in (
        Domain(
            "DM",
            "Demographics",
            "SPECIAL PURPOSE",
            "One record per subject",
            ("STUDYID", "USUBJID"),
            (
                *_ID,
                _c("SUBJID", "Subject Identifier for the Study", origin="Assigned"),
                _c("RFSTDTC", "Subject Reference Start Date/Time"),
                _c("RFENDTC", "Subject Reference End Date/Time"),
                _c("RFXSTDTC", "Date/Time of First Study Treatment"),
                _c("RFXENDTC", "Date/Time of Last Study Treatment"),
                _c("RFICDTC", "Date/Time of Informed Consent"),
                _c("RFPENDTC", "Date/Time of End of Participation"),
                _c("SITEID", "Study Site Identifier", origin="Assigned"),
                _c("BRTHDTC", "Date/Time of Birth", origin="CRF"),
                _c("AGE", "Age", "N", origin="CRF"),
                _c("AGEU", "Age Units", origin="Assigned"),
                _c("SEX", "Sex", origin="CRF"),
                _c("ARMCD", "Planned Arm Code", origin="Assigned"),
                _c("ARM", "Description of Planned Arm", origin="Protocol"),
                _c("ACTARMCD", "Actual Arm Code"),
                _c("ACTARM", "Description of Actual Arm"),
                _c("COUNTRY", "Country", origin="Protocol"),
            ),
        ),
        Domain(
            "DS",
            "Disposition",
            "EVENTS",
            "One record per disposition status or protocol milestone per subject",
            ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"),
            (
                *_ID,
                _c("DSSEQ", "Sequence Number", "N"),
                _c("DSTERM", "Reported Term for the Disposition Event"),
                _c("DSDECOD", "Standardized Disposition Term"),
                _c("DSCAT", "Category for Disposition Event"),
                _c("DSSTDTC", "Start Date/Time of Disposition Event"),
                _c("DSSTDY", "Study Day of Start of Disposition Event", "N"),
            ),
        ),
        Domain(
            "EX",
            "Exposure",
            "INTERVENTIONS",
            "One record per constant dosing interval per subject",
            ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
            (
                *_ID,
                _c("EXSEQ", "Sequence Number", "N"),
                _c("EXTRT", "Name of Treatment", origin="Protocol"),
                _c("EXDOSE", "Dose", "N", origin="CRF"),
                _c("EXDOSU", "Dose Units", origin="CRF"),
                _c("EXROUTE", "Route of Administration", origin="Protocol"),
                _c("EXLOT", "Lot Number", origin="CRF"),
                _c("EXSTDTC", "Start Date/Time of Treatment", origin="CRF"),
                _c("EXENDTC", "End Date/Time of Treatment", origin="CRF"),
                _c("EXSTDY", "Study Day of Start of Treatment", "N"),
                _c("EXENDY", "Study Day of End of Treatment", "N"),
            ),
        ),
        Domain(
            "AE",
            "Adverse Events",
            "EVENTS",
            "One record per adverse event per subject",
            ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC", "AESEQ"),
            (
                *_ID,
                _c("AESEQ", "Sequence Number", "N"),
                _c("AESPID", "Sponsor-Defined Identifier", origin="Assigned"),
                _c("AETERM", "Reported Term for the Adverse Event", origin="CRF"),
                _c("AEDECOD", "Dictionary-Derived Term"),
                _c("AEBODSYS", "Body System or Organ Class"),
                _c("AESER", "Serious Event", origin="CRF"),
                _c("AEREL", "Causality", origin="CRF"),
                _c("AEOUT", "Outcome of Adverse Event", origin="CRF"),
                _c("AETOXGR", "Standard Toxicity Grade"),
                _c("AESTDTC", "Start Date/Time of Adverse Event", origin="CRF"),
                _c("AEENDTC", "End Date/Time of Adverse Event", origin="CRF"),
                _c("AESTDY", "Study Day of Start of Adverse Event", "N"),
                _c("AEENDY", "Study Day of End of Adverse Event", "N"),
            ),
        ),
        Domain(
            "CM",
            "Concomitant Medications",
            "INTERVENTIONS",
            "One record per recorded medication occurrence per subject",
            ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC", "CMSEQ"),
            (
                *_ID,
                _c("CMSEQ", "Sequence Number", "N"),
                _c("CMTRT", "Reported Name of Drug, Med, or Therapy", origin="CRF"),
                _c("CMINDC", "Indication", origin="CRF"),
                _c("CMDOSE", "Dose per Administration", "N", origin="CRF"),
                _c("CMDOSU", "Dose Units", origin="CRF"),
                _c("CMROUTE", "Route of Administration", origin="CRF"),
                _c("CMSTDTC", "Start Date/Time of Medication", origin="CRF"),
                _c("CMENDTC", "End Date/Time of Medication", origin="CRF"),
                _c("CMSTDY", "Study Day of Start of Medication", "N"),
                _c("CMENDY", "Study Day of End of Medication", "N"),
            ),
        ),
        _finding(
            "VS",
            "Vital Signs",
            (_c("VSORRESU", "Original Units", origin="Protocol"),),
            False,
        ),
        _finding(
            "LB",
            "Laboratory Tests",
            (
                _c("LBORRESU", "Original Units", origin="Protocol"),
                _c("LBORNRLO", "Reference Range Lower Limit in Orig Unit", origin="Protocol"),
                _c("LBORNRHI", "Reference Range Upper Limit in Orig Unit", origin="Protocol"),
            ),
            True,
        ),
        _finding("QS", "Questionnaires", (), True),
        Domain(
            "SV",
            "Subject Visits",
            "SPECIAL PURPOSE",
            "One record per subject per actual visit",
            ("STUDYID", "USUBJID", "VISITNUM"),
            (
                *_ID,
                *_VISIT,
                _c("VISITDY", "Planned Study Day of Visit", "N", origin="Protocol"),
                _c("SVSTDTC", "Start Date/Time of Visit", origin="CRF"),
                _c("SVENDTC", "End Date/Time of Visit", origin="CRF"),
                _c("SVSTDY", "Study Day of Start of Visit", "N"),
                _c("SVENDY", "Study Day of End of Visit", "N"),
                _c("SVUPDES", "Description of Unplanned Visit"),
            ),
        ),
        Domain(
            "TE",
            "Trial Elements",
            "TRIAL DESIGN",
            "One record per planned element",
            ("STUDYID", "ETCD"),
            (
                _c("STUDYID", "Study Identifier", origin="Protocol"),
                _c("DOMAIN", "Domain Abbreviation", origin="Assigned"),
                _c("ETCD", "Element Code", origin="Protocol"),
                _c("ELEMENT", "Description of Element", origin="Protocol"),
                _c("TESTRL", "Rule for Start of Element", origin="Protocol"),
                _c("TEENRL", "Rule for End of Element", origin="Protocol"),
                _c("TEDUR", "Planned Duration of Element", origin="Protocol"),
            ),
        ),
        Domain(
            "TA",
            "Trial Arms",
            "TRIAL DESIGN",
            "One record per planned element per arm",
            ("STUDYID", "ARMCD", "TAETORD"),
            (
                _c("STUDYID", "Study Identifier", origin="Protocol"),
                _c("DOMAIN", "Domain Abbreviation", origin="Assigned"),
                _c("ARMCD", "Planned Arm Code", origin="Protocol"),
                _c("ARM", "Description of Planned Arm", origin="Protocol"),
                _c("TAETORD", "Planned Order of Element within Arm", "N", origin="Protocol"),
                _c("ETCD", "Element Code", origin="Protocol"),
                _c("ELEMENT", "Description of Element", origin="Protocol"),
                _c("TABRANCH", "Branch", origin="Protocol"),
                _c("TATRANS", "Transition Rule", origin="Protocol"),
                _c("EPOCH", "Epoch", origin="Protocol"),
            ),
        ),
        Domain(
            "TV",
            "Trial Visits",
            "TRIAL DESIGN",
            "One record per planned visit per arm",
            ("STUDYID", "VISITNUM"),
            (
                _c("STUDYID", "Study Identifier", origin="Protocol"),
                _c("DOMAIN", "Domain Abbreviation", origin="Assigned"),
                _c("VISITNUM", "Visit Number", "N", origin="Protocol"),
                _c("VISIT", "Visit Name", origin="Protocol"),
                _c("VISITDY", "Planned Study Day of Visit", "N", origin="Protocol"),
                _c("ARMCD", "Planned Arm Code", origin="Protocol"),
                _c("TVSTRL", "Visit Start Rule", origin="Protocol"),
                _c("TVENRL", "Visit End Rule", origin="Protocol"),
            ),
        ),
        Domain(
            "TI",
            "Trial Inclusion/Exclusion Criteria",
            "TRIAL DESIGN",
            "One record per I/E criterion",
            ("STUDYID", "IETESTCD"),
            (
                _c("STUDYID", "Study Identifier", origin="Protocol"),
                _c("DOMAIN", "Domain Abbreviation", origin="Assigned"),
                _c("IETESTCD", "Incl/Excl Criterion Short Name", origin="Protocol"),
                _c("IETEST", "Inclusion/Exclusion Criterion", origin="Protocol"),
                _c("IECAT", "Inclusion/Exclusion Category", origin="Protocol"),
                _c("TIVERS", "Protocol Criteria Versions", origin="Protocol"),
            ),
        ),
        Domain(
            "TS",
            "Trial Summary",
            "TRIAL DESIGN",
            "One record per trial summary parameter value",
            ("STUDYID", "TSPARMCD", "TSSEQ"),
            (
                _c("STUDYID", "Study Identifier", origin="Protocol"),
                _c("DOMAIN", "Domain Abbreviation", origin="Assigned"),
                _c("TSSEQ", "Sequence Number", "N", origin="Assigned"),
                _c("TSPARMCD", "Trial Summary Parameter Short Name", origin="Assigned"),
                _c("TSPARM", "Trial Summary Parameter", origin="Assigned"),
                _c("TSVAL", "Parameter Value", origin="Protocol"),
            ),
        ),
    )
}

#: trialkit item name -> (VSTESTCD, VSTEST), SDTM controlled terminology's codes.
VS_TESTS: dict[str, tuple[str, str]] = {
    "systolic_bp": ("SYSBP", "Systolic Blood Pressure"),
    "diastolic_bp": ("DIABP", "Diastolic Blood Pressure"),
    "heart_rate": ("HR", "Heart Rate"),
    "pulse": ("PULSE", "Pulse Rate"),
    "temperature": ("TEMP", "Temperature"),
    "weight": ("WEIGHT", "Weight"),
    "height": ("HEIGHT", "Height"),
    "respiratory_rate": ("RESP", "Respiratory Rate"),
    "bmi": ("BMI", "Body Mass Index"),
    "oxygen_saturation": ("OXYSAT", "Oxygen Saturation"),
}

#: trialkit item name -> (LBTESTCD, LBTEST), SDTM controlled terminology's codes.
LB_TESTS: dict[str, tuple[str, str]] = {
    "alt": ("ALT", "Alanine Aminotransferase"),
    "ast": ("AST", "Aspartate Aminotransferase"),
    "alkaline_phosphatase": ("ALP", "Alkaline Phosphatase"),
    "alp": ("ALP", "Alkaline Phosphatase"),
    "creatinine": ("CREAT", "Creatinine"),
    "total_bilirubin": ("BILI", "Bilirubin"),
    "bilirubin": ("BILI", "Bilirubin"),
    "hemoglobin": ("HGB", "Hemoglobin"),
    "haemoglobin": ("HGB", "Hemoglobin"),
    "platelets": ("PLAT", "Platelets"),
    "wbc": ("WBC", "Leukocytes"),
    "neutrophils": ("NEUT", "Neutrophils"),
    "lymphocytes": ("LYM", "Lymphocytes"),
    "crp": ("CRP", "C Reactive Protein"),
    "albumin": ("ALB", "Albumin"),
}
