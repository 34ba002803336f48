"""The registry records in shared/: skipped locally when missing, a failure in CI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def test_missing_shared_record_skips_locally(
    require_shared: Callable[[Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="shared records folder must sit beside"):
        require_shared(tmp_path / "shared" / "seeds" / "none.txt")


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_missing_shared_record_fails_in_ci(
    require_shared: Callable[[Path], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true: a missing shared folder fails"):
        require_shared(tmp_path / "shared" / "seeds" / "none.txt")


def test_present_record_is_returned(
    require_shared: Callable[[Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    record = tmp_path / "record.txt"
    record.write_text("x")
    assert require_shared(record) == record
