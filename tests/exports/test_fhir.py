"""``fhir``: every resource of the bundle validates with fhir.resources' R4B models, and the
bundle holds the study, its subjects, scores and measurements, adverse events and doses."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from tests.exports.conftest import PAE
from tests.services.conftest import People

from trialkit.exports import export
from trialkit.services import Context, Role, save_form
from trialkit.store import Database

pytest.importorskip("fhir.resources.R4B")

_MODULES = {
    "Bundle": "bundle",
    "ResearchStudy": "researchstudy",
    "ResearchSubject": "researchsubject",
    "Patient": "patient",
    "Observation": "observation",
    "AdverseEvent": "adverseevent",
    "MedicationAdministration": "medicationadministration",
}


def _model(kind: str) -> type:
    module = importlib.import_module(f"fhir.resources.R4B.{_MODULES[kind]}")
    return getattr(module, kind)  # type: ignore[no-any-return]


def test_bundle_validates_with_the_r4b_models(
    db: Database, ctx: Context, filled: tuple[str, str], person: People, tmp_path: Path
) -> None:
    p1, _ = filled
    ae = {
        "ae_term": "injection site pain",
        "ae_onset": "2025-03-12",
        "ae_grade": "1",
        "ae_serious": "no",
        "ae_relation": "probable",
        "ae_outcome": "recovered",
        "ae_at_injection_site": "yes",
    }
    save_form(db, ctx, PAE, p1, visit="D1", form_id="AE", values={"AE": [ae]})
    stats = person("stat", PAE, Role.STATISTICIAN)
    result = export(db, stats, PAE, "fhir", tmp_path)
    bundle = json.loads((tmp_path / "bundle.json").read_text(encoding="utf-8"))
    _model("Bundle").model_validate(bundle)
    kinds: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        _model(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        kinds.setdefault(resource["resourceType"], []).append(resource)
    assert len(kinds["ResearchStudy"]) == 1
    assert len(kinds["Patient"]) == len(kinds["ResearchSubject"]) == result.participants == 2
    assert all(set(p) == {"resourceType", "id", "identifier", "gender"} for p in kinds["Patient"])
    assert {s["assignedArm"] for s in kinds["ResearchSubject"]} == {"G50", "G100"}
    pasi = [o for o in kinds["Observation"] if o["code"]["coding"][0]["code"] == "PASI.pasi"]
    assert sorted(o["valueQuantity"]["value"] for o in pasi) == [0.6, 1.2, 3.0, 3.0, 4.6, 4.6]
    area = next(
        o for o in kinds["Observation"] if o["code"]["coding"][0]["code"] == "LESION.plaque_area"
    )
    assert area["valueQuantity"] == {
        "value": 3.2,
        "unit": "cm2",
        "system": "http://unitsofmeasure.org",
        "code": "cm2",
    }
    (event,) = kinds["AdverseEvent"]
    assert (event["event"]["text"], event["severity"]["coding"][0]["code"]) == (
        "injection site pain",
        "mild",
    )
    doses = kinds["MedicationAdministration"]
    assert sorted(d["dosage"]["dose"]["value"] for d in doses) == [160, 320]
    assert {d["dosage"]["dose"]["code"] for d in doses} == {"ug"}
