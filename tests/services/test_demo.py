"""The records tour runs end to end on a fresh SQLite database."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from trialkit.services.demo import demo_records


def test_demo_records(tmp_path: Path) -> None:
    out = io.StringIO()
    demo_records(Console(file=out, width=200), tmp_path)
    text = out.getvalue()
    assert "160 ug in 0.5 mL" in text
    assert "UCM-TEH-001" in text
    assert "intact=True" in text
    assert "Traceback" not in text
