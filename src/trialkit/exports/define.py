"""``define.xml``: the Define-XML 2.0.0 metadata of the ``sdtm`` export's datasets.

One ``MetaDataVersion`` (``def:StandardName`` SDTM-IG, ``def:StandardVersion`` the SDTMIG
version of :mod:`trialkit.exports.sdtm_domains`) with an ``ItemGroupDef`` per domain (its
class, structure, key sequence and the ``def:leaf`` of its ``.xpt`` file) and an ``ItemDef``
per variable (data type, length from the data, label, ``def:Origin``). Valid against CDISC's
Define-XML 2.0 schema (shipped by odmlib; the tests validate every file with it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from trialkit.exports.sdtm_domains import DOMAINS, SDTMIG_VERSION
from trialkit.services.extract import Extract

__all__ = ["DEF", "ODM", "XLINK", "write_define"]

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.0"
XLINK = "http://www.w3.org/1999/xlink"
_XML = "http://www.w3.org/XML/1998/namespace"

ET.register_namespace("", ODM)
ET.register_namespace("def", DEF)
ET.register_namespace("xlink", XLINK)


def _o(tag: str) -> str:
    return f"{{{ODM}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF}}}{tag}"


def _description(parent: ET.Element, text: str) -> None:
    desc = ET.SubElement(parent, _o("Description"))
    tt = ET.SubElement(desc, _o("TranslatedText"), {f"{{{_XML}}}lang": "en"})
    tt.text = text


def _length(rows: list[dict[str, Any]], name: str) -> int:
    return max([1, *(len(str(r.get(name) or "").encode()) for r in rows)])


def write_define(extract: Extract, out: Path, rows: dict[str, list[dict[str, Any]]]) -> Path:
    """Write ``define.xml`` for the datasets whose rows are ``rows`` (by domain)."""
    study = extract.study
    now = extract.now.replace(microsecond=0).isoformat()
    root = ET.Element(
        _o("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"DEF.{study.id}.SDTM",
            "CreationDateTime": now,
            "ODMVersion": "1.3.2",
            "Originator": "trialkit",
            "SourceSystem": "trialkit",
        },
    )
    st = ET.SubElement(root, _o("Study"), {"OID": f"S.{study.id}"})
    gv = ET.SubElement(st, _o("GlobalVariables"))
    ET.SubElement(gv, _o("StudyName")).text = study.id
    ET.SubElement(gv, _o("StudyDescription")).text = study.identity.scientific_title
    ET.SubElement(gv, _o("ProtocolName")).text = study.id
    mdv = ET.SubElement(
        st,
        _o("MetaDataVersion"),
        {
            "OID": f"MDV.{study.id}.SDTMIG.{SDTMIG_VERSION}",
            "Name": f"{study.id} SDTM (protocol version {study.protocol_version})",
            _d("DefineVersion"): "2.0.0",
            _d("StandardName"): "SDTM-IG",
            _d("StandardVersion"): SDTMIG_VERSION,
        },
    )
    for code, domain in DOMAINS.items():
        group = ET.SubElement(
            mdv,
            _o("ItemGroupDef"),
            {
                "OID": f"IG.{code}",
                "Name": code,
                "Domain": code,
                "SASDatasetName": code,
                "Repeating": "No" if code in ("DM", "TS", "TE", "TA", "TV", "TI") else "Yes",
                "IsReferenceData": "Yes" if domain.cls == "TRIAL DESIGN" else "No",
                "Purpose": "Tabulation",
                _d("Structure"): domain.structure,
                _d("Class"): domain.cls,
                _d("ArchiveLocationID"): f"LF.{code}",
            },
        )
        _description(group, domain.label)
        for n, c in enumerate(domain.columns, start=1):
            attrs = {
                "ItemOID": f"IT.{code}.{c.name}",
                "OrderNumber": str(n),
                "Mandatory": "Yes" if c.name in ("STUDYID", "DOMAIN", "USUBJID") else "No",
            }
            if c.name in domain.keys:
                attrs["KeySequence"] = str(domain.keys.index(c.name) + 1)
            ET.SubElement(group, _o("ItemRef"), attrs)
        leaf = ET.SubElement(
            group, _d("leaf"), {"ID": f"LF.{code}", f"{{{XLINK}}}href": f"{code.lower()}.xpt"}
        )
        ET.SubElement(leaf, _d("title")).text = f"{code.lower()}.xpt"
    for code, domain in DOMAINS.items():
        for c in domain.columns:
            numeric_type = (
                "integer" if c.name.endswith(("SEQ", "DY", "ORD")) or c.name == "AGE" else "float"
            )
            item = ET.SubElement(
                mdv,
                _o("ItemDef"),
                {
                    "OID": f"IT.{code}.{c.name}",
                    "Name": c.name,
                    "DataType": numeric_type if c.numeric else "text",
                    "Length": "8" if c.numeric else str(_length(rows.get(code, []), c.name)),
                    "SASFieldName": c.name,
                },
            )
            _description(item, c.label)
            ET.SubElement(item, _d("Origin"), {"Type": c.origin})
    path = out / "define.xml"
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return path
