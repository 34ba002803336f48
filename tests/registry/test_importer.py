from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trialkit.errors import ImportFailed, NotFound
from trialkit.registry import SourceFormat, import_record


def test_imports_both_formats(psoriasis_path: Path, ctgov_path: Callable[[str], Path]) -> None:
    assert import_record(psoriasis_path).source_format is SourceFormat.IRCT_TEXT
    result = import_record(ctgov_path("NCT02210780"))
    assert result.source_format is SourceFormat.CTGOV_V2


def test_truncated_json_names_line_and_column(
    ctgov_path: Callable[[str], Path], tmp_path: Path
) -> None:
    text = ctgov_path("NCT02210780").read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(
        ImportFailed, match=r"cut.json: line \d+, column \d+: not valid JSON"
    ) as info:
        import_record(cut)
    assert info.value.code == "IMPORT.E002"


def test_garbage_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"protocolSection": {,,}', encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"line 1, column 22: not valid JSON"):
        import_record(bad)


def test_missing_file_and_binary_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        import_record(tmp_path / "nope.txt")
    binary = tmp_path / "x.txt"
    binary.write_bytes(b"Iranian Registry of Clinical Trials\n\xff\xfe")
    with pytest.raises(ImportFailed, match=r"line 2: not UTF-8 text \(byte 0xff\)"):
        import_record(binary)
