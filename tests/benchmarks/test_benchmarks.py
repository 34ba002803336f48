"""Every benchmark runs in its small mode, so that a broken benchmark fails the build.

The benchmarks' figures are never asserted (timings are not tests); only that each script runs
to the end on today's code and inputs. ``make bench`` runs the full sizes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


def test_there_are_benchmarks() -> None:
    assert len(BENCHMARKS) >= 5


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_runs_in_its_small_mode(script: Path) -> None:
    env = dict(os.environ)
    env["TRIALKIT_BENCH_SMALL"] = "1"
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip(), "a benchmark prints its figures"
    assert "Traceback" not in done.stderr
