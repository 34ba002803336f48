"""The terminology, methods and comments ``define.xml`` gives the ``sdtm`` export's variables.

* :data:`CODELISTS`: every code list a variable refers to. A CDISC controlled-terminology list
  carries its NCI code and its terms' NCI codes (``Alias Context="nci:ExtCodeID"``) for the few
  long-stable lists given here (SEX, NY, AGEU, OUT; to be checked against the CT package the
  sponsor chooses: no CT file ships with trialkit). The other CDISC lists name their CDISC code
  list but leave the NCI codes to that package. A **sponsor-defined** list (from the
  protocol's code lists, or made by this export) says so in its description. The terms
  written are the values in the data (:mod:`trialkit.exports.define` collects them), decoded
  from the list's own decodes, a column of the same record (``decode_column``), or the
  protocol's code list labels.
* :data:`METHODS`: how each derived variable is computed (Define-XML ``MethodDef``).
* :data:`COMMENTS`: where a derivation needs the sponsor's own decision (``def:CommentDef``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CODELISTS", "COMMENTS", "METHODS", "CodeListSpec"]


@dataclass(frozen=True)
class CodeListSpec:
    """One code list: its name, whose it is, and how its terms are decoded.

    ``nci`` is the NCI code of a CDISC code list (empty: not given here); ``cdisc`` the CDISC
    code list's short name (empty: sponsor-defined); ``decodes`` fixed decodes (with the term's
    NCI code where known); ``decode_column`` the variable of the same record that decodes a
    term (``VSTEST`` for ``VSTESTCD``); ``protocol`` the protocol code list whose labels decode
    its codes."""

    name: str
    cdisc: str = ""
    nci: str = ""
    decodes: dict[str, tuple[str, str]] = field(default_factory=dict)
    decode_column: str = ""
    protocol: str = ""
    note: str = ""

    @property
    def sponsor_defined(self) -> bool:
        return not self.cdisc


# The NCI codes of SEX, NY, AGEU and OUT were checked (session 6, issue #16) against public
# copies of CDISC SDTM controlled terminology found with the project's search tool; all agreed
# with what stood here, and the terms the CT package has beside them were added (SEX
# UNDIFFERENTIATED; NY U and NA):
# * SEX C66731: F C16576, M C20197, U C17998, UNDIFFERENTIATED C45908 (an MDR's test of the
#   CDISC CT V47 package, CL-C66731 children C16576 C17998 C20197 C45908; an sdtm.oak CT spec);
# * NY C66742: N C49487, Y C49488, U C17998, NA C48660 (the CT-package fixtures of a Java
#   CDISC CORE engine, sdtmct-2024-09-27: NY N C49487 No, Y C49488 Yes, U C17998 Unknown, NA
#   C48660 Not Applicable; an R define spec's CL.NY rows Y C49488, N C49487);
# * AGEU C66781: YEARS C29848 (the same fixtures; an AGEU codelist dump DAYS C25301, WEEKS
#   C29844, MONTHS C29846, YEARS C29848);
# * OUT C66768: FATAL C48275, NOT RECOVERED/NOT RESOLVED C49494, RECOVERED/RESOLVED WITH
#   SEQUELAE C49495, RECOVERING/RESOLVING C49496, RECOVERED/RESOLVED C49498 (HL7's value set
#   AdverseEventClinicalResearchOutcomes, drawn from CDISC CL.C66768.OUT, in yy-dto/IDCore),
#   UNKNOWN C17998 (NCI's Unknown, as in SEX and NY).
# Some public copies swap N and Y or shift the OUT codes by one; those were outvoted by the
# sources above. The sponsor's chosen CT package remains the authority.
CODELISTS: dict[str, CodeListSpec] = {
    "SEX": CodeListSpec(
        "Sex",
        "SEX",
        "C66731",
        {
            "F": ("Female", "C16576"),
            "M": ("Male", "C20197"),
            "U": ("Unknown", "C17998"),
            "UNDIFFERENTIATED": ("Undifferentiated", "C45908"),
        },
    ),
    "NY": CodeListSpec(
        "No Yes Response",
        "NY",
        "C66742",
        {
            "N": ("No", "C49487"),
            "Y": ("Yes", "C49488"),
            "U": ("Unknown", "C17998"),
            "NA": ("Not Applicable", "C48660"),
        },
    ),
    "AGEU": CodeListSpec("Age Unit", "AGEU", "C66781", {"YEARS": ("Years", "C29848")}),
    "OUT": CodeListSpec(
        "Outcome of Event",
        "OUT",
        "C66768",
        {
            "FATAL": ("Fatal", "C48275"),
            "NOT RECOVERED/NOT RESOLVED": ("Not Recovered or Not Resolved", "C49494"),
            "RECOVERED/RESOLVED": ("Recovered or Resolved", "C49498"),
            "RECOVERED/RESOLVED WITH SEQUELAE": ("Recovered with Sequelae", "C49495"),
            "RECOVERING/RESOLVING": ("Recovering or Resolving", "C49496"),
            "UNKNOWN": ("Unknown", "C17998"),
        },
    ),
    "ND": CodeListSpec("Not Done", "ND"),
    "NRIND": CodeListSpec("Reference Range Indicator", "NRIND"),
    "ROUTE": CodeListSpec("Route of Administration", "ROUTE"),
    "TOXGR": CodeListSpec("Toxicity Grade (CTCAE)", "TOXGR"),
    "DSCAT": CodeListSpec("Category for Disposition Event", "DSCAT"),
    "EPOCH": CodeListSpec("Epoch", "EPOCH"),
    "IECAT": CodeListSpec("Inclusion/Exclusion Category", "IECAT"),
    "TSPARMCD": CodeListSpec(
        "Trial Summary Parameter Test Code", "TSPARMCD", decode_column="TSPARM"
    ),
    "VSTESTCD": CodeListSpec(
        "Vital Signs Test Code",
        "VSTESTCD",
        decode_column="VSTEST",
        note="codes not in the export's table of CDISC test codes are made from the item name "
        "and marked ExtendedValue",
    ),
    "LBTESTCD": CodeListSpec(
        "Laboratory Test Code",
        "LBTESTCD",
        decode_column="LBTEST",
        note="codes not in the export's table of CDISC test codes are made from the item name "
        "or the test's name and marked ExtendedValue",
    ),
    "DSDECOD": CodeListSpec(
        "Standardized Disposition Term",
        note="CDISC NCOMPLT and protocol-milestone terms, and ENROLLED, which CDISC CT has not",
    ),
    "QSTESTCD": CodeListSpec(
        "Questionnaire Test Code", decode_column="QSTEST", note="made from instrument and item"
    ),
    "QSCAT": CodeListSpec("Questionnaire Category", note="the instruments' names"),
    "LBCAT": CodeListSpec("Laboratory Category", note="the protocol's item group names"),
    "ARMCD": CodeListSpec("Arm Code", decode_column="ARM", note="the protocol's arms"),
    "ACTARMCD": CodeListSpec("Actual Arm Code", decode_column="ACTARM", note="the protocol's arms"),
    "ETCD": CodeListSpec("Element Code", decode_column="ELEMENT", note="the trial's elements"),
    "AEREL": CodeListSpec(
        "Causality", protocol="AE_RELATION", note="trialkit's five-point relation scale"
    ),
    "QNAM.SUPPAE": CodeListSpec(
        "Supplemental Qualifier Name (AE)", decode_column="QLABEL", note="made by this export"
    ),
    "QNAM.SUPPQS": CodeListSpec(
        "Supplemental Qualifier Name (QS)", decode_column="QLABEL", note="made by this export"
    ),
    "LESION_ROLE": CodeListSpec("Lesion Role", protocol="LESION_ROLE"),
}

#: method key -> (name, description): how a derived variable is computed.
METHODS: dict[str, tuple[str, str]] = {
    "USUBJID": ("Unique subject id", "STUDYID, a hyphen and the participant's code (SUBJID)."),
    "SEQ": (
        "Sequence number",
        "Numbered 1, 2, ... per subject in the order of the domain's key variables.",
    ),
    "STUDYDAY": (
        "Study day",
        "The date part of --DTC minus the date part of DM.RFSTDTC (the first dose), plus 1 "
        "when on or after RFSTDTC; the day before RFSTDTC is -1 (there is no day 0). Empty "
        "when either date is missing.",
    ),
    "VISITNUM": (
        "Visit number",
        "A scheduled visit's place in the protocol's timeline (1, 2, ...); an unscheduled visit "
        "is the number of the last scheduled visit recorded on or before its date plus 0.01 for "
        "each unscheduled visit of the subject up to it.",
    ),
    "EPOCH": (
        "Epoch",
        "From the record's date against the subject's elements (TA): before DM.RFSTDTC's day "
        "SCREENING; from it to the end of the last planned dosing day TREATMENT; after it "
        "FOLLOW-UP (TREATMENT where the trial has no follow-up element). Empty when either date "
        "is missing.",
    ),
    "RFSTDTC": ("Reference start", "The date and time of the subject's first dose (EX)."),
    "RFXENDTC": ("Last treatment", "The date and time of the subject's last dose (EX)."),
    "RFENDTC": (
        "Reference end",
        "The date of the last disposition event (completed, withdrawn, lost to follow-up); "
        "without one, RFPENDTC.",
    ),
    "RFICDTC": (
        "Informed consent",
        "The consent form's date item (the protocol's consent.date); without one, the day the "
        "consent step was recorded.",
    ),
    "RFPENDTC": (
        "End of participation",
        "The latest of the subject's recorded visit dates, doses and disposition events.",
    ),
    "ACTARM": (
        "Actual arm",
        "The planned arm when at least one dose was given, else NOTTRT / Not Treated.",
    ),
    "DS": (
        "Disposition",
        "From the participant's lifecycle steps: consent INFORMED CONSENT OBTAINED and enrol "
        "ENROLLED (PROTOCOL MILESTONE); complete COMPLETED, withdraw WITHDRAWAL BY SUBJECT, lose "
        "LOST TO FOLLOW-UP (DISPOSITION EVENT). DSTERM is the reason given for a disposition "
        "event, else DSDECOD. DSSTDTC is when the step was recorded; the consent's is RFICDTC.",
    ),
    "AEDECOD": (
        "CTCAE term",
        "The label of the row's CTCAE term (ae_ctcae_term) when one was chosen; else empty.",
    ),
    "AETOXGR": (
        "Effective CTCAE grade",
        "The grade computed by trialkit.instruments from the visit's laboratory or vital-sign "
        "values (CTCAE v5.0), or the investigator's override of it; without a computed grade, "
        "the grade entered (ae_grade).",
    ),
    "TESTCD": (
        "Test code",
        "The CDISC test code of the item (the export's table), else a code of at most 8 "
        "characters made from the item name (QS: instrument and item; LB rows of a test name "
        "and a value: the test name). --TEST is the table's name or the item's label.",
    ),
    "CAT": (
        "Category",
        "LBCAT the item group's name, upper case; QSCAT the instrument's name, upper case.",
    ),
    "STRESC": ("Standard character result", "--ORRES, unchanged (no unit conversion)."),
    "STRESN": (
        "Standard numeric result",
        "--ORRES as a number (a binary double); empty when --ORRES is not a number.",
    ),
    "STRESU": ("Standard unit", "--ORRESU, unchanged (UCUM; no unit conversion)."),
    "STAT": (
        "Not done",
        "NOT DONE when the value was saved empty with a missing-data reason or the form was "
        "marked not required; --REASND then holds the reason.",
    ),
    "FINDINGDTC": ("Finding date", "The recorded date of the visit the form belongs to."),
    "NRIND": (
        "Reference range indicator",
        "LOW, HIGH or NORMAL: --ORRES against the protocol's reference range for the item (for "
        "the subject's sex where given, in the item's unit), compared exactly as decimals.",
    ),
    "DRVFL": ("Derived flag", "Y for a score computed by trialkit.instruments."),
    "GRPID": ("Group id", "Form, visit and form instance: the scores of one questionnaire."),
    "SPID": ("Sponsor id", "Form and instance (instance.row for a row of a repeating group)."),
    "SVUPDES": ("Unplanned visit", "'Unscheduled visit' for a visit not in the timeline."),
    "QVAL": ("Qualifier value", "The collected value, as in the parent record's source item."),
}

#: comment key -> text: a derivation whose choice is the sponsor's.
COMMENTS: dict[str, str] = {
    "MEDDRA": "Not coded: MedDRA coding (AEDECOD, AEBODSYS and the other MedDRA variables) is "
    "the sponsor's, with its MedDRA version. AEDECOD holds only the CTCAE term of graded "
    "laboratory and vital-sign events.",
    "UCUM": "Units are UCUM codes (mm[Hg], Cel, 10*9/L), not CDISC UNIT terms (mmHg, C): map "
    "them to the sponsor's CT package.",
    "RFSTDTC": "The reference start is the first dose; the sponsor may choose another.",
    "ENROLLED": "ENROLLED is not a CDISC protocol-milestone term (CDISC has RANDOMIZED): map it "
    "as the sponsor's SAP says.",
    "AEREL": "trialkit's five-point relation scale as words; the sponsor's SAP decides a binary "
    "relatedness if it needs one.",
    "CT": "CDISC terms where trialkit's codes map unambiguously; the CT package and version "
    "are the sponsor's to choose, and the values to check against it.",
    "DTC": "Site-local date and time without a time zone.",
    "TS": "Only the parameters the protocol states; TSVALCD/TSVCDREF are not filled.",
}
