"""Tell which registry format a record is in, from its content, and parse it safely.

The format is read from what the file holds, never from its name or first character: JSON is
parsed and recognised by its keys (``protocolSection``, ``studies``, ``FullStudiesResponse``,
ICTRP field names), XML by its root element (``clinical_study``, ``Trials_downloaded_from_ICTRP``,
``trials``), and an IRCT record page export by its wording. XML is parsed with ``defusedxml``:
entity declarations (the "billion laughs"), external entities and external DTDs (XXE) are refused
with a coded error, never expanded or fetched.

A file that is none of these is refused with ``IMPORT.E001``, saying what it was recognised as
and which formats are read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from trialkit.errors import ImportFailed
from trialkit.registry.result import SourceFormat

__all__ = ["MAX_BYTES", "READ_FORMATS", "Sniffed", "detect_format", "local_name", "sniff"]

#: The largest record file read (a 95-trial ICTRP export is about 1 MB; the biggest single
#: ClinicalTrials.gov record with results about 3 MB).
MAX_BYTES = 32 * 1024 * 1024

#: The formats ``trialkit study import`` reads, as messages list them.
READ_FORMATS = (
    'ClinicalTrials.gov API v2 JSON (one study, or a search response {"studies": [...]}), '
    "ClinicalTrials.gov classic API v1 JSON (FullStudiesResponse), ClinicalTrials.gov legacy "
    "clinical_study XML, WHO ICTRP portal XML export, WHO ICTRP data-provider XML "
    "(<trials><trial><main>, also IRCT's XML export), ICTRP-style study JSON, and the text "
    "export of an IRCT record page"
)
_HINT = "give the record in one of the formats read; see docs/registry-import.md"

_ICTRP_KEYS = frozenset(
    {
        "trialid",
        "trial_id",
        "sd_sid",
        "public_title",
        "scientific_title",
        "inclusion_criteria",
        "target_size",
        "primary_sponsor",
        "date_registration",
    }
)


@dataclass(frozen=True)
class Sniffed:
    """A record file's format and its parsed content: JSON data, an XML element or text."""

    format: SourceFormat
    payload: Any


def local_name(tag: str) -> str:
    """An XML tag without its namespace (``{ns}trial`` -> ``trial``)."""
    return tag.rsplit("}", 1)[-1]


def _refuse(source: str, line: int | None, what: str, hint: str = _HINT) -> ImportFailed:
    where = f"{source}: " + (f"line {line}: " if line is not None else "")
    return ImportFailed(
        f"{where}{what}; trialkit reads {READ_FORMATS}", code="IMPORT.E001", hint=hint
    )


def _decode(raw: bytes, source: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                f"{source}: not UTF-16 text although it starts with a UTF-16 byte-order mark "
                f"(byte {exc.start})",
                code="IMPORT.E004",
                hint="save the record as UTF-8",
            ) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw[:offset].count(b"\n") + 1
        raise ImportFailed(
            f"{source}: line {line}: not UTF-8 text (byte {raw[offset]:#04x})",
            code="IMPORT.E004",
            hint="save the record as UTF-8 (an XML file may instead declare its encoding)",
        ) from exc


_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)


def _parse_xml(raw: bytes, source: str) -> Element:
    if _HTML.match(raw[:4096]):
        raise _refuse(
            source,
            1,
            "this is a web page (HTML), not a registry record",
            "download the record's export (XML or JSON) instead of saving the page",
        )
    try:
        return fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ImportFailed(
            f"{source}: the XML declares entities or refers to external ones ({exc}); they are "
            "refused so that a record cannot expand without bound or read other files",
            code="IMPORT.E006",
            hint="registry exports declare no entities: download the record again",
        ) from exc
    except ParseError as exc:
        line, col = exc.position
        raise ImportFailed(
            f"{source}: line {line}, column {col + 1}: not well-formed XML ({exc.msg}); the "
            "file looks truncated or edited",
            code="IMPORT.E002",
            hint="download the record again, unchanged",
        ) from exc
    except (ValueError, LookupError) as exc:  # an encoding Python does not know
        raise ImportFailed(
            f"{source}: the XML cannot be decoded ({exc})",
            code="IMPORT.E004",
            hint="save the record as UTF-8 and declare encoding='UTF-8'",
        ) from exc


def _xml_format(root: Element, source: str) -> SourceFormat:
    tag = local_name(root.tag)
    if tag == "clinical_study":
        return SourceFormat.CTGOV_XML
    if tag in ("Trials_downloaded_from_ICTRP", "Trial"):
        return SourceFormat.ICTRP_XML
    if tag in ("trials", "trial"):
        trials = [root] if tag == "trial" else [t for t in root if local_name(t.tag) == "trial"]
        for trial in trials:
            for child in trial:
                if local_name(child.tag) != "main":
                    continue
                for leaf in child:
                    name, value = local_name(leaf.tag), (leaf.text or "").strip().upper()
                    if (name == "trial_id" and value.startswith("IRCT")) or (
                        name == "reg_name" and value == "IRCT"
                    ):
                        return SourceFormat.IRCT_XML
        return SourceFormat.ICTRP_PROVIDER_XML
    raise _refuse(
        source,
        None,
        f"XML whose root element is <{tag}>, which is no registry format read "
        "(expected <clinical_study>, <Trials_downloaded_from_ICTRP> or <trials>)",
    )


