"""``define.xml``: the Define-XML 2.0.0 metadata of the ``sdtm`` export's datasets.

One ``MetaDataVersion`` (``def:StandardName`` SDTM-IG, ``def:StandardVersion`` the SDTMIG
version of :mod:`trialkit.exports.sdtm_domains`) with, in the schema's order:

* ``def:ValueListDef`` and ``def:WhereClauseDef``: value-level metadata of the findings'
  results (``--ORRES`` and ``--STRESN`` per ``--TESTCD``, with the test's data type, length
  and origin; a derived score's method) and of the supplemental qualifiers (``QVAL`` per
  ``QNAM``);
* an ``ItemGroupDef`` per dataset (class, structure, key sequence, ``def:leaf`` to its
  ``.xpt``), each ``ItemRef`` with the ``MethodOID`` of a derived variable;
* an ``ItemDef`` per variable (data type, length from the data, label, ``def:Origin``,
  ``CodeListRef``, ``def:ValueListRef``, ``def:CommentOID``);
* a ``CodeList`` per code list used, its terms the values in the data
  (:mod:`trialkit.exports.sdtm_terms` says which are CDISC's, with NCI codes where given, and
  which are sponsor-defined);
* a ``MethodDef`` per method used (the instruments' scores from :mod:`trialkit.instruments`);
* a ``def:CommentDef`` per sponsor's decision a variable needs.

Valid against CDISC's Define-XML 2.0 schema (shipped by odmlib; the tests validate every file
with it and check that every reference resolves).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from trialkit.exports.sdtm_domains import (
    DOMAINS,
    LB_TESTS,
    SDTMIG_VERSION,
    SUPP_QUALIFIERS,
    VS_TESTS,
    Domain,
)
from trialkit.exports.sdtm_terms import CODELISTS, COMMENTS, METHODS
from trialkit.protocol import DataType, Study
from trialkit.services.extract import Extract

__all__ = ["DEF", "ODM", "XLINK", "write_define"]

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.0"
XLINK = "http://www.w3.org/1999/xlink"
_XML = "http://www.w3.org/XML/1998/namespace"

ET.register_namespace("", ODM)
ET.register_namespace("def", DEF)
ET.register_namespace("xlink", XLINK)

Row = dict[str, Any]

#: The findings whose results have value-level metadata, and the variables described.
_VALUE_LEVEL = {"VS": ("ORRES", "STRESN"), "LB": ("ORRES", "STRESN"), "QS": ("ORRES", "STRESN")}
_CDISC_TESTS = {"VSTESTCD": {c for c, _ in VS_TESTS.values()}}
_CDISC_TESTS["LBTESTCD"] = {c for c, _ in LB_TESTS.values()}
_SUPP_MANDATORY = {"STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "QNAM", "QLABEL", "QVAL", "QORIG"}


def _o(tag: str) -> str:
    return f"{{{ODM}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF}}}{tag}"


def _description(parent: ET.Element, text: str, tag: str = "Description") -> None:
    desc = ET.SubElement(parent, _o(tag))
    tt = ET.SubElement(desc, _o("TranslatedText"), {f"{{{_XML}}}lang": "en"})
    tt.text = text


def _length(values: Any) -> int:
    return max([1, *(len(str(x).encode()) for x in values if x not in (None, ""))])


@dataclass
class _ValueItem:
    """One value-level ItemDef and where it applies."""

    oid: str
    name: str
    label: str
    dtype: str
    length: int
    origin: str
    where: str  # the WhereClauseDef's OID
    method: str = ""
    codelist: str = ""


@dataclass
class _Metadata:
    """What define.xml needs beyond the domains: collected from the rows written."""

    study: Study
    rows: dict[str, list[Row]]
    terms: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    value_lists: dict[str, list[_ValueItem]] = field(default_factory=dict)
    where: dict[str, tuple[str, str]] = field(default_factory=dict)  # OID -> (ItemOID, value)
    methods: dict[str, tuple[str, str]] = field(default_factory=dict)
    comments: set[str] = field(default_factory=set)

    def collect(self) -> None:
        for code, domain in DOMAINS.items():
            rows = self.rows.get(code, [])
            for c in domain.columns:
                if c.codelist:
                    self._terms(c.codelist, rows, c.name)
                if c.method:
                    self.methods[f"MT.{c.method}"] = METHODS[c.method]
                if c.comment:
                    self.comments.add(c.comment)
            if code in _VALUE_LEVEL:
                self._findings(code, rows)
            if domain.cls == "RELATIONSHIP":
                self._qualifiers(code, rows)

    def _terms(self, key: str, rows: list[Row], name: str) -> None:
        spec = CODELISTS[key]
        found = self.terms[key]
        for r in rows:
            value = r.get(name)
            if value in (None, "") or value in found:
                continue
            value = str(value)
            decode = spec.decodes[value][0] if value in spec.decodes else ""
            if not decode and spec.decode_column:
                decode = str(r.get(spec.decode_column) or "")
            if not decode and spec.protocol:
                cl = self.study.codelist(spec.protocol)
                decode = next((i.label for i in cl.items if i.code == value), "") if cl else ""
            found[value] = decode

    def _findings(self, code: str, rows: list[Row]) -> None:
        by_test: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_test[r[f"{code}TESTCD"]].append(r)
        for var in _VALUE_LEVEL[code]:
            items = []
            for testcd, test_rows in sorted(by_test.items()):
                where = f"WC.{code}.{code}TESTCD.{testcd}"
                self.where[where] = (f"IT.{code}.{code}TESTCD", testcd)
                types = {r.get("_dtype", "text") for r in test_rows}
                dtype = types.pop() if len(types) == 1 else "text"
                derived = sorted({r["_derived"] for r in test_rows if r.get("_derived")})
                name = f"{code}{var}"
                label = str(test_rows[0][f"{code}TEST"])
                if var == "STRESN":
                    dtype = "integer" if dtype == "integer" else "float"
                    item = _ValueItem(
                        f"IT.{code}.{name}.{testcd}",
                        name,
                        label,
                        dtype,
                        8,
                        "Derived",
                        where,
                        "MT.STRESN",
                    )
                else:
                    method = ""
                    if derived:
                        method = f"MT.INSTRUMENT.{derived[0].upper()}"
                        self.methods[method] = _instrument_method(derived[0])
                    item = _ValueItem(
                        f"IT.{code}.{name}.{testcd}",
                        name,
                        label,
                        dtype,
                        _length(r.get(name) for r in test_rows),
                        "Derived" if derived else "CRF",
                        where,
                        method,
                    )
                items.append(item)
            if items:
                self.value_lists[f"VL.{code}.{code}{var}"] = items

    def _qualifiers(self, code: str, rows: list[Row]) -> None:
        by_qnam: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_qnam[r["QNAM"]].append(r)
        items = []
        for qnam, q_rows in by_qnam.items():
            _, label, item_name, codelist = SUPP_QUALIFIERS[qnam]
            where = f"WC.{code}.QNAM.{qnam}"
            self.where[where] = (f"IT.{code}.QNAM", qnam)
            item = self.study.items().get(item_name)
            dtype = "datetime" if item and item.data_type is DataType.DATETIME else "text"
            if codelist:
                self._terms(codelist, q_rows, "QVAL")
            items.append(
                _ValueItem(
                    f"IT.{code}.QVAL.{qnam}",
                    "QVAL",
                    label,
                    dtype,
                    _length(r["QVAL"] for r in q_rows),
                    "CRF",
                    where,
                    "",
                    codelist,
                )
            )
        if items:
            self.value_lists[f"VL.{code}.QVAL"] = items


def _instrument_method(name: str) -> tuple[str, str]:
    """The method of a score computed by trialkit.instruments."""
    from trialkit.errors import NotFound
    from trialkit.instruments import get_instrument

    try:
        inst = get_instrument(name)
    except (NotFound, KeyError):
        return name.upper(), f"The score {name}, computed by trialkit when its form is saved."
    return (
        inst.title,
        f"{inst.title} ({inst.version}), computed by trialkit.instruments ({inst.name}) from "
        f"the items of its form when the form is saved; never entered. {inst.reference}",
    )


def write_define(extract: Extract, out: Path, rows: dict[str, list[Row]]) -> Path:
    """Write ``define.xml`` for the datasets whose rows are ``rows`` (by domain)."""
    study = extract.study
    meta = _Metadata(study, rows)
    meta.collect()
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
    _value_lists(mdv, meta)
    for code, domain in DOMAINS.items():
        _group(mdv, code, domain)
    for code, domain in DOMAINS.items():
        _items(mdv, code, domain, rows.get(code, []), meta)
    for items in meta.value_lists.values():
        for v in items:
            _item_def(mdv, v.oid, v.name, v.label, v.dtype, v.length, v.origin, v.codelist, meta)
    _codelists(mdv, meta)
    for oid, (name, text) in sorted(meta.methods.items()):
        method = ET.SubElement(mdv, _o("MethodDef"), {"OID": oid, "Name": name})
        method.set("Type", "Computation")
        _description(method, text)
    for key in sorted(meta.comments):
        comment = ET.SubElement(mdv, _d("CommentDef"), {"OID": f"COM.{key}"})
        _description(comment, COMMENTS[key])
    path = out / "define.xml"
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return path


def _value_lists(mdv: ET.Element, meta: _Metadata) -> None:
    for oid, items in meta.value_lists.items():
        vl = ET.SubElement(mdv, _d("ValueListDef"), {"OID": oid})
        for n, v in enumerate(items, start=1):
            attrs = {"ItemOID": v.oid, "OrderNumber": str(n), "Mandatory": "No"}
            if v.method:
                attrs["MethodOID"] = v.method
            ref = ET.SubElement(vl, _o("ItemRef"), attrs)
            ET.SubElement(ref, _d("WhereClauseRef"), {"WhereClauseOID": v.where})
    for oid, (item_oid, value) in meta.where.items():
        wc = ET.SubElement(mdv, _d("WhereClauseDef"), {"OID": oid})
        check = ET.SubElement(
            wc, _o("RangeCheck"), {"Comparator": "EQ", "SoftHard": "Soft", _d("ItemOID"): item_oid}
        )
        ET.SubElement(check, _o("CheckValue")).text = value


def _group(mdv: ET.Element, code: str, domain: Domain) -> None:
    supp = domain.cls == "RELATIONSHIP"
    group = ET.SubElement(
        mdv,
        _o("ItemGroupDef"),
        {
            "OID": f"IG.{code}",
            "Name": code,
            "Domain": code.removeprefix("SUPP") if supp else code,
            "SASDatasetName": code,
            "Repeating": "Yes" if domain.repeating else "No",
            "IsReferenceData": "Yes" if domain.cls == "TRIAL DESIGN" else "No",
            "Purpose": "Tabulation",
            _d("Structure"): domain.structure,
            _d("Class"): domain.cls,
            _d("ArchiveLocationID"): f"LF.{code}",
        },
    )
    _description(group, domain.label)
    mandatory = _SUPP_MANDATORY if supp else {"STUDYID", "DOMAIN", "USUBJID"}
    for n, c in enumerate(domain.columns, start=1):
        attrs = {
            "ItemOID": f"IT.{code}.{c.name}",
            "OrderNumber": str(n),
            "Mandatory": "Yes" if c.name in mandatory else "No",
        }
        if c.name in domain.keys:
            attrs["KeySequence"] = str(domain.keys.index(c.name) + 1)
        if c.method:
            attrs["MethodOID"] = f"MT.{c.method}"
        ET.SubElement(group, _o("ItemRef"), attrs)
    leaf = ET.SubElement(
        group, _d("leaf"), {"ID": f"LF.{code}", f"{{{XLINK}}}href": f"{code.lower()}.xpt"}
    )
    ET.SubElement(leaf, _d("title")).text = f"{code.lower()}.xpt"


def _items(mdv: ET.Element, code: str, domain: Domain, rows: list[Row], meta: _Metadata) -> None:
    for c in domain.columns:
        numeric_type = (
            "integer" if c.name.endswith(("SEQ", "DY", "ORD")) or c.name == "AGE" else "float"
        )
        length = 8 if c.numeric else _length(r.get(c.name) for r in rows)
        item = _item_def(
            mdv,
            f"IT.{code}.{c.name}",
            c.name,
            c.label,
            numeric_type if c.numeric else "text",
            length,
            c.origin,
            c.codelist,
            meta,
            comment=c.comment,
        )
        for var in _VALUE_LEVEL.get(code, ()):
            if c.name == f"{code}{var}" and f"VL.{code}.{c.name}" in meta.value_lists:
                ET.SubElement(item, _d("ValueListRef"), {"ValueListOID": f"VL.{code}.{c.name}"})
        if c.name == "QVAL" and f"VL.{code}.QVAL" in meta.value_lists:
            ET.SubElement(item, _d("ValueListRef"), {"ValueListOID": f"VL.{code}.QVAL"})


def _item_def(
    mdv: ET.Element,
    oid: str,
    name: str,
    label: str,
    dtype: str,
    length: int,
    origin: str,
    codelist: str,
    meta: _Metadata,
    *,
    comment: str = "",
) -> ET.Element:
    attrs = {"OID": oid, "Name": name, "DataType": dtype}
    if dtype in ("text", "integer", "float"):
        attrs["Length"] = str(length)
    attrs["SASFieldName"] = name
    if comment:
        attrs[_d("CommentOID")] = f"COM.{comment}"
    item = ET.SubElement(mdv, _o("ItemDef"), attrs)
    _description(item, label)
    if codelist and meta.terms.get(codelist):
        ET.SubElement(item, _o("CodeListRef"), {"CodeListOID": f"CL.{codelist}"})
    found = ET.SubElement(item, _d("Origin"), {"Type": origin})
    if origin == "Protocol":
        _description(found, f"The protocol, version {meta.study.protocol_version}")
    elif origin == "CRF":
        _description(found, "Entered on the study's case report forms (trialkit's odm export)")
    return item


def _codelists(mdv: ET.Element, meta: _Metadata) -> None:
    for key, terms in sorted(meta.terms.items()):
        if not terms:
            continue
        spec = CODELISTS[key]
        cl = ET.SubElement(
            mdv, _o("CodeList"), {"OID": f"CL.{key}", "Name": spec.name, "DataType": "text"}
        )
        if spec.sponsor_defined:
            source = (
                f"the protocol's code list {spec.protocol}"
                if spec.protocol
                else "made by trialkit's sdtm export"
            )
            text = f"Sponsor-defined: {source}" + (f" ({spec.note})" if spec.note else "")
        else:
            text = f"CDISC controlled terminology {spec.cdisc}" + (
                f" ({spec.nci})" if spec.nci else "; NCI codes from the sponsor's CT package"
            )
            text += f"; {spec.note}" if spec.note else ""
        _description(cl, text)
        decoded = all(terms.values())
        known = _CDISC_TESTS.get(key)
        for value, decode in sorted(terms.items()):
            extended = (
                {_d("ExtendedValue"): "Yes"} if known is not None and value not in known else {}
            )
            if decoded:
                term = ET.SubElement(cl, _o("CodeListItem"), {"CodedValue": value, **extended})
                _description(term, decode, "Decode")
            else:
                term = ET.SubElement(cl, _o("EnumeratedItem"), {"CodedValue": value, **extended})
            nci = spec.decodes.get(value, ("", ""))[1]
            if nci:
                ET.SubElement(term, _o("Alias"), {"Context": "nci:ExtCodeID", "Name": nci})
        if spec.nci:
            ET.SubElement(cl, _o("Alias"), {"Context": "nci:ExtCodeID", "Name": spec.nci})
