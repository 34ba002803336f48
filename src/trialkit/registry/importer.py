"""Import a registry record file as draft studies, whichever format it is in.

A file may hold one record (a v2 study, a legacy XML record, an IRCT page) or several (a v2
search response, a classic v1 ``FullStudiesResponse``, an ICTRP export): :func:`import_records`
gives one draft per record, and the records that cannot make a draft with their errors;
``record_id`` picks one record by its registry id. :func:`import_record` gives exactly one draft.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from trialkit.errors import ImportFailed, NotFound
from trialkit.registry.ctgov import Origin, parse_ctgov
from trialkit.registry.ctgov_classic import from_legacy_xml, from_v1, v1_studies
from trialkit.registry.detect import MAX_BYTES, sniff
from trialkit.registry.ictrp import IctrpRecord, ictrp_records, parse_ictrp
from trialkit.registry.irct import parse_irct
from trialkit.registry.result import FORMAT_NAMES, ImportResult, SourceFormat

__all__ = [
    "ImportBatch",
    "Refused",
    "import_bytes",
    "import_record",
    "import_records",
    "import_text",
]


@dataclass(frozen=True)
class Refused:
    """A record of a many-record file that could not make a draft, and why."""

    record_id: str
    error: ImportFailed


@dataclass(frozen=True)
class ImportBatch:
    """The drafts a file's records made, and the records refused."""

    source_format: SourceFormat
    results: list[ImportResult] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


@dataclass(frozen=True)
class _Unit:
    record_id: str
    where: str
    parse: Callable[[], ImportResult]


def _v2_id(study: object) -> str | None:
    if not isinstance(study, dict):
        return None
    ps = study.get("protocolSection")
    ident = ps.get("identificationModule") if isinstance(ps, dict) else None
    nct = ident.get("nctId") if isinstance(ident, dict) else None
    return nct if isinstance(nct, str) else None


