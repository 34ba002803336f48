"""``odm``: the ODM 1.3.2 file validates against CDISC's schema (shipped by odmlib), and its
clinical data read back equal the database's values, with the audit history and signatures."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from tests.exports.conftest import CORRECTED, PAE
from tests.services.conftest import PASSWORD, People

from trialkit.exports import export
from trialkit.exports.odm import NS, oid
from trialkit.services import Context, Role, sign
from trialkit.services.extract import open_extract
from trialkit.store import Database

xmlschema = pytest.importorskip("xmlschema")
schema_manager = pytest.importorskip("odmlib.schema_manager")

Q = f"{{{NS}}}"


def _current(root: ET.Element) -> dict[tuple[str, str, str, str, str, str], str | None]:
    """(subject, event, form, form repeat, group row, item OID) -> the item's last value."""
    out: dict[tuple[str, str, str, str, str, str], str | None] = {}
    for subject in root.iter(Q + "SubjectData"):
        for event in subject.iter(Q + "StudyEventData"):
            visit = event.get("StudyEventRepeatKey") or event.get("StudyEventOID", "")[3:]
            for form in event.iter(Q + "FormData"):
                for group in form.iter(Q + "ItemGroupData"):
                    for item in group.iter(Q + "ItemData"):
                        key = (
                            subject.get("SubjectKey", ""),
                            visit,
                            form.get("FormOID", ""),
                            form.get("FormRepeatKey", ""),
                            group.get("ItemGroupRepeatKey") or "",
                            item.get("ItemOID", ""),
                        )
                        out[key] = item.get("Value")  # the last transaction wins
    return out


def test_odm_validates_and_reads_back_as_stored(
    db: Database, ctx: Context, filled: tuple[str, str], person: People, tmp_path: Path
) -> None:
    p1, p2 = filled
    pi = person("pi", PAE, Role.PRINCIPAL_INVESTIGATOR)
    meaning = "I confirm that I reviewed these data and they are accurate"
    sign(
        db,
        pi,
        PAE,
        p1,
        scope="form",
        visit="D1",
        form_id="PASI",
        meaning=meaning,
        password=PASSWORD,
    )
    sign(db, pi, PAE, p2, scope="casebook", meaning=meaning, password=PASSWORD)
    stats = person("stat", PAE, Role.STATISTICIAN)
    result = export(db, stats, PAE, "odm", tmp_path)
    (path,) = result.files
    schema = xmlschema.XMLSchema(schema_manager.get_schema_path("odm", "1.3.2"))
    schema.validate(str(path))  # raises with the first error
    root = ET.parse(path).getroot()
    got = _current(root)
    with open_extract(db, stats, PAE) as extract:
        want = {
            (
                v.participant,
                v.visit,
                oid("F", v.form),
                v.instance.partition(".")[0],
                v.instance.partition(".")[2],
                oid("IT", v.form, v.item),
            ): v.value or None
            for v in extract.values()
        }
    assert got == want
    assert len(want) == result.values
    # the corrected item: inserted, then updated with the reason, by whom and when
    trunk = oid("IT", "PASI", "trunk_erythema")
    (subject,) = [s for s in root.iter(Q + "SubjectData") if s.get("SubjectKey") == p2]
    m3 = next(e for e in subject.iter(Q + "StudyEventData") if e.get("StudyEventOID") == "SE.M3")
    history = [i for i in m3.iter(Q + "ItemData") if i.get("ItemOID") == trunk]
    assert [(i.get("TransactionType"), i.get("Value")) for i in history] == [
        ("Insert", "1"),
        ("Update", "2"),
    ]
    assert history[1].findtext(f"{Q}AuditRecord/{Q}ReasonForChange") == "transcription error"
    assert history[1].findtext(f"{Q}AuditRecord/{Q}DateTimeStamp") == "2025-08-01T09:00:00"
    # signatures: the form's and the casebook's, defined once in AdminData
    assert subject.find(f"{Q}Signature/{Q}UserRef").get("UserOID") == "USR.pi"
    defs = list(root.iter(Q + "SignatureDef"))
    assert [d.findtext(Q + "Meaning") for d in defs] == [meaning]
    users = {u.get("OID") for u in root.iter(Q + "User")}
    assert {"USR.pi", "USR.dr.demo", "USR.dr.amini"} <= users
    # metadata: units as UCUM, code lists, repeating groups
    units = {u.get("Name") for u in root.iter(Q + "MeasurementUnit")}
    assert {"cm2", "ug", "%"} <= units
    lesions = next(g for g in root.iter(Q + "ItemGroupDef") if g.get("OID") == "IG.LESION.LESIONS")
    assert lesions.get("Repeating") == "Yes"
    missing = [
        i
        for i in root.iter(Q + "ItemData")
        if i.get("IsNull") == "Yes" and i.findtext(f"{Q}Annotation/{Q}Comment")
    ]
    assert {i.findtext(f"{Q}Annotation/{Q}Comment") for i in missing} >= {
        "not required: lesion resolved"
    }
    # as of the day before the correction: the item's history ends with its first entry
    export(db, stats, PAE, "odm", tmp_path / "before", as_of=CORRECTED.replace(hour=0))
    schema.validate(str(tmp_path / "before" / "study.odm.xml"))
    before = ET.parse(tmp_path / "before" / "study.odm.xml").getroot()
    (subject,) = [s for s in before.iter(Q + "SubjectData") if s.get("SubjectKey") == p2]
    m3 = next(e for e in subject.iter(Q + "StudyEventData") if e.get("StudyEventOID") == "SE.M3")
    history = [i for i in m3.iter(Q + "ItemData") if i.get("ItemOID") == trunk]
    assert [(i.get("TransactionType"), i.get("Value")) for i in history] == [("Insert", "1")]
