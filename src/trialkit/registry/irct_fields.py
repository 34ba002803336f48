"""Read an IRCT record page export into labelled fields, each with its line number.

The export lays a record out as labels and values on separate lines, sometimes with blank lines
between, sometimes not, with ``**bold**`` markers, ``empty`` for missing values, inline fields
(``Target sample size: **12**``) and numbered repeats (``1``, ``2``) inside sections such as the
ethics committees or the sponsors. This module only recognises that layout; mapping the fields to
a study is :mod:`trialkit.registry.irct`.

A line is a label when it is exactly one of the labels the export uses (:data:`LABELS`); every
other line belongs to the value of the label before it. A line holding only a number starts a new
repeat when it is the next number expected and the repeat's first label follows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trialkit.errors import ImportFailed

__all__ = ["LABELS", "SECTIONS", "Field", "IrctRecord", "read_irct"]

#: Section headings, in the order the export gives them, with the label that opens a repeat.
SECTIONS: dict[str, str | None] = {
    "Protocol summary": None,
    "General information": None,
    "Registrant information": None,
    "Inclusion/Exclusion criteria": None,
    "Ethics committees": "Ethics committee",
    "Health conditions studied": "Description of health condition studied",
    "Primary outcomes": "Description",
    "Secondary outcomes": "Description",
    "Intervention groups": "Description",
    "Recruitment centers": "Recruitment center",
    "Sponsors / Funding sources": "Sponsor",
    "Person responsible for general inquiries": None,
    "Person responsible for scientific inquiries": None,
    "Person responsible for updating data": None,
    "Sharing plan": None,
}

_SUMMARY_LABELS = (
    "Study aim",
    "Design",
    "Settings and conduct",
    "Participants/Inclusion and exclusion criteria",
    "Intervention groups",
    "Main outcome variables",
)

#: Every field label the export uses (section headings are in :data:`SECTIONS`).
LABELS: frozenset[str] = frozenset(
    (
        *_SUMMARY_LABELS,
        "Reason for update",
        "Acronym",
        "IRCT registration information",
        "Registration date",
        "Name",
        "Name of organization / entity",
        "Country",
        "Phone",
        "Email address",
        "Recruitment status",
        "Funding source",
        "Expected recruitment start date",
        "Expected recruitment end date",
        "Actual recruitment start date",
        "Actual recruitment end date",
        "Trial completion date",
        "Scientific title",
        "Public title",
        "Purpose",
        "Inclusion criteria:",
        "Exclusion criteria:",
        "Age",
        "Gender",
        "Phase",
        "Groups that have been masked",
        "Sample size",
        "Randomization (investigator's opinion)",
        "Randomization description",
        "Blinding (investigator's opinion)",
        "Blinding description",
        "Placebo",
        "Assignment",
        "Other design features",
        "Secondary Ids",
        "Ethics committee",
        "Name of ethics committee",
        "Street address",
        "City",
        "Province",
        "Postal code",
        "Approval date",
        "Ethics committee reference number",
        "Description of health condition studied",
        "ICD-10 code",
        "ICD-10 code description",
        "Description",
        "Timepoint",
        "Method of measurement",
        "Category",
        "Recruitment center",
        "Name of recruitment center",
        "Full name of responsible person",
        "Fax",
        "Email",
        "Web page address",
        "Sponsor",
        "Grant name",
        "Grant code / Reference number",
        "Is the source of funding the same sponsor organization/entity?",
        "Title of funding source",
        "Proportion provided by this source",
        "Public or private sector",
        "Domestic or foreign origin",
        "Category of foreign source of funding",
        "Country of origin",
        "Type of organization providing the funding",
        "Contact",
        "Position",
        "Latest degree",
        "Other areas of specialty/work",
        "Deidentified Individual Participant Data Set (IPD)",
        "Justification/reason for indecision/not sharing IPD",
        "Study Protocol",
        "Statistical Analysis Plan",
        "Informed Consent Form",
        "Clinical Study Report",
        "Analytic Code",
        "Data Dictionary",
        "Title and more details about the data/document",
        "When the data will become available and for how long",
        "To whom data/document is available",
        "Under which criteria data/document could be used",
        "From where data/document is obtainable",
        "What processes are involved for a request to access data/document",
        "Comments",
    )
)

#: Labels written inline as ``Label: **value**``.
_INLINE = re.compile(r"^(?P<label>[A-Za-z][A-Za-z0-9 /()'-]*?):\s*\*\*(?P<value>.*?)\*\*\s*$")
#: Two labels glued on one line, the second in bold (``Fax**Email**``).
_GLUED = re.compile(r"^(?P<a>[^*]+?)\*\*(?P<b>[^*]+?)\*\*\s*$")
_NUMBER = re.compile(r"^\d{1,3}$")


@dataclass
class Field:
    """One label and the lines of its value (blank lines left out), in a section and repeat."""

    label: str
    line: int
    section: str
    index: int | None
    lines: list[tuple[int, str]] = field(default_factory=list)

    @property
    def value_line(self) -> int:
        """The line the value starts on (the label's line when the value is absent)."""
        return self.lines[0][0] if self.lines else self.line

    @property
    def text(self) -> str | None:
        """The value as one line of text (``None`` when absent or ``empty``)."""
        joined = " ".join(t for _, t in self.lines).strip()
        return None if joined in {"", "empty"} else joined


@dataclass
class IrctRecord:
    """The fields of an IRCT record page export, in order."""

    header: list[tuple[int, str]]
    fields: list[Field]
    orphans: list[tuple[int, str]]
    last_line: int

    def get(self, label: str, section: str | None = None, index: int | None = None) -> Field | None:
        """The first field with ``label`` (in ``section`` and repeat ``index`` if given)."""
        for f in self.fields:
            if f.label != label:
                continue
            if section is not None and f.section != section:
                continue
            if index is not None and f.index != index:
                continue
            return f
        return None

    def text(self, label: str, section: str | None = None, index: int | None = None) -> str | None:
        f = self.get(label, section, index)
        return f.text if f else None

    def indices(self, section: str) -> list[int]:
        """The repeat numbers present in ``section``."""
        seen: list[int] = []
        for f in self.fields:
            if f.section == section and f.index is not None and f.index not in seen:
                seen.append(f.index)
        return seen

    def has_section(self, section: str) -> bool:
        return any(f.section == section for f in self.fields)


def _clean(line: str) -> str:
    return line.replace("\u200c", " ").strip()


def _split_glued(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for n, text in lines:
        m = _GLUED.match(text)
        if m and m.group("a").strip() in LABELS and m.group("b").strip() in LABELS:
            out.append((n, m.group("a").strip()))
            out.append((n, m.group("b").strip()))
        else:
            out.append((n, text))
    return out


def _unbold(text: str) -> str:
    return text.replace("**", "").strip()


def read_irct(text: str) -> IrctRecord:
    """Split an IRCT record page export into its fields; raise if it has none of its layout."""
    raw = [(n, _clean(t)) for n, t in enumerate(text.splitlines(), start=1)]
    lines = _split_glued([(n, t) for n, t in raw if t])
    if not lines:
        raise ImportFailed("the IRCT record is empty", code="IMPORT.E010")
    header: list[tuple[int, str]] = []
    fields: list[Field] = []
    orphans: list[tuple[int, str]] = []
    section: str | None = None
    index: int | None = None
    current: Field | None = None
    in_summary = False
    for pos, (n, text_line) in enumerate(lines):
        bare = _unbold(text_line)
        nxt = _unbold(lines[pos + 1][1]) if pos + 1 < len(lines) else None
        if bare in SECTIONS and not (in_summary and bare in _SUMMARY_LABELS):
            section, index, current = bare, None, None
            in_summary = bare == "Protocol summary"
            fields.append(Field(bare, n, bare, None))
            continue
        if section is None:
            header.append((n, bare))
            continue
        repeat_head = SECTIONS.get(section)
        if (
            repeat_head is not None
            and _NUMBER.match(bare)
            and int(bare) == (index or 0) + 1
            and nxt == repeat_head
        ):
            index, current = int(bare), None
            continue
        inline = _INLINE.match(text_line)
        if inline and inline.group("label").strip() in LABELS | {
            "IRCT registration number",
            "Registration timing",
            "Last update",
            "Update count",
            "Target sample size",
        }:
            f = Field(inline.group("label").strip(), n, section, index)
            f.lines.append((n, inline.group("value").strip()))
            fields.append(f)
            current = None
            continue
        if bare in LABELS:
            current = Field(bare, n, section, index)
            fields.append(current)
            continue
        if current is None:
            orphans.append((n, bare))
            continue
        current.lines.append((n, bare))
    if not fields:
        raise ImportFailed(
            f"line {lines[0][0]}: no IRCT section heading found (such as 'Protocol summary'); "
            "this is not an IRCT record page export",
            code="IMPORT.E011",
            hint="export the record from irct.behdasht.gov.ir as text, unchanged",
        )
    return IrctRecord(header, fields, orphans, raw[-1][0] if raw else 0)
