"""A SAS transport (XPORT) version 5 file writer, with numpy.

The layout is SAS's technical note TS-140, "The Record Layout of a SAS Transport File": 80-byte
records; the library header, its real header (``SAS SAS SASLIB 6.06 bsd4.2`` and the creation
time) and the modification time; the member and descriptor headers, the member's real header
(its name) and its file label; the NAMESTR header, one 140-byte namestr per variable (run
together across records, the last record padded with spaces); the OBS header; then the
observations, each the variables' values one after the other (a number as an 8-byte IBM/360
double, a text as its bytes padded with spaces to the variable's width), run together across
records, the last padded with spaces.

The file is byte for byte what ReadStat writes (``pyreadstat.write_xport(...,
file_format_version=5)``) for the same values, names, labels, formats, table name and file
label, given the same creation time (``created``; ReadStat takes the local time, to the
second): the times as ``DDMMMYY:HH:MM:SS``; a missing number as SAS's ``.`` (0x2E followed by
seven zero bytes); numbers converted as TS-140's ``ieee2xpt`` does (exactly: the 53 bits of a
double fit the 56 of the IBM fraction; beyond the IBM range, the largest IBM number of that
sign; below it, and any subnormal or negative zero, zero); a text variable as wide as its
longest value in UTF-8 bytes (at least 1), a missing text as spaces (a text holds no NUL
character: C's strings end there); names, labels (cut to 40 bytes), the file label (40
bytes) and the formats' names (8) space-padded; the numbers right-aligned (``nfj`` 1); a
format ``NAME[w][.d]`` in the format fields (the informat blank). ``tests/exports/
test_xport.py`` compares whole files with pyreadstat's, on drawn frames and fixed ones.

The observations are written a chunk of rows at a time (:meth:`XportWriter.rows`): memory
holds one chunk's columns and its records, not the dataset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "XportVariable",
    "XportWriter",
    "ibm_doubles",
    "text_bytes",
    "text_width",
    "timestamp",
    "write_xport",
]

_RECORD = 80
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,7}")
_FORMAT = re.compile(r"(\$?[A-Za-z_][A-Za-z_0-9]*?)(\d*)(?:\.(\d*))?")
_MISSING = np.uint64(0x2E << 56)


@dataclass(frozen=True)
class XportVariable:
    """One variable: its name (at most 8 characters of ``[A-Za-z0-9_]``, not starting with a
    digit), label, whether it is numeric (else a text), and its format (``DATE9``, or none)."""

    name: str
    label: str | None = None
    numeric: bool = True
    format: str = ""


def timestamp(when: datetime) -> bytes:
    """A transport file's time (``02DEC26:14:37:08``), as ReadStat writes it (16 bytes)."""
    return (
        f"{when.day:02d}{_MONTHS[when.month - 1]}{when.year % 100:02d}:"
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
    ).encode("ascii")


def ibm_doubles(values: NDArray[np.float64]) -> NDArray[np.uint64]:
    """Numbers as IBM/360 doubles (as big-endian 64-bit words: ``.astype(">u8")`` gives the
    file's bytes), NaN as SAS's missing ``.``; TS-140's ``ieee2xpt``, vectorised."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    sign = (bits >> np.uint64(63)) << np.uint64(63)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023
    fraction = (bits & np.uint64(0xFFFFFFFFFFFFF)) | np.uint64(1 << 52)
    shifted = fraction << (exponent & 3).astype(np.uint64)
    hexponent = ((exponent >> 2) + 65).clip(0, 127).astype(np.uint64) << np.uint64(56)
    out = sign | hexponent | shifted
    out[exponent < -260] = 0  # too small for IBM (zero, subnormals): zero, as ieee2xpt
    over = exponent > 248  # too large (and infinities): the largest IBM number of the sign
    out[over] = sign[over] | np.uint64(0x7FFFFFFFFFFFFFFF)
    out[bits == 0] = 0
    out[np.isnan(values)] = _MISSING
    return cast("NDArray[np.uint64]", out)


def text_bytes(texts: Sequence[str | None]) -> NDArray[np.bytes_]:
    """Texts as UTF-8 bytes (a numpy ``S`` array; None as empty): ASCII texts in one numpy
    call, others each encoded."""
    cells = ["" if t is None else t for t in texts] if None in texts else texts
    try:
        out = np.array(cells, dtype="S")
    except UnicodeEncodeError:
        out = np.array([cast("str", t).encode("utf-8") for t in cells], dtype="S")
    if out.dtype.itemsize == 0 or len(out) == 0:
        return np.zeros(len(cells), dtype="S1")
    return out


def text_width(column: NDArray[Any]) -> int:
    """A text column's width as ReadStat gives it: its longest value's bytes, at least 1."""
    if len(column) == 0:
        return 1
    return max(1, int(np.strings.str_len(column).max()))


def _header(name: str, *numbers: int) -> bytes:
    nums = "".join(f"{n:05d}" for n in (*numbers, 0, 0, 0, 0, 0, 0)[:6])
    return f"HEADER RECORD*******{name:<8}HEADER RECORD!!!!!!!{nums}".encode("ascii")


def _pad(data: bytes, size: int) -> bytes:
    return data[:size].ljust(size, b" ")


def _cut(text: str | None) -> bytes:
    """A text as C's ``copypad`` reads it: its UTF-8 bytes up to the first NUL."""
    return (text or "").encode("utf-8").split(b"\0", 1)[0]


def _format(text: str) -> tuple[bytes, int, int]:
    match = _FORMAT.fullmatch(text)
    if match is None:
        raise ValueError(f"not a SAS format: {text!r}")
    name, width, decimals = match.groups()
    return name.upper().encode("ascii"), int(width or 0), int(decimals or 0)


