"""The study report on a simulated trial: its numbers are the analysis's, the CONSORT counts add
up, the PDF renders, Persian is right to left with Solar Hijri dates, and the CLI writes it as
a user. One simulation of the dose-cohort study (12 candidates) serves the module."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trialkit.analysis import analyse
from trialkit.cli import app
from trialkit.errors import ValidationFailed
from trialkit.report import collect, consort_diagram, render_html, write_report
from trialkit.report.data import ReportData
from trialkit.report.i18n import Text, catalogue
from trialkit.services import authenticate, tidy_extract
from trialkit.simulate import DEMO_PASSWORD, SimulationResult, simulate
from trialkit.store import Database, upgrade

PAE = "psoriasis-adipose-exosomes"
UCM = "psoriasis-ucmsc"
AS_OF = datetime(2026, 1, 5, 12)
REPORT = Path(__file__).parents[2] / "src" / "trialkit" / "report"


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("report") / "trial.sqlite3"
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db.engine)
    result = simulate(db, PAE, participants=12, seed=5)
    ctx = authenticate(db, "stat.moradi", DEMO_PASSWORD, AS_OF)
    try:
        yield db, ctx, result, collect(db, ctx, PAE), path
    finally:
        db.dispose()


def _flow_adds_up(data: ReportData, result: SimulationResult) -> None:
    flow = data.flow
    allocated = sum(a.allocated for a in flow.arms)
    assert flow.assessed == result.candidates
    assert flow.assessed == flow.excluded_total + flow.in_screening + allocated
    assert allocated == sum(result.enrolled.values())
    assert sum(n for r, n in flow.excluded.items() if r.startswith("not eligible")) == (
        result.screen_failed
    )
    for arm in flow.arms:
        assert arm.allocated == result.enrolled[arm.arm]
        assert arm.allocated == arm.received + arm.not_received
        assert arm.allocated == arm.completed + arm.ongoing + arm.withdrawn + arm.lost
        assert arm.analysed <= arm.allocated
    assert sum(a.completed for a in flow.arms) == result.completed
    assert sum(a.withdrawn for a in flow.arms) == result.withdrawn
    assert sum(a.lost for a in flow.arms) == result.lost


def test_the_consort_counts_add_up(trial: Any) -> None:
    _, _, result, data, _ = trial
    _flow_adds_up(data, result)
    svg = consort_diagram(data.flow, Text("en"))
    assert svg.startswith('<div class="consort"')
    assert "<rect" in svg  # the boxes are SVG, their labels HTML over them
    assert f"Assessed for eligibility (n = {result.candidates})" in svg
    for arm in data.flow.arms:
        assert f"Allocated to {arm.arm} (n = {arm.allocated})" in svg


def test_the_report_numbers_are_the_analysis(trial: Any) -> None:
    db, ctx, _, data, _ = trial
    extract = tidy_extract(db, ctx, PAE)
    specs = [ep for o in extract.study.outcomes for ep in o.endpoints]
    expected = analyse(specs, extract.data)
    assert [r.to_dict() for r in data.endpoints] == [r.to_dict() for r in expected]
    html = render_html(data)
    for r in expected:
        assert r.name in html
        for row in r.rows:
            for cell in row:
                if cell is not None:
                    assert f"<td>{cell}</td>" in html, (r.name, cell)
    # adverse events: 0 of N where an arm had none, the analysis's arm sizes
    for row in data.ae_terms:
        for arm, (k, _, _) in row.cells.items():
            assert f"{k} of {data.arm_n[arm]}" in html
    assert sum(sum(g.values()) for g in data.ae_by_grade.values()) == len(
        extract.data.adverse_events
    )
    assert data.audit_ok
    assert "Verified" in html
    assert html.count("<svg") >= 5  # CONSORT, recruitment, PASI, lesions, KM, dose selection
    # operating characteristics of the dose-selection rule, under the scenario's true rates
    oc = data.operating
    assert oc is not None
    assert oc.n == 4
    assert abs(sum(oc.result.pr_select.values()) - 1) < 1e-9
    assert "Operating characteristics of Dose selection at month 3" in html


def test_persian_is_right_to_left_with_solar_hijri_dates(trial: Any) -> None:
    _, _, _, data, _ = trial
    html = render_html(data, "fa")
    assert '<html lang="fa" dir="rtl">' in html
    assert "۱۴۰۴/۱۰/۱۵ (2026-01-05)" in html  # 2026-01-05 is 15 Dey 1404
    assert "گزارش مطالعه" in html


def test_every_report_message_has_its_persian_translation() -> None:
    used = set()
    for path in (*REPORT.glob("*.py"), *REPORT.glob("templates/*")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r'\bt\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', text):
            used.add("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))))
    used |= {"Allocation", "Follow-up", "Analysis"}  # the CONSORT stages, t(stage)
    missing = sorted(used - set(catalogue("fa")))
    assert not missing, f"report.po (fa) lacks {missing}"


def test_the_pdf_renders(trial: Any, tmp_path: Path) -> None:
    from matplotlib.image import imread

    _, _, _, data, _ = trial
    pdf = write_report(data, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    (page,) = tmp_path.glob("p*.png")
    pixels = imread(page)
    ink = (pixels[..., :3].mean(axis=2) < 0.9).mean()
    assert ink > 0.01, f"page 1 is blank ({ink:.4f} of its pixels inked)"


def test_a_report_is_html_or_pdf(trial: Any, tmp_path: Path) -> None:
    _, _, _, data, _ = trial
    with pytest.raises(ValidationFailed) as info:
        write_report(data, tmp_path / "report.docx")
    assert info.value.code == "REPORT.E001"


def test_the_cli_writes_the_report_as_a_user(trial: Any, tmp_path: Path) -> None:
    *_, path = trial
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        app,
        ["report", PAE, "--url", f"sqlite:///{path}", "--out", str(out), "--user", "stat.moradi"],
        env={"TRIALKIT_PASSWORD": DEMO_PASSWORD, "TRIALKIT_TOKEN": None},
    )
    assert result.exit_code == 0, result.output
    assert f"written to {out}" in " ".join(result.output.split())
    assert "CONSORT" in out.read_text(encoding="utf-8")


def test_the_report_on_postgresql(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("the module's trial is the SQLite one")
    db = Database.from_url(database_url)
    try:
        upgrade(db.engine)
        result = simulate(db, UCM, participants=2, seed=3)
        data = collect(db, authenticate(db, "stat.moradi", DEMO_PASSWORD, AS_OF), UCM)
        _flow_adds_up(data, result)
        assert data.audit_ok
        assert [v[0] for v in data.versions] == ["1.0"]
    finally:
        db.dispose()
