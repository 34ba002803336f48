from __future__ import annotations

import pytest

from trialkit.errors import ImportFailed
from trialkit.registry import SourceFormat, detect_format


def test_json_and_irct_are_told_apart() -> None:
    assert detect_format('\ufeff  {"protocolSection": {}}') is SourceFormat.CTGOV_V2
    assert detect_format(
        "\n\nClinical Trial Protocol\n\nIranian Registry of Clinical Trials\n"
    ) is (SourceFormat.IRCT_TEXT)


def test_other_text_names_its_first_line() -> None:
    with pytest.raises(ImportFailed, match=r"line 3: 'hello' starts neither"):
        detect_format("\n\nhello\nworld")