class XportWriter:
    """A transport v5 file written to ``fh``: the headers and namestrs when made, then the
    observations a chunk at a time (:meth:`rows`), the last record padded by :meth:`close`.
    ``widths`` gives each text variable's width in bytes (ignored for numbers: 8); a text
    longer than its width is refused (ReadStat refuses it too)."""

    def __init__(
        self,
        fh: BinaryIO,
        variables: Sequence[XportVariable],
        widths: Sequence[int],
        *,
        name: str = "",
        label: str = "",
        created: datetime | None = None,
    ) -> None:
        if name and not _NAME.fullmatch(name):
            raise ValueError(f"not a SAS v5 dataset name: {name!r}")
        for v in variables:
            if not _NAME.fullmatch(v.name) or v.name.upper() in ("_N_", "_ALL_"):
                raise ValueError(f"not a SAS v5 variable name: {v.name!r}")
        self._fh = fh
        self._variables = list(variables)
        self._widths = [
            8 if v.numeric else max(1, w) for v, w in zip(variables, widths, strict=True)
        ]
        self._offsets = [sum(self._widths[:n]) for n in range(len(self._widths))]
        self._row = sum(self._widths)
        self._written = 0
        when = timestamp(created or datetime.now())
        blank = b" " * 24
        records = [
            _header("LIBRARY"),
            b"SAS     SAS     SASLIB  6.06    bsd4.2  " + blank + when,
            when,
            _header("MEMBER", 0, 0, 0, 160, 0, 140),
            _header("DSCRPTR"),
            b"SAS     " + _pad((name or "DATASET").encode("ascii"), 8) + b"SASDATA 6.06    bsd4.2  "
            + blank + when,
            when + b" " * 16 + _pad(_cut(label), 40) + b" " * 8,
            _header("NAMESTR", 0, len(self._variables)),
        ]  # fmt: skip
        head = b"".join(_pad(r, _RECORD) for r in records)
        namestrs = b"".join(self._namestr(n) for n in range(len(self._variables)))
        obs = _pad(_header("OBS"), _RECORD)
        fh.write(head + namestrs + b" " * (-len(namestrs) % _RECORD) + obs)

    def _namestr(self, n: int) -> bytes:
        v = self._variables[n]
        form, width, decimals = _format(v.format) if v.format else (b"", 0, 0)
        big = ">u2"
        return b"".join(
            [
                np.array([1 if v.numeric else 2, 0, self._widths[n], n + 1], dtype=big).tobytes(),
                _pad(v.name.encode("ascii"), 8),
                _pad(_cut(v.label), 40),
                _pad(form, 8),
                np.array([width, decimals, 1 if v.numeric else 0], dtype=big).tobytes(),
                b"\0\0",
                b" " * 8,  # no informat (pyreadstat's ReadStat writes its informat here)
                b"\0" * 4,
                np.array([self._offsets[n]], dtype=">u4").tobytes(),
                b"\0" * 52,
            ]
        )  # fmt: skip

    def rows(self, columns: Sequence[NDArray[Any]]) -> None:
        """Write a chunk of observations: one array per variable, in order, of one length
        (numbers float64, NaN missing; texts a numpy ``S`` array of UTF-8 bytes, see
        :func:`text_bytes`)."""
        count = len(columns[0]) if columns else 0
        if not count:
            return
        buf = np.empty((count, self._row), dtype=np.uint8)
        for v, column, at, width in zip(
            self._variables, columns, self._offsets, self._widths, strict=True
        ):
            if len(column) != count:
                raise ValueError("the columns of a chunk differ in length")
            if v.numeric:
                buf[:, at : at + 8] = (
                    ibm_doubles(column).astype(">u8").view(np.uint8).reshape(count, 8)
                )
                continue
            cells = np.asarray(column, dtype="S")
            if cells.dtype.itemsize > width and text_width(cells) > width:
                raise ValueError(f"a value of {v.name} is longer than its {width} bytes")
            cells = cells.astype(f"S{width}")
            part = cells.view(np.uint8).reshape(count, width)
            zero = part == 0
            if zero.any():  # the padding (and anything after a NUL, as C's strings end there)
                zero = np.logical_or.accumulate(zero, axis=1)
                part = np.where(zero, np.uint8(0x20), part)
            buf[:, at : at + width] = part
        data = buf.tobytes()
        self._fh.write(data)
        self._written += len(data)

    def close(self) -> None:
        """Pad the last record with spaces (the file is then whole; ``fh`` stays open)."""
        self._fh.write(b" " * (-self._written % _RECORD))
        self._written = 0


def write_xport(
    path: Path,
    variables: Sequence[XportVariable],
    columns: Sequence[Any],
    *,
    name: str = "",
    label: str = "",
    created: datetime | None = None,
) -> None:
    """Write one dataset as a transport v5 file: each variable's values (numbers as floats,
    NaN or None missing; texts as ``str``, None missing, or a numpy ``S`` array)."""
    typed: list[NDArray[Any]] = []
    for v, column in zip(variables, columns, strict=True):
        if v.numeric:
            typed.append(
                np.array([np.nan if x is None else x for x in column], dtype=np.float64)
                if not isinstance(column, np.ndarray)
                else column.astype(np.float64)
            )
        elif isinstance(column, np.ndarray) and column.dtype.kind == "S":
            typed.append(column)
        else:
            typed.append(text_bytes(list(column)))
    widths = [8 if v.numeric else text_width(c) for v, c in zip(variables, typed, strict=True)]
    with path.open("wb") as fh:
        writer = XportWriter(fh, variables, widths, name=name, label=label, created=created)
        writer.rows(typed)
        writer.close()