def _is_ictrp(obj: object) -> bool:
    return isinstance(obj, dict) and len(_ICTRP_KEYS & {str(k).lower() for k in obj}) >= 2


def _json_format(data: object, source: str) -> SourceFormat:
    if isinstance(data, list):
        first = next((x for x in data if isinstance(x, dict)), None)
        if first is not None and "protocolSection" in first:
            return SourceFormat.CTGOV_V2_SEARCH
        if first is not None and _is_ictrp(first):
            return SourceFormat.ICTRP_JSON
        if first is not None and ("Study" in first or "ProtocolSection" in first):
            return SourceFormat.CTGOV_V1
        raise _refuse(
            source,
            1,
            f"a JSON list of {len(data)} element(s) that are not registry records",
        )
    if not isinstance(data, dict):
        raise _refuse(source, 1, f"JSON holding a {type(data).__name__}, not a record")
    if "protocolSection" in data:
        return SourceFormat.CTGOV_V2
    if isinstance(data.get("studies"), list):
        return SourceFormat.CTGOV_V2_SEARCH
    if (
        "FullStudiesResponse" in data
        or "FullStudies" in data
        or "ProtocolSection" in data
        or isinstance(data.get("Study"), dict)
    ):
        return SourceFormat.CTGOV_V1
    if "StudyFieldsResponse" in data:
        raise _refuse(
            source,
            None,
            "a ClinicalTrials.gov classic API v1 study_fields response: it holds selected "
            "fields only, not whole studies",
            "download the full studies (API v2 /api/v2/studies, or v1 full_studies)",
        )
    if _is_ictrp(data):
        return SourceFormat.ICTRP_JSON
    keys = ", ".join(repr(k) for k in list(data)[:8]) or "none"
    raise _refuse(
        source,
        None,
        f"JSON, but no registry record trialkit knows (its top-level keys: {keys})",
    )


def sniff(raw: bytes, *, source: str = "<record>") -> Sniffed:
    """The format and parsed content of a record file's bytes.

    Raises :class:`~trialkit.errors.ImportFailed` with a stable code when the bytes are too
    large, not text, not well-formed, unsafe XML, or no format that is read.
    """
    if len(raw) > MAX_BYTES:
        raise ImportFailed(
            f"{source}: {len(raw):,} bytes is larger than a registry record "
            f"({MAX_BYTES:,} bytes at most)",
            code="IMPORT.E007",
            hint="import one record, or a search page of a few studies, at a time",
        )
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(
            source,
            raw[: raw.index(b"\x00")].count(b"\n") + 1,
            "a binary file (it holds NUL bytes), not a registry record",
        )
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        root = _parse_xml(raw, source)
        return Sniffed(_xml_format(root, source), root)
    text = _decode(raw, source)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFailed(
                f"{source}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); "
                "the file looks truncated or edited",
                code="IMPORT.E002",
                hint="download the record again, unchanged",
            ) from exc
        except RecursionError as exc:
            raise ImportFailed(
                f"{source}: the JSON is nested too deeply to be a registry record",
                code="IMPORT.E002",
                hint="download the record again, unchanged",
            ) from exc
        return Sniffed(_json_format(data, source), data)
    head_text = stripped[:2000]
    if "Iranian Registry of Clinical Trials" in head_text or "IRCT registration number" in text:
        return Sniffed(SourceFormat.IRCT_TEXT, text)
    first = stripped.splitlines()[0][:80] if stripped else "(nothing)"
    line = text[: len(text) - len(stripped)].count("\n") + 1
    nct = re.search(r"\bNCT\d{8}\b", text)
    if nct:
        raise _refuse(
            source,
            line,
            f"text beginning {first!r} that names ClinicalTrials.gov record {nct.group(0)}, "
            "but is not one of its exports (a saved or copied web page)",
            f"download the record itself: clinicaltrials.gov/api/v2/studies/{nct.group(0)}",
        )
    irct = re.search(r"\bIRCT\d+N\d+\b", text)
    if irct:
        raise _refuse(
            source,
            line,
            f"text beginning {first!r} that names IRCT record {irct.group(0)}, but is not the "
            "record page's text export (no 'IRCT registration number' field)",
            "export the record page of irct.ir as text, or its XML (irct.ir/trial/<n>/xml)",
        )
    raise _refuse(
        source,
        line,
        f"{first!r} starts neither JSON, nor XML, nor an IRCT record page export (which "
        "names the 'Iranian Registry of Clinical Trials' and has an 'IRCT registration number')",
    )


def detect_format(text: str | bytes) -> SourceFormat:
    """The format of a record's text or bytes (see :func:`sniff`)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return sniff(raw).format
