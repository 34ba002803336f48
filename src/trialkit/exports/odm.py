"""``odm``: one CDISC ODM 1.3.2 file (``study.odm.xml``) with the metadata and the clinical data,
its audit records and its signatures.

* **Study**: ``GlobalVariables`` (the study's id and title), ``BasicDefinitions`` (one
  ``MeasurementUnit`` per UCUM code the items use), and one ``MetaDataVersion`` (the newest
  protocol version, with the items of older versions the data were captured under): the
  ``Protocol``'s study events (the timeline's visits, and ``SE.UNSCHEDULED``), ``FormDef``,
  ``ItemGroupDef`` (repeating where the protocol repeats), ``ItemDef`` (data type, question,
  unit, code list) and ``CodeList``.
* **AdminData**: a ``User`` for everyone who changed or signed the data, a ``Location`` per
  site, and a ``SignatureDef`` per signature meaning.
* **ClinicalData** (``FileType="Transactional"``): per participant (``SubjectData``, the site as
  ``SiteRef``), visit (``StudyEventData``), form (``FormData``; ``FormRepeatKey`` the instance)
  and item group row (``ItemGroupData``), every item's history from the audit trail: one
  ``ItemData`` per change (``TransactionType`` ``Insert``, ``Update`` or ``Remove``), each with
  its ``AuditRecord`` (user, site, time, reason for change); the last one is the value as it
  stands. A value without an audit entry (written outside the services) is one ``ItemData``
  without an ``AuditRecord``. Missing values (a form not required, a score not computed) are
  ``IsNull="Yes"`` with the reason as an ``Annotation``. Signatures in force are
  ``Signature`` elements of the form, the visit or the participant they cover.

Written as a stream (``xml.sax.saxutils.XMLGenerator``): memory holds one batch of form
instances and their audit entries, never the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from io import TextIOBase
from pathlib import Path
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from trialkit.exports.base import ExportResult, Progress
from trialkit.exports.dictionary import codes, entries
from trialkit.protocol import DataType, Study, units
from trialkit.services.extract import Entry, Extract, Signed, Value

__all__ = ["NS", "ODM_DATA_TYPES", "oid", "write_odm"]

NS = "http://www.cdisc.org/ns/odm/v1.3"
UNSCHEDULED = "SE.UNSCHEDULED"
_BATCH = 200

#: trialkit's item data types -> ODM 1.3.2 data types.
ODM_DATA_TYPES = {
    DataType.INTEGER: "integer",
    DataType.DECIMAL: "float",
    DataType.TEXT: "text",
    DataType.CODE: "text",
    DataType.DATE: "date",
    DataType.DATETIME: "datetime",
    DataType.BOOLEAN: "boolean",
}


def oid(prefix: str, *parts: str) -> str:
    """An OID: ``prefix.part.part``, each part kept to letters, digits, ``_ - .``."""
    return ".".join([prefix, *(re.sub(r"[^A-Za-z0-9_.\-]", "_", p) for p in parts)])


class _Writer:
    def __init__(self, fh: TextIOBase) -> None:
        self.x = XMLGenerator(fh, encoding="utf-8", short_empty_elements=True)
        self.depth = 0

    def open(self, name: str, **attrs: str | None) -> None:
        self.x.ignorableWhitespace("\n" + "  " * self.depth)
        self.x.startElement(name, AttributesImpl({k: v for k, v in attrs.items() if v is not None}))
        self.depth += 1

    def close(self, name: str, inline: bool = False) -> None:
        self.depth -= 1
        if not inline:
            self.x.ignorableWhitespace("\n" + "  " * self.depth)
        self.x.endElement(name)

    def leaf(self, name: str, text: str | None = None, **attrs: str | None) -> None:
        self.open(name, **attrs)
        if text is not None:
            self.x.characters(text)
        self.close(name, inline=True)

    def translated(self, name: str, text: str) -> None:
        self.open(name)
        self.leaf("TranslatedText", text)
        self.close(name)


def _stamp(at: datetime) -> str:
    return at.replace(microsecond=0).isoformat()


def _study_events(study: Study) -> list[tuple[str, str, list[str]]]:
    return [(v.id, v.name, list(v.forms)) for v in study.timeline.visits]


def _metadata(w: _Writer, extract: Extract) -> None:
    study = extract.study
    newest = study.protocol_version
    dictionary = entries(extract.versions, newest)
    forms: dict[str, list[str]] = {}
    for e in dictionary:
        forms.setdefault(e.form, [])
        if e.group not in forms[e.form]:
            forms[e.form].append(e.group)
    unit_codes = sorted({units.ucum(e.item.unit) for e in dictionary if e.item.unit})
    w.open("GlobalVariables")
    w.leaf("StudyName", study.id)
    w.leaf("StudyDescription", study.identity.scientific_title)
    w.leaf("ProtocolName", study.id)
    w.close("GlobalVariables")
    if unit_codes:
        w.open("BasicDefinitions")
        for code in unit_codes:
            w.open("MeasurementUnit", OID=oid("MU", code), Name=code)
            w.translated("Symbol", code)
            w.close("MeasurementUnit")
        w.close("BasicDefinitions")
    w.open("MetaDataVersion", OID=oid("MDV", newest), Name=f"{study.id} protocol {newest}")
    w.open("Protocol")
    events = _study_events(study)
    for n, (event, _, _) in enumerate(events, start=1):
        w.leaf("StudyEventRef", StudyEventOID=oid("SE", event), OrderNumber=str(n), Mandatory="Yes")
    w.leaf("StudyEventRef", StudyEventOID=UNSCHEDULED, Mandatory="No")
    w.close("Protocol")
    for event, name, event_forms in events:
        w.open("StudyEventDef", OID=oid("SE", event), Name=name, Repeating="No", Type="Scheduled")
        for f in event_forms:
            w.leaf("FormRef", FormOID=oid("F", f), Mandatory="Yes")
        w.close("StudyEventDef")
    w.open(
        "StudyEventDef", OID=UNSCHEDULED, Name="Unscheduled", Repeating="Yes", Type="Unscheduled"
    )
    for f in study.timeline.unscheduled.forms:
        w.leaf("FormRef", FormOID=oid("F", f), Mandatory="No")
    w.close("StudyEventDef")
    names = {e.form: e.form_name for e in dictionary}
    for form_id, groups in forms.items():
        defined = study.form(form_id)
        repeating = "Yes" if defined is not None and defined.repeating else "No"
        w.open("FormDef", OID=oid("F", form_id), Name=names[form_id], Repeating=repeating)
        for g in groups:
            w.leaf("ItemGroupRef", ItemGroupOID=oid("IG", form_id, g), Mandatory="Yes")
        w.close("FormDef")
    for form_id, groups in forms.items():
        defined = study.form(form_id)
        for g in groups:
            group = next((x for x in defined.groups if x.id == g), None) if defined else None
            w.open(
                "ItemGroupDef",
                OID=oid("IG", form_id, g),
                Name=group.name if group is not None else g,
                Repeating="Yes" if group is not None and group.repeating else "No",
            )
            for e in dictionary:
                if e.form == form_id and e.group == g:
                    mandatory = "Yes" if e.item.required and not e.item.derived else "No"
                    w.leaf("ItemRef", ItemOID=oid("IT", form_id, e.item.name), Mandatory=mandatory)
            w.close("ItemGroupDef")
    lists: dict[str, dict[str, str]] = {}
    for e in dictionary:
        i = e.item
        w.open(
            "ItemDef",
            OID=oid("IT", e.form, i.name),
            Name=i.name,
            DataType=ODM_DATA_TYPES[i.data_type],
            Origin="Derived" if i.derived else None,
        )
        w.translated("Question", i.label)
        if i.unit:
            w.leaf("MeasurementUnitRef", MeasurementUnitOID=oid("MU", units.ucum(i.unit)))
        if i.codelist:
            lists.setdefault(i.codelist, codes(extract.versions[e.versions[0]], i))
            w.leaf("CodeListRef", CodeListOID=oid("CL", i.codelist))
        w.close("ItemDef")
    for list_id, found in lists.items():
        w.open("CodeList", OID=oid("CL", list_id), Name=list_id, DataType="text")
        for code, label in found.items():
            w.open("CodeListItem", CodedValue=code)
            w.translated("Decode", label)
            w.close("CodeListItem")
        w.close("CodeList")
    w.close("MetaDataVersion")


def _path(group: str, instance: str, item: str, derived: bool) -> str:
    if derived:
        return f"derived/{item}"
    row = instance.partition(".")[2]
    return f"{group}[{row}]/{item}" if row else f"{group}/{item}"


def _row(instance: str) -> int:
    row = instance.partition(".")[2]
    return int(row) if row.isdigit() else 0


def _audit(w: _Writer, e: Entry, site: str) -> None:
    w.open("AuditRecord")
    w.leaf("UserRef", UserOID=oid("USR", e.actor))
    w.leaf("LocationRef", LocationOID=oid("LOC", site))
    w.leaf("DateTimeStamp", _stamp(e.at))
    if e.reason:
        w.leaf("ReasonForChange", e.reason)
    w.leaf("SourceID", f"audit_log.seq={e.seq}")
    w.close("AuditRecord")


def _signature(w: _Writer, s: Signed, site: str, meanings: dict[str, str]) -> None:
    w.open("Signature")
    w.leaf("UserRef", UserOID=oid("USR", s.username))
    w.leaf("LocationRef", LocationOID=oid("LOC", site))
    w.leaf("SignatureRef", SignatureOID=meanings[s.meaning])
    w.leaf("DateTimeStamp", _stamp(s.at))
    w.close("Signature")


class _Clinical:
    """The ClinicalData stream: opens and closes subjects, events and forms as values come."""

    def __init__(
        self, w: _Writer, extract: Extract, signed: list[Signed], meanings: dict[str, str]
    ) -> None:
        self.w = w
        self.events = {v.id for v in extract.study.timeline.visits}
        self.meanings = meanings
        self.form_sig = {s.record: s for s in signed if s.scope == "form" and s.record}
        self.visit_sig = {(s.participant, s.visit): s for s in signed if s.scope == "visit"}
        self.book_sig = {s.participant: s for s in signed if s.scope == "casebook"}
        self.groups = {
            (f.id, i.name): g.id
            for study in extract.versions.values()
            for f in study.forms
            for g in f.groups
            for i in g.items
        }
        self.subject: str | None = None
        self.event: str | None = None
        self.form: int | None = None
        self.group: tuple[str, str] | None = None
        self.items = 0

    def group_of(self, v: Value) -> str:
        """The item group of a value (a derived score's is the group that defines it)."""
        return v.group or self.groups.get((v.form, v.item), "")

    def order(self, values: list[Value]) -> list[Value]:
        """One form instance's values with each item group row together, derived scores in
        the group that defines them."""
        return sorted(values, key=lambda v: (self.group_of(v), _row(v.instance)))

    def _close_to(self, level: int) -> None:
        w = self.w
        if level < 4 and self.group is not None:
            w.close("ItemGroupData")
            self.group = None
        if level < 3 and self.form is not None:
            w.close("FormData")
            self.form = None
        if level < 2 and self.event is not None:
            w.close("StudyEventData")
            self.event = None
        if level < 1 and self.subject is not None:
            w.close("SubjectData")
            self.subject = None

    def value(self, v: Value, history: list[Entry]) -> None:
        w = self.w
        if v.participant != self.subject:
            self._close_to(0)
            w.open("SubjectData", SubjectKey=v.participant)
            if v.participant in self.book_sig:
                _signature(w, self.book_sig[v.participant], v.site, self.meanings)
            w.leaf("SiteRef", LocationOID=oid("LOC", v.site))
            self.subject = v.participant
        if v.visit != self.event:
            self._close_to(1)
            scheduled = v.visit in self.events
            w.open(
                "StudyEventData",
                StudyEventOID=oid("SE", v.visit) if scheduled else UNSCHEDULED,
                StudyEventRepeatKey=None if scheduled else v.visit,
            )
            if (v.participant, v.visit) in self.visit_sig:
                _signature(w, self.visit_sig[(v.participant, v.visit)], v.site, self.meanings)
            self.event = v.visit
        if v.record != self.form:
            self._close_to(2)
            head = v.instance.partition(".")[0]
            w.open("FormData", FormOID=oid("F", v.form), FormRepeatKey=head)
            if v.record in self.form_sig:
                _signature(w, self.form_sig[v.record], v.site, self.meanings)
            self.form = v.record
        group = self.group_of(v)
        row = v.instance.partition(".")[2]
        if (group, row) != self.group:
            self._close_to(3)
            w.open(
                "ItemGroupData",
                ItemGroupOID=oid("IG", v.form, group),
                ItemGroupRepeatKey=row or None,
            )
            self.group = (group, row)
        item_oid = oid("IT", v.form, v.item)
        if not v.value:
            w.open("ItemData", ItemOID=item_oid, IsNull="Yes")
            if v.missing_reason:
                w.open("Annotation", SeqNum="1")
                w.leaf("Comment", v.missing_reason)
                w.close("Annotation")
            w.close("ItemData")
            self.items += 1
            return
        if not history:
            w.leaf("ItemData", ItemOID=item_oid, Value=v.value)
        for n, e in enumerate(history):
            kind = "Insert" if n == 0 else ("Remove" if e.value is None else "Update")
            attrs = {"ItemOID": item_oid, "TransactionType": kind}
            if e.value is None:
                attrs["IsNull"] = "Yes"
            else:
                attrs["Value"] = e.value
            w.open("ItemData", **attrs)
            _audit(w, e, v.site)
            w.close("ItemData")
        self.items += 1

    def finish(self) -> None:
        self._close_to(0)


def _batches(
    extract: Extract, clinical: _Clinical, progress: Progress
) -> Iterator[tuple[list[Value], dict[tuple[int, str], list[Entry]]]]:
    total = extract.form_count()
    pending: list[Value] = []
    done = 0
    for batch in extract.form_batches():
        done += 1
        pending.extend(clinical.order(batch))
        if done % _BATCH == 0:
            yield pending, extract.history(sorted({v.record for v in pending}))
            pending = []
            progress(done, total)
    if pending:
        yield pending, extract.history(sorted({v.record for v in pending}))
    progress(done, total)


def write_odm(
    extract: Extract, out: Path, progress: Progress, *, now: datetime | None = None
) -> ExportResult:
    """Write ``study.odm.xml`` into ``out``."""
    result = ExportResult("odm", participants=len(extract.people))
    path = out / "study.odm.xml"
    study = extract.study
    signed = extract.signatures()
    meanings = {
        m: oid("SD", str(n))
        for n, m in enumerate(dict.fromkeys(s.meaning for s in signed), start=1)
    }
    created = now or extract.now
    with path.open("w", encoding="utf-8") as fh:
        w = _Writer(fh)
        w.x.startDocument()
        w.open(
            "ODM",
            xmlns=NS,
            FileType="Transactional",
            Granularity="All",
            FileOID=oid("ODM", study.id, created.strftime("%Y%m%dT%H%M%S")),
            CreationDateTime=_stamp(created),
            ODMVersion="1.3.2",
            Originator="trialkit",
        )
        w.open("Study", OID=oid("S", study.id))
        _metadata(w, extract)
        w.close("Study")
        # AdminData needs the users, who are known only after the data: the clinical data are
        # written to a temporary file first, then copied after AdminData.
        tmp = out / ".study.odm.clinical.part"
        users: set[str] = {s.username for s in signed}
        try:
            with tmp.open("w", encoding="utf-8") as part:
                cw = _Writer(part)
                cw.depth = 1
                cw.open(
                    "ClinicalData",
                    StudyOID=oid("S", study.id),
                    MetaDataVersionOID=oid("MDV", study.protocol_version),
                )
                clinical = _Clinical(cw, extract, signed, meanings)
                for values, history in _batches(extract, clinical, progress):
                    for v in values:
                        entries_ = history.get(
                            (v.record, _path(v.group, v.instance, v.item, v.derived)), []
                        )
                        users.update(e.actor for e in entries_)
                        clinical.value(v, entries_)
                clinical.finish()
                cw.close("ClinicalData")
            result.values = clinical.items
            _admin(w, extract, users, signed, meanings, created)
            fh.flush()
            with tmp.open(encoding="utf-8") as part:
                while chunk := part.read(1 << 20):
                    fh.write(chunk)
        finally:
            tmp.unlink(missing_ok=True)
        w.close("ODM")
        w.x.endDocument()
        fh.write("\n")
    result.files.append(path)
    return result


def _admin(
    w: _Writer,
    extract: Extract,
    users: set[str],
    signed: list[Signed],
    meanings: dict[str, str],
    created: datetime,
) -> None:
    names = {s.username: s.name for s in signed}
    w.open("AdminData", StudyOID=oid("S", extract.study.id))
    for user in sorted(users):
        w.open("User", OID=oid("USR", user))
        w.leaf("LoginName", user)
        if user in names:
            w.leaf("DisplayName", names[user])
        w.close("User")
    for site in sorted({p.site for p in extract.people}):
        w.open("Location", OID=oid("LOC", site), Name=site, LocationType="Site")
        w.leaf(
            "MetaDataVersionRef",
            StudyOID=oid("S", extract.study.id),
            MetaDataVersionOID=oid("MDV", extract.study.protocol_version),
            EffectiveDate=created.date().isoformat(),
        )
        w.close("Location")
    for meaning, sd in meanings.items():
        w.open("SignatureDef", OID=sd, Methodology="Electronic")
        w.leaf("Meaning", meaning)
        w.leaf("LegalReason", "21 CFR Part 11 electronic signature recorded by trialkit")
        w.close("SignatureDef")
    w.close("AdminData")
