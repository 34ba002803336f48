"""Map an IRCT record page export to a draft study.

The fields come from :func:`trialkit.registry.irct_fields.read_irct`; every value that does not
parse raises :class:`~trialkit.errors.ImportFailed` naming its line. Where the record states a
criterion twice (the protocol summary and the detailed section) the detailed text is the
criterion and the summary passage that matches it is kept in ``also_stated``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from trialkit.errors import ImportFailed
from trialkit.protocol import DoseRule, Passage
from trialkit.registry.criteria_text import match_passages, split_run_on, split_summary
from trialkit.registry.doses import find_doses, find_infusion_duration, find_product, find_route
from trialkit.registry.draft import Draft, DraftCriterion, slug
from trialkit.registry.irct_fields import Field, IrctRecord, read_irct
from trialkit.registry.result import ImportResult, SourceFormat
from trialkit.registry.schedule_text import find_administrations, find_follow_up

__all__ = ["parse_irct"]

_DATE = re.compile(r"^(?P<g>\d{4}-\d{2}-\d{2})(?:\s*,\s*(?P<sh>\d{4}/\d{2}/\d{2}))?$")

#: Sections a complete export has; a truncated file misses the last of them.
_REQUIRED = (
    "Protocol summary",
    "General information",
    "Inclusion/Exclusion criteria",
    "Ethics committees",
    "Health conditions studied",
    "Primary outcomes",
    "Intervention groups",
    "Sponsors / Funding sources",
)


def _fail(line: int | None, message: str, hint: str | None = None) -> ImportFailed:
    where = f"line {line}: " if line is not None else ""
    return ImportFailed(where + message, code="IMPORT.E012", hint=hint)


class _Reader:
    def __init__(self, rec: IrctRecord) -> None:
        self.rec = rec
        self.unmapped: list[str] = []

    def text(self, label: str, section: str | None = None, index: int | None = None) -> str | None:
        return self.rec.text(label, section, index)

    def field(self, label: str, section: str | None = None, index: int | None = None) -> Field:
        f = self.rec.get(label, section, index)
        if f is None:
            where = f" in section '{section}'" + (f" item {index}" if index else "")
            raise _fail(
                self.rec.last_line,
                f"the IRCT record has no '{label}' field{where if section else ''}; "
                "the export looks truncated or edited",
                "export the record again from the registry, unchanged",
            )
        return f

    def date(self, label: str, section: str | None = None, index: int | None = None) -> Any:
        f = self.rec.get(label, section, index)
        if f is None or f.text is None:
            return None
        m = _DATE.match(f.text)
        if not m:
            raise _fail(
                f.value_line,
                f"'{label}' is {f.text!r}, not a date; IRCT writes 'YYYY-MM-DD, YYYY/MM/DD' "
                "(Gregorian, then Solar Hijri)",
            )
        try:
            greg = date.fromisoformat(m.group("g"))
        except ValueError as exc:
            raise _fail(f.value_line, f"'{label}' {m.group('g')!r} is not a calendar date") from exc
        return {"gregorian": greg, "solar_hijri": m.group("sh")}


def _status(text: str | None) -> str | None:
    if text is None:
        return None
    head = text.split(" - ")[0].strip().lower()
    return {
        "yes": "yes",
        "no": "no",
        "undecided": "undecided",
        "not applicable": "not_applicable",
    }.get(head)


def _identity(r: _Reader, reg_id: str) -> dict[str, Any]:
    rec = r.rec
    update_count = r.text("Update count")
    registration: dict[str, Any] = {
        "registry": "IRCT",
        "id": reg_id,
        "registered": r.date("Registration date"),
        "last_update": r.date("Last update"),
        "timing": r.text("Registration timing"),
        "update_count": int(update_count) if update_count and update_count.isdigit() else None,
    }
    title = r.field("Scientific title")
    if title.text is None:
        raise _fail(title.line, "the record has no scientific title")
    conditions = []
    for i in rec.indices("Health conditions studied"):
        sec = "Health conditions studied"
        icd = r.text("ICD-10 code", sec, i)
        if icd is not None and not re.fullmatch(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?", icd):
            f = rec.get("ICD-10 code", sec, i)
            r.unmapped.append(
                f"line {f.line if f else '?'}: ICD-10 code {icd!r} is not a valid code; left out"
            )
            icd = None
        name = r.text("Description of health condition studied", sec, i)
        if name:
            conditions.append(
                {
                    "name": name,
                    "icd10": icd,
                    "icd10_description": r.text("ICD-10 code description", sec, i),
                }
            )
    sponsors = []
    sec = "Sponsors / Funding sources"
    for i in rec.indices(sec):
        share_text = r.text("Proportion provided by this source", sec, i)
        try:
            share = Decimal(share_text) if share_text else None
        except InvalidOperation:
            f = rec.get("Proportion provided by this source", sec, i)
            raise _fail(
                f.value_line if f else None,
                f"sponsor {i}: proportion {share_text!r} is not a number; give a percentage",
            ) from None
        same = r.text("Is the source of funding the same sponsor organization/entity?", sec, i)
        for label in (
            "Grant name",
            "Grant code / Reference number",
            "Category of foreign source of funding",
            "Country of origin",
        ):
            value = r.text(label, sec, i)
            if value:
                r.unmapped.append(f"sponsor {i}: {label}: {value}")
        sponsors.append(
            {
                "name": r.text("Name of organization / entity", sec, i) or f"Sponsor {i}",
                "responsible_person": r.text("Full name of responsible person", sec, i),
                "address": r.text("Street address", sec, i),
                "city": r.text("City", sec, i),
                "province": r.text("Province", sec, i),
                "postal_code": r.text("Postal code", sec, i),
                "phone": r.text("Phone", sec, i),
                "fax": r.text("Fax", sec, i),
                "email": r.text("Email", sec, i),
                "web": (r.text("Web page address", sec, i) or "").strip("<>") or None,
                "funding_source": r.text("Title of funding source", sec, i),
                "same_as_sponsor": {"yes": True, "no": False}.get((same or "").lower()),
                "funding_share_percent": share,
                "sector": (r.text("Public or private sector", sec, i) or "").lower() or None,
                "origin": (r.text("Domestic or foreign origin", sec, i) or "").lower() or None,
                "organisation_type": r.text("Type of organization providing the funding", sec, i),
            }
        )
    centres = []
    sec = "Recruitment centers"
    for i in rec.indices(sec):
        name = r.text("Name of recruitment center", sec, i)
        if name:
            centres.append(
                {
                    "name": name,
                    "responsible_person": r.text("Full name of responsible person", sec, i),
                    "address": r.text("Street address", sec, i),
                    "city": r.text("City", sec, i),
                    "province": r.text("Province", sec, i),
                    "postal_code": r.text("Postal code", sec, i),
                    "phone": r.text("Phone", sec, i),
                    "fax": r.text("Fax", sec, i),
                    "email": r.text("Email", sec, i),
                    "web": (r.text("Web page address", sec, i) or "").strip("<>") or None,
                }
            )
    ethics = []
    sec = "Ethics committees"
    for i in rec.indices(sec):
        committee = r.text("Name of ethics committee", sec, i)
        if committee:
            ethics.append(
                {
                    "committee": committee,
                    "reference": r.text("Ethics committee reference number", sec, i),
                    "approved": r.date("Approval date", sec, i),
                    "address": r.text("Street address", sec, i),
                    "city": r.text("City", sec, i),
                    "province": r.text("Province", sec, i),
                    "postal_code": r.text("Postal code", sec, i),
                }
            )
    contacts: list[dict[str, Any]] = []
    reg_sec = "Registrant information"
    if rec.has_section(reg_sec):
        contacts.append(
            {
                "role": "registrant",
                "name": r.text("Name", reg_sec),
                "organisation": r.text("Name of organization / entity", reg_sec),
                "country": r.text("Country", reg_sec),
                "phone": r.text("Phone", reg_sec),
                "email": r.text("Email address", reg_sec),
            }
        )
    for sec, role in (
        ("Person responsible for general inquiries", "general"),
        ("Person responsible for scientific inquiries", "scientific"),
        ("Person responsible for updating data", "updating"),
    ):
        if rec.has_section(sec):
            contacts.append(
                {
                    "role": role,
                    "name": r.text("Full name of responsible person", sec),
                    "organisation": r.text("Name of organization / entity", sec),
                    "position": r.text("Position", sec),
                    "degree": r.text("Latest degree", sec),
                    "specialty": r.text("Other areas of specialty/work", sec),
                    "address": r.text("Street address", sec),
                    "city": r.text("City", sec),
                    "province": r.text("Province", sec),
                    "postal_code": r.text("Postal code", sec),
                    "phone": r.text("Phone", sec),
                    "fax": r.text("Fax", sec),
                    "email": r.text("Email", sec),
                }
            )
    sec = "Sharing plan"
    sharing: dict[str, Any] | None = None
    if rec.has_section(sec):
        sharing = {
            "ipd": _status(r.text("Deidentified Individual Participant Data Set (IPD)", sec)),
            "justification": r.text("Justification/reason for indecision/not sharing IPD", sec),
            "study_protocol": _status(r.text("Study Protocol", sec)),
            "statistical_analysis_plan": _status(r.text("Statistical Analysis Plan", sec)),
            "informed_consent_form": _status(r.text("Informed Consent Form", sec)),
            "clinical_study_report": _status(r.text("Clinical Study Report", sec)),
            "analytic_code": _status(r.text("Analytic Code", sec)),
            "data_dictionary": _status(r.text("Data Dictionary", sec)),
            "details": r.text("Title and more details about the data/document", sec),
            "when_available": r.text("When the data will become available and for how long", sec),
            "to_whom": r.text("To whom data/document is available", sec),
            "criteria_for_use": r.text("Under which criteria data/document could be used", sec),
            "where_obtainable": r.text("From where data/document is obtainable", sec),
            "process": r.text(
                "What processes are involved for a request to access data/document", sec
            ),
        }
    phase = r.field("Phase")
    if phase.text is None:
        raise _fail(phase.line, "the record states no phase")
    return {
        "registrations": [registration],
        "scientific_title": title.text,
        "public_title": r.text("Public title"),
        "acronym": r.text("Acronym"),
        "brief_summary": r.text("Settings and conduct", "Protocol summary"),
        "aim": r.text("Study aim", "Protocol summary"),
        "phase": phase.text,
        "purpose": r.text("Purpose"),
        "conditions": conditions,
        "sponsors": sponsors,
        "centres": centres,
        "ethics": ethics,
        "contacts": contacts,
        "recruitment": {
            "status": r.text("Recruitment status"),
            "expected_start": r.date("Expected recruitment start date"),
            "expected_end": r.date("Expected recruitment end date"),
            "actual_start": r.date("Actual recruitment start date"),
            "actual_end": r.date("Actual recruitment end date"),
            "completion": r.date("Trial completion date"),
        },
        "sharing": sharing,
    }


_AGE = re.compile(
    r"^(?:From\s+(?P<lo>\d+)\s+years?\s+old)?\s*(?:to\s+(?P<hi>\d+)\s+years?\s+old)?$", re.I
)


def _design(r: _Reader, draft: Draft) -> dict[str, Any]:
    target = r.field("Target sample size")
    if target.text is None or not target.text.isdigit() or int(target.text) < 1:
        raise _fail(
            target.value_line, f"target sample size {target.text!r} is not a whole number ≥ 1"
        )
    summary = r.text("Design", "Protocol summary") or ""
    attrition = re.search(r"considering attrition\s*:?\s*(\d+)", summary, re.I)
    age_f = r.field("Age")
    age: dict[str, int | None] = {}
    if age_f.text and not re.fullmatch(r"no age limit", age_f.text, re.I):
        m = _AGE.match(age_f.text)
        if not m or not (m.group("lo") or m.group("hi")):
            raise _fail(
                age_f.value_line,
                f"age limits {age_f.text!r} are not 'From N years old to M years old'",
            )
        age = {
            "minimum": int(m.group("lo")) if m.group("lo") else None,
            "maximum": int(m.group("hi")) if m.group("hi") else None,
        }
    gender = (r.text("Gender") or "Both").lower()
    sex = {"both": "all", "female": "female", "male": "male"}.get(gender)
    if sex is None:
        raise _fail(r.field("Gender").value_line, f"gender {gender!r} is not Both, Female or Male")
    rand = (r.text("Randomization (investigator's opinion)") or "N/A").lower()
    allocation = (
        "non_randomised"
        if rand.startswith(("not", "non"))
        else "randomised"
        if rand.startswith("random")
        else "not_applicable"
    )
    assignment = (r.text("Assignment") or "").lower()
    model = {
        "single": "single_group",
        "parallel": "parallel",
        "crossover": "crossover",
        "factorial": "factorial",
    }.get(assignment)
    if model is None:
        model = "single_group" if len(draft.arms) <= 1 else "parallel"
        draft.unmapped.append(f"design: assignment {assignment or '(none)'!r} is not a known model")
        draft.assume("design", f"intervention model taken as {model} from the number of arms")
    blinding = (r.text("Blinding (investigator's opinion)") or "").lower()
    level = next(
        (lv for lv in ("quadruple", "triple", "double", "single") if lv in blinding), "none"
    )
    masked = r.text("Groups that have been masked")
    roles = [] if masked in (None, "No information") else [s.strip() for s in masked.split(",")]
    placebo = (r.text("Placebo") or "").lower() == "used"
    descriptions = [
        d for d in (r.text("Randomization description"), r.text("Blinding description")) if d
    ]
    if r.text("Other design features"):
        descriptions.append(r.text("Other design features") or "")
    design: dict[str, Any] = {
        "allocation": allocation,
        "intervention_model": model,
        "masking": {
            "level": level,
            "masked_roles": roles,
            "placebo": placebo,
            "description": " ".join(descriptions) or None,
        },
        "sample_size": {
            "target": int(target.text),
            "with_attrition": int(attrition.group(1)) if attrition else None,
        },
        "age": age,
        "sex": sex,
        "description": summary or None,
    }
    if "control" in (r.text("Settings and conduct", "Protocol summary") or "").lower():
        draft.unmapped.append(
            "design.control: the record describes a control "
            "(see identity.brief_summary); state it in design.control"
        )
    return design


def _arms(r: _Reader, draft: Draft) -> None:
    sec = "Intervention groups"
    for i in r.rec.indices(sec):
        text = r.text("Description", sec, i)
        if not text:
            continue
        head = text.split(":", 1)[0].strip()
        name = head if ":" in text and len(head) <= 60 else f"Group {i}"
        doses = find_doses(text)
        dose = doses[0][1] if doses else None
        stated: list[tuple[str | None, DoseRule | None]] = [*doses] or [(None, None)]
        route = find_route(text)
        if route is None:
            draft.unmapped.append(f"arm {name!r}: route of administration not stated")
        product = find_product(
            " ".join(
                p for p in ((find_product("", text).source or ""), find_product("", text).kind) if p
            ),
            text,
        )
        if dose is None:
            draft.unmapped.append(
                f"arm {name!r}: no dose could be read from: {text}"
                + ("" if product.kind == "device" else "; add it (study check: DOSE.E006)")
            )
        lost = re.search(r"\b10\d{1,2} particles", text)
        if lost:
            draft.unmapped.append(
                f"arm {name!r}: product amount {lost.group(0)!r} looks like a power of ten "
                "whose exponent was lost in the export; state the vial content in "
                "product.vial_content"
            )
        draft.arms.append(
            {
                "id": f"G{i}",
                "name": name,
                "type": "placebo_comparator" if "placebo" in text.lower() else "experimental",
                "description": text,
                # a loading and a maintenance dose are two interventions (G1-IV-L, G1-IV-M)
                "interventions": [
                    {
                        "id": f"G{i}-IV"
                        + {"loading dose": "-L", "maintenance dose": "-M"}.get(phase or "", ""),
                        "name": product.name + (f" ({phase})" if phase else ""),
                        "product": product,
                        "route": route[0] if route else "other",
                        "site": route[1] if route else None,
                        "dose": given,
                        "infusion_duration": find_infusion_duration(text),
                        "category": r.text("Category", sec, i),
                    }
                    for phase, given in stated
                ],
            }
        )
        draft.assume("arms", "IRCT states no arm type; arms without placebo are 'experimental'")
        if not draft.administrations:
            draft.administrations = find_administrations(text)


def _criteria(r: _Reader, draft: Draft) -> None:
    summary = r.text("Participants/Inclusion and exclusion criteria", "Protocol summary") or ""
    s_inc, s_exc = split_summary(summary)
    for label, kind, passage in (
        ("Inclusion criteria:", "inclusion", s_inc),
        ("Exclusion criteria:", "exclusion", s_exc),
    ):
        f = r.rec.get(label, "Inclusion/Exclusion criteria")
        if f is None:
            draft.unmapped.append(f"eligibility: the detailed section has no '{label}' list")
            continue
        lines = [t for _, t in f.lines if t != "empty"]
        items = split_run_on(lines[0]) if len(lines) == 1 else lines
        matched, unmatched = match_passages(passage, items) if passage else ({}, [])
        for n, item in enumerate(items):
            draft.criteria.append(
                DraftCriterion(
                    kind,
                    item,
                    [Passage(where="Protocol summary", text=t) for t in matched.get(n, [])],
                )
            )
        for frag in unmatched:
            draft.unmapped.append(
                f"eligibility: summary {kind} passage {frag!r} matches no detailed criterion"
            )


def _outcomes(r: _Reader, draft: Draft) -> None:
    for sec, kind, prefix in (
        ("Primary outcomes", "primary", "P"),
        ("Secondary outcomes", "secondary", "S"),
    ):
        for i in r.rec.indices(sec):
            desc = r.text("Description", sec, i)
            if not desc:
                continue
            timepoint = r.text("Timepoint", sec, i)
            draft.outcomes.append(
                {
                    "id": f"{prefix}{i}",
                    "kind": kind,
                    "description": desc,
                    "timepoint": timepoint,
                    "method": r.text("Method of measurement", sec, i),
                }
            )
            if timepoint and not draft.follow_up:
                draft.follow_up = find_follow_up(timepoint)


def parse_irct(text: str, *, source: str = "<IRCT record>") -> ImportResult:
    """A draft study from the text of an IRCT record page export."""
    rec = read_irct(text)
    missing = [s for s in _REQUIRED if not rec.has_section(s)]
    if missing:
        raise _fail(
            rec.last_line,
            f"the IRCT record ends without the section '{missing[0]}'"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; the file looks truncated",
            "export the whole record page again",
        )
    r = _Reader(rec)
    reg = r.field("IRCT registration number")
    if reg.text is None or not re.fullmatch(r"IRCT\d+N\d+", reg.text):
        raise _fail(reg.line, f"IRCT registration number {reg.text!r} is not like IRCT…N…")
    draft = Draft(
        source_format=SourceFormat.IRCT_TEXT,
        study_id=slug(r.text("Acronym") or reg.text),
        identity={},
        design={},
    )
    for n, orphan in rec.orphans:
        draft.unmapped.append(f"line {n}: text outside any field: {orphan!r}")
    draft.identity = _identity(r, reg.text)
    draft.unmapped.extend(r.unmapped)
    _arms(r, draft)
    draft.design = _design(r, draft)
    _criteria(r, draft)
    _outcomes(r, draft)
    for label in ("Reason for update", "Funding source", "Secondary Ids", "Comments"):
        value = r.text(label)
        if value:
            draft.unmapped.append(f"{label}: {value}")
    for label in ("Intervention groups", "Main outcome variables"):
        if r.text(label, "Protocol summary"):
            draft.unmapped.append(
                f"protocol summary '{label}': kept only in its detailed form "
                "(arms / outcomes); the summary wording is not stored"
            )
    return draft.build(source)
