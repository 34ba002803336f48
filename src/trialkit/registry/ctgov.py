"""Map a ClinicalTrials.gov API v2 study JSON document to a draft study.

Every field is read by its JSON path; a missing required field or a value of the wrong type
raises :class:`~trialkit.errors.ImportFailed` naming that path
(``protocolSection.designModule.enrollmentInfo.count``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from trialkit.errors import ImportFailed
from trialkit.protocol import DoseRule
from trialkit.registry.criteria_text import split_criteria, unescape
from trialkit.registry.doses import find_doses, find_product, find_route
from trialkit.registry.draft import Draft, DraftCriterion, slug
from trialkit.registry.result import FORMAT_NAMES, ImportResult, SourceFormat

__all__ = ["Origin", "parse_ctgov"]

_ARM_TYPES = {
    "EXPERIMENTAL": "experimental",
    "ACTIVE_COMPARATOR": "active_comparator",
    "PLACEBO_COMPARATOR": "placebo_comparator",
    "SHAM_COMPARATOR": "other",
    "NO_INTERVENTION": "no_intervention",
    "OTHER": "other",
}
_MODELS = {
    "SINGLE_GROUP": "single_group",
    "PARALLEL": "parallel",
    "CROSSOVER": "crossover",
    "FACTORIAL": "factorial",
    "SEQUENTIAL": "sequential",
}
_OBSERVATIONAL_MODELS = {
    "COHORT": "cohort",
    "CASE_CONTROL": "case_control",
    "CASE_ONLY": "case_only",
    "CASE_CROSSOVER": "case_crossover",
    "ECOLOGIC_OR_COMMUNITY": "ecologic_or_community",
    "FAMILY_BASED": "family_based",
    "DEFINED_POPULATION": "defined_population",
    "NATURAL_HISTORY": "natural_history",
    "OTHER": "other",
}
_TIME_PERSPECTIVES = {
    "PROSPECTIVE": "prospective",
    "RETROSPECTIVE": "retrospective",
    "CROSS_SECTIONAL": "cross_sectional",
    "OTHER": "other",
}
_STUDY_TYPES = {"INTERVENTIONAL": "interventional", "OBSERVATIONAL": "observational"}
_ALLOCATION = {
    "RANDOMIZED": "randomised",
    "NON_RANDOMIZED": "non_randomised",
    "NA": "not_applicable",
}
_MASKING = {
    "NONE": "none",
    "SINGLE": "single",
    "DOUBLE": "double",
    "TRIPLE": "triple",
    "QUADRUPLE": "quadruple",
}
_PHASES = {"EARLY_PHASE1": "0", "PHASE1": "1", "PHASE2": "2", "PHASE3": "3", "PHASE4": "4"}
_SHARING = {"YES": "yes", "NO": "no", "UNDECIDED": "undecided"}


@dataclass(frozen=True)
class Origin:
    """Where a ClinicalTrials.gov document came from, for messages: its format, the source
    field of each path a converter filled (classic v1 and legacy XML records are converted to
    the v2 shape first) and the fix to suggest."""

    format: SourceFormat = SourceFormat.CTGOV_V2
    fields: Mapping[str, str] = field(default_factory=dict)
    hint: str = "download the record again from clinicaltrials.gov/api/v2/studies/<NCT id>"
    prefix: str = ""
    """Where the study sits in its file (``studies[2].`` in a search response)."""


class _Json:
    """Typed access to the document, naming the field of anything wrong."""

    def __init__(self, data: object, base: str = "", origin: Origin | None = None) -> None:
        self.data = data
        self.base = base
        self.origin = origin or Origin()

    def _full(self, path: str) -> str:
        return f"{self.base}.{path}" if self.base and path else self.base or path

    def _fail(self, path: str, message: str) -> ImportFailed:
        full = self._full(path)
        return ImportFailed(
            f"{FORMAT_NAMES[self.origin.format]}, field "
            f"{self.origin.prefix}{self.origin.fields.get(full, full)}: "
            f"{message}",
            code="IMPORT.E020",
            hint=self.origin.hint,
        )

    def get(self, path: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict):
                raise self._fail(
                    path, f"expected an object at '{part}', found {type(node).__name__}"
                )
            if part not in node:
                if required:
                    raise self._fail(path, "is missing")
                return None
            node = node[part]
        if node is None:
            if required:
                raise self._fail(path, "is null")
            return None
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            want = {"str": "text", "dict": "an object", "list": "a list", "int": "a whole number"}
            raise self._fail(
                path, f"expected {want.get(names, names)}, found {type(node).__name__} {node!r:.60}"
            )
        return node

    def text(self, path: str, *, required: bool = False) -> str | None:
        value: str | None = self.get(path, str, required=required)
        return value.strip() if value else None

    def items(self, path: str) -> list[_Json]:
        values = self.get(path, list) or []
        out = []
        for n, v in enumerate(values):
            if not isinstance(v, dict):
                raise self._fail(f"{path}[{n}]", f"expected an object, found {type(v).__name__}")
            out.append(_Json(v, self._full(f"{path}[{n}]"), self.origin))
        return out

    def strings(self, path: str) -> list[str]:
        return [v for v in self.get(path, list) or [] if isinstance(v, str)]


def _date(j: _Json, path: str) -> dict[str, Any] | None:
    text = j.text(path)
    if text is None:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}", text):
            # month precision: keep the first of the month and say so in the status text
            return {"gregorian": date.fromisoformat(text + "-01")}
        return {"gregorian": date.fromisoformat(text)}
    except ValueError as exc:
        raise j._fail(path, f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _age(j: _Json, path: str) -> int | None:
    text = j.text(path)
    if text is None:
        return None
    m = re.fullmatch(r"(\d+)\s+(Years?|Months?|Weeks?|Days?)", text)
    if not m:
        raise j._fail(path, f"{text!r} is not an age such as '18 Years'")
    n, unit = int(m.group(1)), m.group(2).lower()
    return n if unit.startswith("year") else n // 12 if unit.startswith("month") else 0


def _interventions(
    iv: _Json, ref: str, n: int, k: int, label: str, arm_desc: str, alone: bool, draft: Draft
) -> list[dict[str, Any]]:
    """The ``k``-th named intervention of arm ``n``, with its dose if the record states one: two
    interventions when the record gives a loading dose and a maintenance dose."""
    iv_desc = unescape(iv.text("description") or "")
    name = iv.text("name") or ref
    product = find_product(name, iv_desc or name, iv.text("type") or "OTHER")
    # The arm's own text gives the dose only when the arm has this one intervention.
    from_arm, from_iv = (find_doses(arm_desc) if alone else []), find_doses(iv_desc)
    # a bare volume (``in 50 mL``) read from the arm gives way to a real dose of the product
    volume_only = bool(from_arm) and all(d.unit == "mL" for _, d in from_arm)
    doses = from_iv if (volume_only and from_iv) else (from_arm or from_iv)
    if not doses and product.kind != "device":
        draft.unmapped.append(
            f"arm {label!r}: no dose of {name!r} could be read; add it (study check: DOSE.E006 "
            "or DOSE.W007)"
        )
    route = find_route(iv_desc) or find_route(arm_desc)
    if route is None and product.kind != "device":
        draft.unmapped.append(f"arm {label!r}: route of {name!r} not stated")
    out = []
    stated: list[tuple[str | None, DoseRule | None]] = [*doses] or [(None, None)]
    for phase, dose in stated:
        suffix = {"loading dose": "-L", "maintenance dose": "-M"}.get(phase or "", "")
        out.append(
            {
                "id": f"A{n}-IV{k}{suffix}",
                "name": name + (f" ({phase})" if phase else ""),
                "product": product,
                "route": route[0] if route else "other",
                "site": route[1] if route else None,
                "dose": dose,
                "category": (iv.text("type") or "").lower() or None,
            }
        )
    return out


def _arms(p: _Json, draft: Draft, *, observational: bool) -> None:
    """Arms (observational: cohorts) from ``armGroups``, each with its named interventions."""
    interventions = {
        f"{(iv.text('type') or 'OTHER').replace('_', ' ').title()}: {iv.text('name')}": iv
        for iv in p.items("armsInterventionsModule.interventions")
    }
    used: set[str] = set()
    for n, arm in enumerate(p.items("armsInterventionsModule.armGroups"), start=1):
        label = arm.text("label") or f"Arm {n}"
        desc = unescape(arm.text("description") or "")
        refs = arm.strings("interventionNames")
        if arm.get("interventionNames", list) is None and arm.text("type") != "NO_INTERVENTION":
            refs = [
                # the links written the other way round (interventions[].armGroupLabels)
                ref
                for ref, iv in interventions.items()
                if label in iv.strings("armGroupLabels")
            ]
        ivs = []
        for k, ref in enumerate(refs, start=1):
            iv = interventions.get(ref)
            if iv is None:
                draft.unmapped.append(f"arm {label!r}: intervention {ref!r} is not described")
                continue
            used.add(ref)
            ivs.extend(_interventions(iv, ref, n, k, label, desc, len(refs) == 1, draft))
        arm_type = arm.text("type")
        if arm_type is None and not observational:
            draft.unmapped.append(f"arm {label!r}: the record gives no arm type; set as 'other'")
        draft.arms.append(
            {
                "id": f"A{n}",
                "name": label,
                "type": _ARM_TYPES.get(arm_type or "OTHER", "other"),
                "description": desc or None,
                "interventions": ivs,
            }
        )
    for ref, iv in interventions.items():
        if ref not in used:
            desc = unescape(iv.text("description") or "")
            draft.unmapped.append(
                f"intervention {ref!r} belongs to no arm group"
                + (" (an observational study's exposure)" if observational else "")
                + (f": {desc}" if desc else "")
            )


def _model(p: _Json, draft: Draft, *, observational: bool, arms: int) -> tuple[str, str | None]:
    """The intervention (or observational) model and, for observational studies, the time
    perspective."""
    if observational:
        stated = p.text("designModule.designInfo.observationalModel")
        perspective = p.text("designModule.designInfo.timePerspective")
        model = _OBSERVATIONAL_MODELS.get(stated or "")
        if model is None:
            model = "other"
            draft.unmapped.append(
                f"design: observational model {stated or '(none)'!r} is not known; set as 'other'"
            )
        if perspective and perspective not in _TIME_PERSPECTIVES:
            draft.unmapped.append(f"design: time perspective {perspective!r} is not known")
        if p.get("designModule.patientRegistry", bool):
            draft.unmapped.append("designModule.patientRegistry: the study is a patient registry")
        return model, _TIME_PERSPECTIVES.get(perspective or "")
    stated = p.text("designModule.designInfo.interventionModel")
    model = _MODELS.get(stated or "")
    if model is None:
        model = "single_group" if arms <= 1 else "parallel"
        draft.unmapped.append(f"design: intervention model {stated or '(none)'!r} is not known")
        draft.assume("design", f"intervention model taken as {model} from the number of arms")
    return model, None


def parse_ctgov(
    data: object, *, source: str = "<ClinicalTrials.gov record>", origin: Origin | None = None
) -> ImportResult:
    """A draft study from a ClinicalTrials.gov API v2 study document (parsed JSON).

    ``origin`` names the format and source fields of a document converted to the v2 shape (see
    :mod:`trialkit.registry.ctgov_classic`), so that messages name the fields the file has.
    """
    origin = origin or Origin()
    root = _Json(data, "", origin)
    if not isinstance(data, dict):
        raise root._fail("(document)", f"expected an object, found {type(data).__name__}")
    p = _Json(root.get("protocolSection", dict, required=True), "protocolSection", origin)
    nct = p.text("identificationModule.nctId", required=True) or ""
    if not re.fullmatch(r"NCT\d{8}", nct):
        raise p._fail("identificationModule.nctId", f"{nct!r} is not an NCT id")
    study_type = p.text("designModule.studyType") or "INTERVENTIONAL"
    if study_type not in _STUDY_TYPES:
        raise ImportFailed(
            f"{source}: {nct} is a study of type {study_type}; trialkit drafts interventional "
            "and observational studies only, so there is nothing to map its design to",
            code="IMPORT.E032",
            hint="import an interventional or observational record",
        )
    observational = study_type == "OBSERVATIONAL"
    draft = Draft(
        source_format=origin.format,
        study_id=slug(p.text("identificationModule.acronym") or nct),
        identity={},
        design={},
    )
    # -- identity -------------------------------------------------------------------------------
    regs: list[dict[str, Any]] = [
        {
            "registry": "ClinicalTrials.gov",
            "id": nct,
            "registered": _date(p, "statusModule.studyFirstSubmitDate"),
            "last_update": _date(p, "statusModule.lastUpdateSubmitDate"),
        }
    ]
    org_id = p.text("identificationModule.orgStudyIdInfo.id")
    if org_id:
        regs.append({"registry": "sponsor", "id": org_id})
    for n, sec in enumerate(p.items("identificationModule.secondaryIdInfos")):
        sid = sec.text("id")
        if sid:
            regs.append({"registry": sec.text("type") or "secondary", "id": sid})
        else:
            draft.unmapped.append(f"identificationModule.secondaryIdInfos[{n}]: no id")
    phases = [str(v) for v in (p.get("designModule.phases", list) or []) if isinstance(v, str)]
    phase = "-".join(_PHASES[v] for v in phases if v in _PHASES) or "N/A"
    sponsors = []
    lead = p.text("sponsorCollaboratorsModule.leadSponsor.name")
    if lead:
        sponsors.append(
            {
                "name": lead,
                "organisation_type": p.text("sponsorCollaboratorsModule.leadSponsor.class"),
            }
        )
    for c in p.items("sponsorCollaboratorsModule.collaborators"):
        name = c.text("name")
        if name:
            sponsors.append({"name": name, "organisation_type": c.text("class")})
    contacts: list[dict[str, Any]] = []
    for o in p.items("contactsLocationsModule.overallOfficials"):
        contacts.append(
            {
                "role": "scientific",
                "name": o.text("name"),
                "organisation": o.text("affiliation"),
                "position": (o.text("role") or "").replace("_", " ").lower() or None,
            }
        )
    for c in p.items("contactsLocationsModule.centralContacts"):
        contacts.append(
            {
                "role": "central",
                "name": c.text("name"),
                "phone": c.text("phone"),
                "email": c.text("email"),
            }
        )
    centres = []
    unnamed = 0
    for n, loc in enumerate(p.items("contactsLocationsModule.locations")):
        name = loc.text("facility")
        if not name:
            place = ", ".join(x for x in (loc.text("city"), loc.text("state")) if x)
            name = f"Site {n + 1}" + (f" ({place})" if place else "")
            unnamed += 1
        centres.append(
            {
                "name": name,
                "city": loc.text("city"),
                "province": loc.text("state"),
                "postal_code": loc.text("zip"),
                "country": loc.text("country"),
            }
        )
    if unnamed:
        draft.unmapped.append(
            f"locations: {unnamed} give no facility name; named 'Site N (city, state)'"
        )
    ipd = p.text("ipdSharingStatementModule.ipdSharing")
    sharing = (
        {
            "ipd": _SHARING.get(ipd or ""),
            "details": p.text("ipdSharingStatementModule.description"),
            "when_available": p.text("ipdSharingStatementModule.timeFrame"),
            "criteria_for_use": p.text("ipdSharingStatementModule.accessCriteria"),
            "where_obtainable": p.text("ipdSharingStatementModule.url"),
        }
        if p.get("ipdSharingStatementModule", dict)
        else None
    )
    status = p.text("statusModule.overallStatus")
    last_known = p.text("statusModule.lastKnownStatus")
    start_type = p.text("statusModule.startDateStruct.type")
    end_type = p.text("statusModule.primaryCompletionDateStruct.type")
    draft.identity = {
        "registrations": regs,
        "scientific_title": p.text("identificationModule.officialTitle")
        or p.text("identificationModule.briefTitle", required=True),
        "public_title": p.text("identificationModule.briefTitle"),
        "acronym": p.text("identificationModule.acronym"),
        "brief_summary": unescape(p.text("descriptionModule.briefSummary") or "") or None,
        "phase": phase,
        "study_type": _STUDY_TYPES[study_type],
        "purpose": (p.text("designModule.designInfo.primaryPurpose") or "").capitalize() or None,
        "conditions": [
            {"name": c}
            for c in (p.get("conditionsModule.conditions", list) or [])
            if isinstance(c, str)
        ],
        "sponsors": sponsors,
        "centres": centres,
        "contacts": contacts,
        "recruitment": {
            "status": (status or "").lower().replace("_", " ")
            + (f" (last known: {last_known.lower().replace('_', ' ')})" if last_known else ""),
            "actual_start" if start_type == "ACTUAL" else "expected_start": _date(
                p, "statusModule.startDateStruct.date"
            ),
            "actual_end" if end_type == "ACTUAL" else "expected_end": _date(
                p, "statusModule.primaryCompletionDateStruct.date"
            ),
            "completion": _date(p, "statusModule.completionDateStruct.date"),
        },
        "sharing": sharing,
    }
    detailed = p.text("descriptionModule.detailedDescription")
    if detailed:
        draft.unmapped.append(
            "descriptionModule.detailedDescription: not stored (no field for it); read it "
            "when completing the draft"
        )
    # -- arms -----------------------------------------------------------------------------------
    _arms(p, draft, observational=observational)
    # -- design ---------------------------------------------------------------------------------
    count = p.get("designModule.enrollmentInfo.count", int, required=True)
    if count < 1:
        raise p._fail("designModule.enrollmentInfo.count", f"{count} is below 1")
    if p.text("designModule.enrollmentInfo.type") == "ACTUAL":
        draft.assume(
            "sample size", f"the target is the actual enrolment ({count}); no target is given"
        )
    model, perspective = _model(p, draft, observational=observational, arms=len(draft.arms))
    masking = p.text("designModule.designInfo.maskingInfo.masking") or "NONE"
    who = [
        str(w).lower() for w in p.get("designModule.designInfo.maskingInfo.whoMasked", list) or []
    ]
    sex = {"ALL": "all", "FEMALE": "female", "MALE": "male"}.get(
        p.text("eligibilityModule.sex") or "ALL"
    )
    if sex is None:
        raise p._fail("eligibilityModule.sex", "is not ALL, FEMALE or MALE")
    placebo = any(
        "placebo" in (iv.text("name") or "").lower()
        for iv in p.items("armsInterventionsModule.interventions")
    ) or any(a.get("type") == "placebo_comparator" for a in draft.arms)
    draft.design = {
        "allocation": _ALLOCATION.get(
            p.text("designModule.designInfo.allocation") or "NA", "not_applicable"
        ),
        "intervention_model": model,
        "time_perspective": perspective,
        "masking": {
            "level": _MASKING.get(masking, "none"),
            "masked_roles": who,
            "placebo": placebo,
            "description": p.text("designModule.designInfo.maskingInfo.maskingDescription"),
        },
        "sample_size": {"target": count},
        "age": {
            "minimum": _age(p, "eligibilityModule.minimumAge"),
            "maximum": _age(p, "eligibilityModule.maximumAge"),
        },
        "sex": sex,
        "description": p.text("designModule.designInfo.interventionModelDescription"),
    }
    # -- criteria and outcomes ------------------------------------------------------------------
    crit = p.text("eligibilityModule.eligibilityCriteria")
    if crit:
        lists = split_criteria(crit)
        for kind in ("inclusion", "exclusion"):
            draft.criteria.extend(
                DraftCriterion(kind, t, group=lists.groups.get((kind, n)))
                for n, t in enumerate(getattr(lists, kind))
            )
        for t in lists.other:
            draft.unmapped.append(f"eligibility text outside the criteria lists: {t!r}")
    for key, kind, prefix in (
        ("primaryOutcomes", "primary", "P"),
        ("secondaryOutcomes", "secondary", "S"),
        ("otherOutcomes", "other", "O"),
    ):
        for n, o in enumerate(p.items(f"outcomesModule.{key}"), start=1):
            measure = o.text("measure")
            if not measure:
                raise p._fail(f"outcomesModule.{key}[{n - 1}].measure", "is missing")
            description = unescape(o.text("description") or "")
            draft.outcomes.append(
                {
                    "id": f"{prefix}{n}",
                    "kind": kind,
                    "description": measure + (f": {description}" if description else ""),
                    "timepoint": o.text("timeFrame"),
                }
            )
    if root.get("resultsSection", dict):
        draft.unmapped.append("resultsSection: posted results are not imported")
    return draft.build(source)
