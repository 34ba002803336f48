"""The fast read (shared layouts: the values of an instance taken out of its JSON in one step
per group, or by the layout's scanner straight out of the stored text, each writer's output
prepared once per layout) writes byte for byte what the
general read writes, on a seeded study (SQLite and PostgreSQL): the filled psoriasis study
(repeating groups, derived scores, a form not required, a correction) and seeded vital signs
at three more visits, some saved empty with a missing-data reason, one with a weight that
needs CSV quoting. The general read is the one every instance took before the fast read
(``_cells``); it is forced here by leaving the fast read no value type to accept."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.exports.conftest import CORRECTED, PAE
from tests.exports.test_records import reference
from tests.services.conftest import ELIGIBLE

from trialkit.exports import export
from trialkit.services import Context, consent, enrol, record_visit, register, save_form, screen
from trialkit.services import extract as extract_module
from trialkit.services.extract import open_extract
from trialkit.store import Database

#: the creation times in the headers (XPT: ``02DEC26:02:34:10``; Stata: ``<timestamp>``)
_STAMPS = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d|<timestamp>.*?</timestamp>", re.S)


@pytest.fixture
def seeded(db: Database, ctx: Context, filled: tuple[str, str]) -> tuple[str, ...]:
    """The filled study, a third participant whose consent was taken by someone whose name
    the CSV must quote, and vital signs at W1, W2 and W3 for the first two, drawn from a
    seeded generator."""
    quoted = register(db, ctx, PAE, "TEH").code  # as the screened fixture, but this name
    name = 'Dr. "Amini", TEH'
    consent(db, ctx, PAE, quoted, on=ctx.as_of.date(), form_version="2.1", obtained_by=name)
    for form_id, values in ELIGIBLE[PAE].items():
        save_form(db, ctx, PAE, quoted, visit="SCR", form_id=form_id, values=values)
    screen(db, ctx, PAE, quoted)
    record_visit(db, ctx, PAE, quoted, "SCR", ctx.as_of.date())
    enrol(db, ctx, PAE, quoted, arm="G50", allocation_override="carried over from paper records")
    draw = random.Random(16)
    for code in filled:
        for n, visit in enumerate(("W1", "W2", "W3"), start=1):
            at = Context.operator("dr.demo", datetime(2025, 3, 20, 9) + timedelta(days=7 * n))
            record_visit(db, at, PAE, code, visit, at.as_of.date())
            values = {
                "systolic_bp": str(draw.randint(95, 160)),
                "diastolic_bp": str(draw.randint(55, 99)),
                "heart_rate": str(draw.randint(50, 110)),
                "temperature": f"{draw.randint(360, 389) / 10:.1f}",
                "weight": f"{draw.randint(500, 1100) / 10:.1f}",
            }
            missing = None
            if draw.random() < 0.3:
                values["temperature"], missing = "", {"temperature": "not_done"}
            save_form(
                db, at, PAE, code, visit=visit, form_id="VITALS", values=values, missing=missing
            )
    return (*filled, quoted)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: _STAMPS.sub(b"", p.read_bytes()) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "xpt", "stata"])
def test_the_fast_read_writes_what_the_general_read_writes(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    with open_extract(db, ctx, PAE) as extract:
        shared = [r.layout.id for r in extract.records() if r.layout.shared and r.texts]
        general = [r for r in extract.records() if not r.layout.shared]
        assert extract._scanners  # and the shapes seen again were scanned, not decoded
    assert len(shared) > len(set(shared)) > 1  # layouts shared by several instances
    assert general  # and instances the fast read leaves to the general one
    fast = export(db, ctx, PAE, fmt, tmp_path / "fast")
    monkeypatch.setattr(extract_module, "_STR_ONLY", frozenset())  # no instance is fast
    with open_extract(db, ctx, PAE) as extract:
        assert not any(r.layout.shared and r.texts for r in extract.records())
    slow = export(db, ctx, PAE, fmt, tmp_path / "general")
    assert (fast.values, fast.participants, fast.notes) == (
        slow.values,
        slow.participants,
        slow.notes,
    )
    assert _files(tmp_path / "fast") == _files(tmp_path / "general")
    if fmt == "csv":  # the fast read's rows fell back to csv.writer for the quoted name
        assert '"Dr. ""Amini"", TEH"' in (tmp_path / "fast" / "long.csv").read_text("utf-8")


@pytest.mark.parametrize("as_of", [None, CORRECTED.replace(hour=0)])
def test_the_fast_read_gives_the_values_of_the_per_value_read(
    db: Database, ctx: Context, seeded: tuple[str, ...], as_of: datetime | None
) -> None:
    from tests.exports.test_records import _stored

    with open_extract(db, ctx, PAE, as_of=as_of) as extract:
        expected = [
            v for f in _stored(extract) for v in reference(extract, f[:6], f[6], f[7], f[8])
        ]
        records = list(extract.records())
        assert any(r.layout.shared and r.texts for r in records)
        assert [v for r in records for v in r.values()] == expected
        assert any(v.missing_reason == "not_done" for v in expected)
