"""The records tour runs end to end on a fresh SQLite database."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from trialkit.simulate.demo import demo_records


def test_demo_records(tmp_path: Path) -> None:
    out = io.StringIO()
    demo_records(Console(file=out, width=200), tmp_path)
    text = out.getvalue()
    assert "160 ug in 0.5 mL" in text
    assert "UCM-TEH-001" in text
    assert "intact=True" in text
    assert "user n.rahimi (Nurse N. Rahimi): coordinator at site TEH" in text
    assert text.count("allocated to G50") == 4
    assert "not allocated [ALLOC.E042]: cohort G50 is full: its review is due on 2025-03-21" in text
    assert "stopping rule S1 fired on 2025-03-22 11:00" in text
    assert "paused arm(s) G50" in text
    assert "Traceback" not in text
