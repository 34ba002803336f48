"""The SDTM domains the ``sdtm`` export writes: their variables, labels, classes and keys.

Variables follow SDTMIG 3.2 (names, labels, order); each has the origin Define-XML records
(``CRF`` a value entered on a form, ``Derived`` computed here, ``Assigned`` set by this export,
``Protocol`` taken from the protocol). The test-code tables map trialkit's item names to SDTM
test codes where the item names are the usual ones; other items get a code made from their name.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DOMAINS",
    "LB_TESTS",
    "SDTMIG_VERSION",
    "SUPP_QUALIFIERS",
    "VS_TESTS",
    "Column",
    "Domain",
]

#: The SDTM implementation guide version the datasets and define.xml follow.
SDTMIG_VERSION = "3.2"


@dataclass(frozen=True)
class Column:
    """One SDTM variable: name, label, numeric or text, origin (Define-XML ``def:Origin``), and
    the keys of its method, code list and comment in :mod:`trialkit.exports.sdtm_terms`."""

    name: str
    label: str
    numeric: bool = False
    origin: str = "Derived"
    method: str = ""
    codelist: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Domain:
    """One SDTM domain: its code, label, class, structure, key variables and variables."""

    code: str
    label: str
    cls: str
    structure: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def repeating(self) -> bool:
        """One record per subject (DM) or per trial (the design domains) is not repeating."""
        return self.code != "DM" and self.cls != "TRIAL DESIGN"


def _method(name: str, origin: str) -> str:
    """The method of a derived variable named by its usual suffix (others name theirs)."""
    if origin != "Derived":
        return ""
    if name == "EPOCH" or name == "USUBJID" or name == "VISITNUM":
        return name
    for suffix, method in (("SEQ", "SEQ"), ("DY", "STUDYDAY"), ("TESTCD", "TESTCD")):
        if name.endswith(suffix):
            return method
    for suffix in ("TEST", "STRESC", "STRESN", "STRESU", "STAT", "NRIND", "DRVFL", "GRPID"):
        if name[2:] == suffix:
            return {"TEST": "TESTCD"}.get(suffix, suffix)
    if name[2:] in ("SPID", "CAT"):
        return name[2:]
    return ""


def _c(
    name: str,
    label: str,
    kind: str = "C",
    origin: str = "Derived",
    *,
    method: str = "",
    cl: str = "",
    comment: str = "",
) -> Column:
    return Column(name, label, kind == "N", origin, method or _method(name, origin), cl, comment)


_ID = (
    _c("STUDYID", "Study Identifier", origin="Protocol"),
    _c("DOMAIN", "Domain Abbreviation", origin="Assigned"),
    _c("USUBJID", "Unique Subject Identifier"),
)
_VISIT = (
    _c("VISITNUM", "Visit Number", "N"),
    _c("VISIT", "Visit Name", origin="Protocol"),
)
_EPOCH = _c("EPOCH", "Epoch", cl="EPOCH")


def _subject(
    code: str, label: str, cls: str, structure: str, keys: tuple[str, ...], *cols: Column
) -> Domain:
    """A subject domain: the identifiers, then its own variables."""
    return Domain(code, label, cls, structure, keys, (*_ID, *cols))


def _design(code: str, label: str, structure: str, keys: tuple[str, ...], *cols: Column) -> Domain:
    """A trial design domain: STUDYID and DOMAIN, then its variables, all from the protocol."""
    head = (_ID[0], _ID[1])
    return Domain(code, label, "TRIAL DESIGN", structure, keys, (*head, *cols))


def _span(p: str, what: str) -> tuple[Column, ...]:
    """EPOCH and the start and end of an event or intervention, as dates and study days."""
    return (
        _EPOCH,
        _c(f"{p}STDTC", f"Start Date/Time of {what}", origin="CRF", comment="DTC"),
        _c(f"{p}ENDTC", f"End Date/Time of {what}", origin="CRF", comment="DTC"),
        _c(f"{p}STDY", f"Study Day of Start of {what}", "N"),
        _c(f"{p}ENDY", f"Study Day of End of {what}", "N"),
    )


def _p(name: str, label: str, kind: str = "C", *, cl: str = "", comment: str = "") -> Column:
    """A variable taken from the protocol."""
    return _c(name, label, kind, "Protocol", cl=cl, comment=comment)


def _finding(code: str, label: str, extra: tuple[Column, ...], cat: bool) -> Domain:
    p = code
    one = label[:-1] if label.endswith("s") else label
    cols = (
        *_ID,
        _c(f"{p}SEQ", "Sequence Number", "N"),
        *(
            (_c(f"{p}GRPID", "Group ID"), _c(f"{p}SPID", "Sponsor-Defined Identifier"))
            * (p == "QS")
        ),
        _c(f"{p}TESTCD", f"{one} Test Short Name"[:40], cl=f"{p}TESTCD"),
        _c(f"{p}TEST", f"{one} Test Name"[:40]),
        *((_c(f"{p}CAT", f"Category of {label}"[:40], cl=f"{p}CAT"),) if cat else ()),
        _c(f"{p}ORRES", "Result or Finding in Original Units", origin="CRF"),
        *extra,
        _c(f"{p}STRESC", "Character Result/Finding in Std Format"),
        _c(f"{p}STRESN", "Numeric Result/Finding in Standard Units", "N"),
        *((_c(f"{p}STRESU", "Standard Units", comment="UCUM"),) if p != "QS" else ()),
        *((_c(f"{p}NRIND", "Reference Range Indicator", cl="NRIND"),) if p == "LB" else ()),
        _c(f"{p}STAT", "Completion Status", cl="ND"),
        _c(f"{p}REASND", "Reason Not Done", origin="CRF"),
        *((_c(f"{p}DRVFL", "Derived Flag", cl="NY"),) if p == "QS" else ()),
        *_VISIT,
        _EPOCH,
        _c(
            f"{p}DTC",
            f"Date/Time of {'Measurements' if p == 'VS' else 'Finding'}"[:40],
            method="FINDINGDTC",
        ),
        _c(f"{p}DY", f"Study Day of {'Vital Signs' if p == 'VS' else 'Finding'}"[:40], "N"),
    )
    keys = ("STUDYID", "USUBJID", f"{p}TESTCD", "VISITNUM", f"{p}SEQ")
    structure = f"One record per {label.lower()} test per visit per subject"
    return Domain(code, label, "FINDINGS", structure, keys, cols)


def _supp(parent: str, label: str) -> Domain:
    """The supplemental qualifiers of ``parent`` (SUPPQUAL: one record per qualifier value)."""
    return Domain(
        f"SUPP{parent}",
        f"Supplemental Qualifiers for {parent}",
        "RELATIONSHIP",
        "One record per IDVAR, IDVARVAL, and QNAM value per subject",
        ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        (
            _c("STUDYID", "Study Identifier", origin="Protocol"),
            _c("RDOMAIN", "Related Domain Abbreviation", origin="Assigned"),
            _c("USUBJID", "Unique Subject Identifier"),
            _c("IDVAR", "Identifying Variable", origin="Assigned"),
            _c("IDVARVAL", "Identifying Variable Value", origin="Assigned"),
            _c("QNAM", "Qualifier Variable Name", origin="Assigned", cl=f"QNAM.SUPP{parent}"),
            _c("QLABEL", "Qualifier Variable Label", origin="Assigned"),
            _c("QVAL", "Data Value", origin="CRF"),
            _c("QORIG", "Origin", origin="Assigned"),
            _c("QEVAL", "Evaluator", origin="Assigned"),
        ),
    )


#: The supplemental qualifiers: QNAM -> (parent domain, QLABEL, trialkit item, code list).
SUPP_QUALIFIERS: dict[str, tuple[str, str, str, str]] = {
    "AEINJSIT": ("AE", "At the Injection Site", "ae_at_injection_site", "NY"),
    "AEGRRSN": ("AE", "Reason for Overriding Computed Grade", "ae_grade_reason", ""),
    "AEAWARDT": ("AE", "Date/Time Site Became Aware (Serious)", "ae_aware_at", ""),
    "LESROLE": ("QS", "Lesion Role", "lesion_role", "LESION_ROLE"),
    "LESSITE": ("QS", "Lesion Body Site", "lesion_site", ""),
}


DOMAINS: dict[str, Domain] = {
    d.code: d
    for d in (
        _subject(
            "DM",
            "Demographics",
            "SPECIAL PURPOSE",
            "One record per subject",
            ("STUDYID", "USUBJID"),
            _c("SUBJID", "Subject Identifier for the Study", origin="Assigned"),
            _c("RFSTDTC", "Subject Reference Start Date/Time", method="RFSTDTC", comment="RFSTDTC"),
            _c("RFENDTC", "Subject Reference End Date/Time", method="RFENDTC"),
            _c("RFXSTDTC", "Date/Time of First Study Treatment", method="RFSTDTC"),
            _c("RFXENDTC", "Date/Time of Last Study Treatment", method="RFXENDTC"),
            _c("RFICDTC", "Date/Time of Informed Consent", method="RFICDTC"),
            _c("RFPENDTC", "Date/Time of End of Participation", method="RFPENDTC"),
            _c("SITEID", "Study Site Identifier", origin="Assigned"),
            _c("BRTHDTC", "Date/Time of Birth", origin="CRF"),
            _c("AGE", "Age", "N", origin="CRF"),
            _c("AGEU", "Age Units", origin="Assigned", cl="AGEU"),
            _c("SEX", "Sex", origin="CRF", cl="SEX"),
            _c("ARMCD", "Planned Arm Code", origin="Assigned", cl="ARMCD"),
            _p("ARM", "Description of Planned Arm"),
            _c("ACTARMCD", "Actual Arm Code", method="ACTARM", cl="ACTARMCD"),
            _c("ACTARM", "Description of Actual Arm", method="ACTARM"),
            _p("COUNTRY", "Country"),
        ),
        _subject(
            "DS",
            "Disposition",
            "EVENTS",
            "One record per disposition status or protocol milestone per subject",
            ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"),
            _c("DSSEQ", "Sequence Number", "N"),
            _c("DSTERM", "Reported Term for the Disposition Event", method="DS"),
            _c(
                "DSDECOD",
                "Standardized Disposition Term",
                method="DS",
                cl="DSDECOD",
                comment="ENROLLED",
            ),
            _c("DSCAT", "Category for Disposition Event", method="DS", cl="DSCAT"),
            _EPOCH,
            _c("DSSTDTC", "Start Date/Time of Disposition Event", method="DS", comment="DTC"),
            _c("DSSTDY", "Study Day of Start of Disposition Event", "N"),
        ),
        _subject(
            "EX",
            "Exposure",
            "INTERVENTIONS",
            "One record per constant dosing interval per subject",
            ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
            _c("EXSEQ", "Sequence Number", "N"),
            _p("EXTRT", "Name of Treatment"),
            _c("EXDOSE", "Dose", "N", origin="CRF"),
            _c("EXDOSU", "Dose Units", origin="CRF", comment="UCUM"),
            _p("EXROUTE", "Route of Administration", cl="ROUTE"),
            _c("EXLOT", "Lot Number", origin="CRF"),
            *_span("EX", "Treatment"),
        ),
        _subject(
            "AE",
            "Adverse Events",
            "EVENTS",
            "One record per adverse event per subject",
            ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC", "AESEQ"),
            _c("AESEQ", "Sequence Number", "N"),
            _c("AESPID", "Sponsor-Defined Identifier", origin="Assigned"),
            _c("AETERM", "Reported Term for the Adverse Event", origin="CRF"),
            _c("AEDECOD", "Dictionary-Derived Term", method="AEDECOD", comment="MEDDRA"),
            _c("AEBODSYS", "Body System or Organ Class", origin="Assigned", comment="MEDDRA"),
            _c("AESER", "Serious Event", origin="CRF", cl="NY"),
            _c("AEREL", "Causality", origin="CRF", cl="AEREL", comment="AEREL"),
            _c("AEOUT", "Outcome of Adverse Event", origin="CRF", cl="OUT"),
            _c("AETOXGR", "Standard Toxicity Grade", method="AETOXGR", cl="TOXGR"),
            *_span("AE", "Adverse Event"),
        ),
        _subject(
            "CM",
            "Concomitant Medications",
            "INTERVENTIONS",
            "One record per recorded medication occurrence per subject",
            ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC", "CMSEQ"),
            _c("CMSEQ", "Sequence Number", "N"),
            _c("CMTRT", "Reported Name of Drug, Med, or Therapy", origin="CRF"),
            _c("CMINDC", "Indication", origin="CRF"),
            _c("CMDOSE", "Dose per Administration", "N", origin="CRF"),
            _c("CMDOSU", "Dose Units", origin="CRF", comment="UCUM"),
            _c("CMROUTE", "Route of Administration", origin="CRF"),
            *_span("CM", "Medication"),
        ),
        _finding("VS", "Vital Signs", (_p("VSORRESU", "Original Units", comment="UCUM"),), False),
        _finding(
            "LB",
            "Laboratory Tests",
            (
                _p("LBORRESU", "Original Units", comment="UCUM"),
                _p("LBORNRLO", "Reference Range Lower Limit in Orig Unit"),
                _p("LBORNRHI", "Reference Range Upper Limit in Orig Unit"),
            ),
            True,
        ),
        _finding("QS", "Questionnaires", (), True),
        _subject(
            "SV",
            "Subject Visits",
            "SPECIAL PURPOSE",
            "One record per subject per actual visit",
            ("STUDYID", "USUBJID", "VISITNUM"),
            *_VISIT,
            _p("VISITDY", "Planned Study Day of Visit", "N"),
            _c("SVSTDTC", "Start Date/Time of Visit", origin="CRF"),
            _c("SVENDTC", "End Date/Time of Visit", origin="CRF"),
            _c("SVSTDY", "Study Day of Start of Visit", "N"),
            _c("SVENDY", "Study Day of End of Visit", "N"),
            _c("SVUPDES", "Description of Unplanned Visit", method="SVUPDES"),
        ),
        _supp("AE", "Adverse Events"),
        _supp("QS", "Questionnaires"),
        _design(
            "TE",
            "Trial Elements",
            "One record per planned element",
            ("STUDYID", "ETCD"),
            _p("ETCD", "Element Code", cl="ETCD"),
            _p("ELEMENT", "Description of Element"),
            _p("TESTRL", "Rule for Start of Element"),
            _p("TEENRL", "Rule for End of Element"),
            _p("TEDUR", "Planned Duration of Element"),
        ),
        _design(
            "TA",
            "Trial Arms",
            "One record per planned element per arm",
            ("STUDYID", "ARMCD", "TAETORD"),
            _p("ARMCD", "Planned Arm Code", cl="ARMCD"),
            _p("ARM", "Description of Planned Arm"),
            _p("TAETORD", "Planned Order of Element within Arm", "N"),
            _p("ETCD", "Element Code", cl="ETCD"),
            _p("ELEMENT", "Description of Element"),
            _p("TABRANCH", "Branch"),
            _p("TATRANS", "Transition Rule"),
            _p("EPOCH", "Epoch", cl="EPOCH"),
        ),
        _design(
            "TV",
            "Trial Visits",
            "One record per planned visit per arm",
            ("STUDYID", "VISITNUM"),
            _p("VISITNUM", "Visit Number", "N"),
            _p("VISIT", "Visit Name"),
            _p("VISITDY", "Planned Study Day of Visit", "N"),
            _p("ARMCD", "Planned Arm Code"),
            _p("TVSTRL", "Visit Start Rule"),
            _p("TVENRL", "Visit End Rule"),
        ),
        _design(
            "TI",
            "Trial Inclusion/Exclusion Criteria",
            "One record per I/E criterion",
            ("STUDYID", "IETESTCD"),
            _p("IETESTCD", "Incl/Excl Criterion Short Name"),
            _p("IETEST", "Inclusion/Exclusion Criterion"),
            _p("IECAT", "Inclusion/Exclusion Category", cl="IECAT"),
            _p("TIVERS", "Protocol Criteria Versions"),
        ),
        _design(
            "TS",
            "Trial Summary",
            "One record per trial summary parameter value",
            ("STUDYID", "TSPARMCD", "TSSEQ"),
            _c("TSSEQ", "Sequence Number", "N", origin="Assigned"),
            _c("TSPARMCD", "Trial Summary Parameter Short Name", origin="Assigned", cl="TSPARMCD"),
            _c("TSPARM", "Trial Summary Parameter", origin="Assigned"),
            _p("TSVAL", "Parameter Value", comment="TS"),
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
