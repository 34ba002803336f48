"""``fhir``: a FHIR R4 (4.0/4.3 R4B resources) ``Bundle`` of type ``collection``, ``bundle.json``.

* one ``ResearchStudy`` (the study: title, registry identifiers, phase, conditions, arms);
* per participant a ``Patient`` with no direct identifier (only the study's participant code,
  as an identifier of the system ``urn:trialkit:<study>:participant``, and the recorded sex as
  ``gender``) and a ``ResearchSubject`` (status, the assigned arm where the reader may see it);
* an ``Observation`` for every derived score (category ``survey``) and every numeric item
  with a unit (laboratory values, vital signs, measurements), ``valueQuantity`` in UCUM,
  ``effectiveDateTime`` the visit's date, the item as ``code`` (system
  ``urn:trialkit:<study>:item``, code ``FORM.item``);
* an ``AdverseEvent`` for every adverse-event row (the term as ``event.text``, the onset as
  ``date``, seriousness, ``severity`` from the effective CTCAE grade: 1 mild, 2 moderate, 3 or
  more severe; the grade itself in ``event.coding`` of ``urn:trialkit:ctcae-grade``);
* a ``MedicationAdministration`` for every dose given (``dosage.dose`` in UCUM; a blinded reader
  gets neither the amount nor the product lot, and the product as "study intervention"), on
  the day given: trialkit keeps site-local times without a time zone and a FHIR ``dateTime``
  with a time needs one, so times of day are not exported to FHIR.

Resource ids are stable (UUID 5 of the study, the kind and the participant's record), and
references use the entries' ``urn:uuid:`` full URLs. Written as a stream: memory holds one
form instance. The tests validate every resource with fhir.resources' R4B models (the package
ships R4B, not R4 itself; the resources used here are the same in both).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trialkit.exports.base import ExportResult, Progress
from trialkit.protocol import DataType, Study, units
from trialkit.services.extract import BLINDED, Extract, Person, Value

__all__ = ["SEVERITY", "UCUM", "write_fhir"]

UCUM = "http://unitsofmeasure.org"
_NS = uuid.UUID("6f1e3b0e-7d1c-4f6e-9a77-3b2f0c3f1a11")
_AE_ROW = frozenset({"ae_grade", "ae_term"})

#: CTCAE grade -> FHIR AdverseEvent.severity (R4: mild | moderate | severe).
SEVERITY = {1: "mild", 2: "moderate"}

_SUBJECT_STATUS = {
    "enrolled": "on-study",
    "on_study": "on-study",
    "completed": "off-study",
    "withdrawn": "withdrawn",
    "lost_to_follow_up": "off-study",
}


def _uuid(study: str, *parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join([study, *(str(p) for p in parts)])))


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() and "." not in text else float(value)


class _Bundle:
    def __init__(self, path: Path, study: str, now: datetime) -> None:
        self.fh = path.open("w", encoding="utf-8")
        self.study = study
        self.first = True
        self.count = 0
        head = {"resourceType": "Bundle", "id": _uuid(study, "bundle", now.isoformat())}
        head |= {"type": "collection", "timestamp": now.replace(microsecond=0).isoformat() + "Z"}
        self.fh.write(json.dumps(head)[:-1] + ', "entry": [\n')

    def add(self, resource: dict[str, Any]) -> None:
        entry = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
        self.fh.write(("" if self.first else ",\n") + json.dumps(entry, ensure_ascii=False))
        self.first = False
        self.count += 1

    def close(self) -> None:
        self.fh.write("\n]}\n")
        self.fh.close()


def _ref(study: str, kind: str, *parts: object) -> dict[str, str]:
    return {"reference": f"urn:uuid:{_uuid(study, kind, *parts)}"}


def _research_study(study: Study, sid: str) -> dict[str, Any]:
    ident = study.identity
    out: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": _uuid(sid, "ResearchStudy"),
        "identifier": [
            {"system": "urn:trialkit:study", "value": study.id},
            *(
                {"system": f"urn:trialkit:registry:{r.registry}", "value": r.id}
                for r in ident.registrations
            ),
        ],
        "title": ident.scientific_title,
        "status": "active",
        "condition": [{"text": c.name} for c in ident.conditions],
        "arm": [{"name": a.id, "description": a.name} for a in study.arms],
    }
    if ident.brief_summary:
        out["description"] = ident.brief_summary
    if ident.phase:
        out["phase"] = {"text": ident.phase}
    return out


def _patient(sid: str, p: Person, sex: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _uuid(sid, "Patient", p.code),
        "identifier": [{"system": f"urn:trialkit:{sid}:participant", "value": p.code}],
    }
    if sex in ("female", "male"):
        out["gender"] = sex
    elif sex:
        out["gender"] = "other" if sex != "unknown" else "unknown"
    return out


def _subject(sid: str, p: Person) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "ResearchSubject",
        "id": _uuid(sid, "ResearchSubject", p.code),
        "identifier": [{"system": f"urn:trialkit:{sid}:participant", "value": p.code}],
        "status": _SUBJECT_STATUS.get(p.status, "on-study"),
        "study": _ref(sid, "ResearchStudy"),
        "individual": _ref(sid, "Patient", p.code),
    }
    if p.arm != BLINDED:
        out["assignedArm"] = p.arm
    return out


def _observation(sid: str, v: Value, label: str, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _uuid(sid, "Observation", v.record, v.instance, v.item, n),
        "status": "final",
        "code": {
            "coding": [{"system": f"urn:trialkit:{sid}:item", "code": f"{v.form}.{v.item}"}],
            "text": label,
        },
        "subject": _ref(sid, "Patient", v.participant),
        "valueQuantity": {"value": _number(v.value)},
    }
    if v.derived:
        system = "http://terminology.hl7.org/CodeSystem/observation-category"
        out["category"] = [{"coding": [{"system": system, "code": "survey"}]}]
    if v.unit:
        out["valueQuantity"] |= {"unit": v.unit, "system": UCUM, "code": v.unit}
    if v.visit_date:
        out["effectiveDateTime"] = v.visit_date
    return out


def _adverse_event(
    sid: str, record: int, group: str, row: str, cells: dict[str, str], grade: int | None, who: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": _uuid(sid, "AdverseEvent", record, group, row),
        "actuality": "actual",
        "subject": _ref(sid, "Patient", who),
        "study": [_ref(sid, "ResearchStudy")],
        "event": {"text": cells.get("ae_term") or cells.get("ae_ctcae_term") or "adverse event"},
    }
    if grade is not None:
        out["event"]["coding"] = [{"system": "urn:trialkit:ctcae-grade", "code": str(grade)}]
        out["severity"] = {"coding": [{"code": SEVERITY.get(grade, "severe")}]}
    if cells.get("ae_onset"):
        out["date"] = cells["ae_onset"]
    if cells.get("ae_serious") in ("true", "false"):
        code = "serious" if cells["ae_serious"] == "true" else "non-serious"
        out["seriousness"] = {"coding": [{"code": code}]}
    return out


def _labels(study: Study) -> dict[tuple[str, str], tuple[str, DataType, bool]]:
    return {
        (f.id, i.name): (i.label, i.data_type, bool(i.unit) or bool(i.derived))
        for f in study.forms
        for i in f.items()
    }


def _product(study: Study, arm: str) -> str:
    found = study.arm(arm) if arm != BLINDED else None
    if found is None or not found.interventions:
        return "study intervention"
    return found.interventions[0].name


def _rows(batch: Iterable[Value]) -> dict[tuple[str, str], dict[str, str]]:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for v in batch:
        rows.setdefault((v.group, v.instance), {})[v.item] = v.value
    return rows


def write_fhir(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """Write ``bundle.json`` into ``out``."""
    study = extract.study
    sid = study.id
    result = ExportResult("fhir", participants=len(extract.people))
    path = out / "bundle.json"
    bundle = _Bundle(path, sid, extract.now)
    labels: dict[tuple[str, str], tuple[str, DataType, bool]] = {}
    for version in extract.versions.values():
        labels = _labels(version) | labels
    grades = extract.effective_grades()
    sexes: dict[str, str] = {}
    people = {p.code: p for p in extract.people}
    arm_of = {p.code: p.arm for p in extract.people}
    try:
        bundle.add(_research_study(study, sid))
        total = extract.form_count()
        for done, batch in enumerate(extract.form_batches(), start=1):
            for n, v in enumerate(batch):
                if v.item == "sex" and v.value:
                    sexes[v.participant] = v.value
                label, data_type, measured = labels.get((v.form, v.item), (v.item, None, False))
                numeric = data_type in (DataType.INTEGER, DataType.DECIMAL) or v.derived
                if v.value and numeric and measured:
                    bundle.add(_observation(sid, v, label, n))
                    result.values += 1
            for (group, instance), cells in _rows(batch).items():
                if cells.keys() >= _AE_ROW or ("ae_term" in cells and "ae_onset" in cells):
                    record = batch[0].record
                    row = instance.partition(".")[2]
                    key = f"form_instance:{record}/{group}" + (f"/{row}" if row else "")
                    grade = grades.get(key)
                    if grade is None and cells.get("ae_grade", "").isdigit():
                        grade = int(cells["ae_grade"])
                    who = batch[0].participant
                    bundle.add(_adverse_event(sid, record, group, row, cells, grade, who))
            if done % 200 == 0 or done == total:
                progress(done, total)
        for p in people.values():
            bundle.add(_patient(sid, p, sexes.get(p.code)))
            bundle.add(_subject(sid, p))
        for d in extract.doses():
            given: dict[str, Any] = {
                "resourceType": "MedicationAdministration",
                "id": _uuid(sid, "MedicationAdministration", d.participant, d.event),
                "status": "completed",
                "medicationCodeableConcept": {"text": _product(study, arm_of[d.participant])},
                "subject": _ref(sid, "Patient", d.participant),
                # trialkit keeps site-local times without a zone; FHIR wants a zone with a
                # time, so the day is given (the CSV and ODM exports keep the time)
                "effectiveDateTime": d.given_at.date().isoformat(),
            }
            if d.amount is not None and d.unit:
                code = units.ucum(d.unit) if units.is_known(d.unit) else d.unit
                dose = {"value": _number(d.amount), "unit": code, "system": UCUM, "code": code}
                given["dosage"] = {"dose": dose}
            if d.product_lot:
                given["note"] = [{"text": f"product lot {d.product_lot}"}]
            bundle.add(given)
    finally:
        bundle.close()
    result.files.append(path)
    result.notes.append(f"{bundle.count} resources")
    return result