def _v1_id(study: object) -> str | None:
    node: Any = study
    for part in ("ProtocolSection", "IdentificationModule", "NCTId"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def _units(fmt: SourceFormat, payload: Any, source: str) -> Iterator[_Unit]:
    if fmt is SourceFormat.IRCT_TEXT:
        yield _Unit("", "", lambda: parse_irct(payload, source=source))
    elif fmt is SourceFormat.CTGOV_V2:
        yield _Unit(_v2_id(payload) or "", "", lambda: parse_ctgov(payload, source=source))
    elif fmt is SourceFormat.CTGOV_V2_SEARCH:
        studies = payload if isinstance(payload, list) else payload.get("studies", [])
        for n, study in enumerate(studies):
            prefixed = Origin(SourceFormat.CTGOV_V2_SEARCH, prefix=f"studies[{n}].")

            def parse_v2(s: object = study, o: Origin = prefixed) -> ImportResult:
                return parse_ctgov(s, source=source, origin=o)

            yield _Unit(_v2_id(study) or f"studies[{n}]", f"studies[{n}]", parse_v2)
    elif fmt is SourceFormat.CTGOV_V1:
        for where, study in v1_studies(payload):

            def parse(s: object = study, w: str = where) -> ImportResult:
                doc, origin = from_v1(s, w)
                return parse_ctgov(doc, source=source, origin=origin)

            yield _Unit(_v1_id(study) or where or "Study", where, parse)
    elif fmt is SourceFormat.CTGOV_XML:
        root: Element = payload

        def parse_xml() -> ImportResult:
            doc, origin = from_legacy_xml(root)
            return parse_ctgov(doc, source=source, origin=origin)

        nct = next((e.text or "" for e in root.iter() if e.tag == "nct_id"), "")
        yield _Unit(nct.strip(), "", parse_xml)
    else:
        for rec in ictrp_records(fmt, payload, source):

            def parse_rec(r: IctrpRecord = rec) -> ImportResult:
                return parse_ictrp(r, source=source)

            yield _Unit(rec.record_id, rec.where, parse_rec)


def _guard(unit: _Unit, fmt: SourceFormat, source: str) -> ImportResult:
    try:
        return unit.parse()
    except RecursionError as exc:
        raise ImportFailed(
            f"{source}: {unit.record_id or 'the record'} is nested too deeply to be a registry "
            "record",
            code="IMPORT.E002",
            hint="download the record again, unchanged",
        ) from exc


def import_bytes(
    raw: bytes, *, source: str = "<record>", record_id: str | None = None
) -> ImportBatch:
    """Drafts from a record file's bytes: one per record it holds (or the one ``record_id``
    names). A file of one record raises its error; a file of several lists refused records."""
    sniffed = sniff(raw, source=source)
    try:
        units = list(_units(sniffed.format, sniffed.payload, source))
    except RecursionError as exc:
        raise ImportFailed(
            f"{source}: the {FORMAT_NAMES[sniffed.format]} is nested too deeply to be a "
            "registry record",
            code="IMPORT.E002",
            hint="download the record again, unchanged",
        ) from exc
    name = FORMAT_NAMES[sniffed.format]
    if not units:
        raise ImportFailed(
            f"{source}: a {name} that holds no record",
            code="IMPORT.E008",
            hint="download a response that holds at least one study",
        )
    if record_id is not None:
        wanted = record_id.strip().upper()
        chosen = [u for u in units if u.record_id.upper() == wanted]
        if not chosen:
            held = ", ".join(u.record_id for u in units[:20] if u.record_id)
            raise ImportFailed(
                f"{source}: record {record_id!r} is not in this {name}; it holds "
                f"{len(units)} record(s): {held or '(none with an id)'}",
                code="IMPORT.E009",
                hint="give one of the ids it holds to --id",
            )
        units = chosen[:1]
    if len(units) == 1:
        return ImportBatch(sniffed.format, [_guard(units[0], sniffed.format, source)])
    batch = ImportBatch(sniffed.format)
    for unit in units:
        try:
            batch.results.append(_guard(unit, sniffed.format, source))
        except ImportFailed as exc:
            batch.refused.append(Refused(unit.record_id or unit.where, exc))
    return batch


def _read(path: str | Path) -> tuple[bytes, str]:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ImportFailed(
                f"{p}: {size:,} bytes is larger than a registry record ({MAX_BYTES:,} bytes at "
                "most)",
                code="IMPORT.E007",
                hint="import one record, or a search page of a few studies, at a time",
            )
        return p.read_bytes(), str(p)
    except FileNotFoundError as exc:
        raise NotFound(f"record file {str(p)!r} does not exist", code="IMPORT.E003") from exc
    except IsADirectoryError as exc:
        raise ImportFailed(
            f"{str(p)!r} is a folder, not a record file", code="IMPORT.E003"
        ) from exc
    except PermissionError as exc:
        raise ImportFailed(
            f"record file {str(p)!r} cannot be read: permission denied", code="IMPORT.E003"
        ) from exc


def import_records(path: str | Path, *, record_id: str | None = None) -> ImportBatch:
    """Drafts from a registry record file, one per record (see :func:`import_bytes`)."""
    raw, source = _read(path)
    return import_bytes(raw, source=source, record_id=record_id)


def _one(batch: ImportBatch, source: str) -> ImportResult:
    if batch.refused and not batch.results:
        raise batch.refused[0].error
    if len(batch.results) + len(batch.refused) > 1:
        ids = ", ".join(
            [r.record_id or "?" for r in batch.results] + [r.record_id for r in batch.refused]
        )
        raise ImportFailed(
            f"{source}: the {FORMAT_NAMES[batch.source_format]} holds "
            f"{len(batch.results) + len(batch.refused)} records ({ids}); say which one",
            code="IMPORT.E009",
            hint="pick one with record_id= (trialkit study import --id), or import them all",
        )
    return batch.results[0]


def import_record(path: str | Path, *, record_id: str | None = None) -> ImportResult:
    """The one draft study of a registry record file (``record_id`` picks one of several)."""
    raw, source = _read(path)
    return _one(import_bytes(raw, source=source, record_id=record_id), source)


def import_text(
    text: str, *, source: str = "<record>", record_id: str | None = None
) -> ImportResult:
    """The one draft study of a record's text, in whichever supported format it is."""
    return _one(import_bytes(text.encode("utf-8"), source=source, record_id=record_id), source)
