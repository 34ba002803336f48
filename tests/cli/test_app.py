from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trialkit import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trialkit", *args], capture_output=True, text=True, check=False
    )


def test_version() -> None:
    out = run("version")
    assert out.returncode == 0
    assert out.stdout.strip() == __version__


def test_serve_without_a_secret_is_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRIALKIT_SECRET_KEY", raising=False)
    out = run("serve")
    assert out.returncode == 1
    assert out.stderr.startswith("error [WEB.E100]: TRIALKIT_SECRET_KEY is not set")
    assert "Traceback" not in out.stderr


def test_unknown_command_has_no_traceback() -> None:
    out = run("no-such-command")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr


def test_error_from_a_command_is_one_line_without_traceback() -> None:
    out = run("study", "show", "no-such-study")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error [DEF.E006]: no study 'no-such-study'")


def test_demo_runs(tmp_path: Path) -> None:
    out = run("demo", "--participants", "1", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    # each shipped study simulated and reported, in English and Persian, where it says
    reports = sorted(p.name for p in tmp_path.glob("*.html"))
    assert len(reports) == 6, reports
    for name in reports:
        assert str(tmp_path / name) in out.stdout
    assert out.stdout.count("verified") == 3
    lines = out.stdout.splitlines()
    assert lines[0] == "trialkit demo: the three shipped studies"
    # each study's whole-study check, with its definite verdict and counts
    verdicts = [line for line in lines if " (protocol " in line and "errors" in line]
    assert verdicts == [
        "ibd-placental-exosomes (protocol 1.0): valid, 0 errors, 0 warnings",
        "psoriasis-adipose-exosomes (protocol 1.0): valid, 0 errors, 3 warnings",
        "psoriasis-ucmsc (protocol 1.0): valid, 0 errors, 0 warnings",
    ]
    # the IBD calendar: day 90 after the last dose (day 21) is study day 111
    (fu90,) = [line for line in lines if "│ FU90 " in line]
    assert fu90.split("│")[1].strip() == "111"
