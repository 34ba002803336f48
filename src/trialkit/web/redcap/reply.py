"""REDCap's request and reply conventions: list parameters, JSON and CSV tables, errors.

A list parameter comes as ``fields[0]=a&fields[1]=b`` (PyCap), as ``fields=a,b`` (REDCapR) or
as ``fields[]=a``; all three are read. Tables are JSON arrays of objects whose values are all
strings, or CSV with a header row. An error is HTTP 400 in the format asked for (``returnFormat``,
else ``format``): ``{"error": "..."}`` in JSON, ``ERROR: ...`` as text for CSV (what PyCap looks
for). Only JSON and CSV are served.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import FormData

__all__ = [
    "FORMATS",
    "RedcapRefused",
    "error_format",
    "error_reply",
    "format_of",
    "listed",
    "stream_table",
    "table",
    "text",
]

FORMATS = ("json", "csv")
_INDEXED = re.compile(r"^(?P<key>[A-Za-z_]+)\[(?P<n>\d*)\]$")
_CHUNK = 256  # rows per written chunk of a streamed table
_LIST_CHUNK = 2048  # rows per written chunk of a record export (each chunk is one thread hop)


class RedcapRefused(Exception):
    """A refused REDCap request: the message says what was wrong and how to fix it."""

    def __init__(
        self, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}


def format_of(form: FormData | Mapping[str, str], key: str = "format") -> str:
    """The format asked for (``json`` when not given); refuses xml and anything else."""
    fmt = str(form.get(key) or "json").strip().lower()
    if fmt not in FORMATS:
        raise RedcapRefused(
            f"{key} {fmt!r} is not served here; ask for {key}=json or {key}=csv (xml is not "
            "supported)"
        )
    return fmt


def error_format(form: FormData) -> str:
    """The format an error is given in: ``returnFormat``, else ``format``; JSON otherwise."""
    for key in ("returnFormat", "format"):
        fmt = str(form.get(key) or "").strip().lower()
        if fmt in FORMATS:
            return fmt
    return "json"


def listed(form: FormData, key: str) -> list[str]:
    """The values of list parameter ``key`` in every shape clients send, in order, once each."""
    indexed: list[tuple[int, str]] = []
    plain: list[str] = []
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        m = _INDEXED.match(name)
        if m and m["key"] == key:
            indexed.append((int(m["n"]) if m["n"] else len(indexed), value))
        elif name == key:
            plain.extend(value.split(","))
    out: list[str] = []
    for v in [v for _, v in sorted(indexed, key=lambda p: p[0])] + plain:
        v = v.strip()
        if v and v not in out:
            out.append(v)
    return out


def _chunks(rows: Iterable[Mapping[str, str]], columns: Sequence[str], fmt: str) -> Iterator[str]:
    blanks = [""] * len(columns)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for n, row in enumerate(rows, start=1):
            writer.writerow(list(map(row.get, columns, blanks)))
            if n % _CHUNK == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
        return
    yield "["
    first = True
    part: list[str] = []
    for row in rows:
        cells = dict(zip(columns, map(row.get, columns, blanks), strict=True))
        part.append(("" if first else ",") + json.dumps(cells))
        first = False
        if len(part) >= _CHUNK:
            yield "".join(part)
            part = []
    yield "".join(part) + "]"


def _list_chunks(rows: Iterable[list[str]], columns: list[str], fmt: str) -> Iterator[str]:
    """Rows given as lists in ``columns`` order, written ``_LIST_CHUNK`` rows at a time."""
    part: list[list[str]] = []
    add = part.append
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            add(row)
            if len(part) >= _LIST_CHUNK:
                writer.writerows(part)
                part.clear()
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        writer.writerows(part)
        yield buf.getvalue()
        return
    dumps = json.JSONEncoder(ensure_ascii=True).encode
    first = True
    for row in rows:
        add(row)
        if len(part) >= _LIST_CHUNK:
            text = ",".join([dumps(dict(zip(columns, r, strict=True))) for r in part])
            yield ("[" if first else ",") + text
            first = False
            part.clear()
    text = ",".join([dumps(dict(zip(columns, r, strict=True))) for r in part])
    yield ("[" if first else ("," if text else "")) + text + "]"


def stream_table(rows: Iterable[list[str]], columns: list[str], fmt: str) -> Response:
    """Rows as lists (a record export's), streamed as a JSON array or a CSV table."""
    return StreamingResponse(_list_chunks(rows, columns, fmt), media_type=_media(fmt))


def _media(fmt: str) -> str:
    return "text/csv; charset=utf-8" if fmt == "csv" else "application/json"


def table(
    rows: Iterable[Mapping[str, str]], columns: Sequence[str], fmt: str, *, stream: bool = False
) -> Response:
    """Rows as a JSON array or a CSV table (streamed when ``stream``: for record exports)."""
    if stream:
        return StreamingResponse(_chunks(rows, columns, fmt), media_type=_media(fmt))
    return Response("".join(_chunks(rows, columns, fmt)), media_type=_media(fmt))


def text(body: str) -> Response:
    return Response(body, media_type="text/plain; charset=utf-8")


def error_reply(
    message: str, fmt: str, status: int = 400, headers: dict[str, str] | None = None
) -> Response:
    body = f"ERROR: {message}" if fmt == "csv" else json.dumps({"error": message})
    return Response(body, status_code=status, media_type=_media(fmt), headers=headers)
