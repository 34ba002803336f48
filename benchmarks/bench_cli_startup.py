"""Start-up time of the ``trialkit`` command against a bare Typer application, in the same run.

Run: PYTHONPATH=src python benchmarks/bench_cli_startup.py [--small]
Each command runs as a fresh process (``python -m trialkit ...``), as a user runs it; the
baseline is a one-command Typer application started the same way. The median of the runs is
reported with its ratio to the baseline (goal: within 3x). ``--small`` (or
``TRIALKIT_BENCH_SMALL=1``) runs the baseline, ``version`` and ``score`` once, for the test
suite.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL = "--small" in sys.argv or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
RUNS = 1 if SMALL else 15

BARE = '''
import typer

app = typer.Typer(add_completion=False)


@app.command()
def version() -> None:
    """Print a version."""
    typer.echo("0.0.0")


@app.command()
def other() -> None:
    """A second command, so that the application is a group as trialkit is."""


app()
'''

PASI = {
    f"{region}_{part}": value
    for region in ("head", "upper_limbs", "trunk", "lower_limbs")
    for part, value in (("erythema", 2), ("induration", 3), ("desquamation", 1))
} | {f"{region}_area_percent": "35.5" for region in ("head", "upper_limbs", "trunk", "lower_limbs")}


def median_seconds(command: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def main() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE, encoding="utf-8")
        cases = {
            "bare Typer app (baseline)": [py, str(bare), "version"],
            "python -c pass": [py, "-c", "pass"],
            "trialkit version": [py, "-m", "trialkit", "version"],
            "trialkit --help": [py, "-m", "trialkit", "--help"],
            "trialkit score pasi ...": [py, "-m", "trialkit", "score", "pasi", json.dumps(PASI)],
            "trialkit study check UCM": [py, "-m", "trialkit", "study", "check", "NCT03745417"],
        }
        if SMALL:
            kept = ("bare", "version", "score")
            cases = {k: v for k, v in cases.items() if any(w in k for w in kept)}
        results = {name: median_seconds(cmd, env) for name, cmd in cases.items()}
    base = results["bare Typer app (baseline)"]
    print(f"CLI start-up, median of {RUNS} runs each, fresh processes (goal: within 3x)")
    print(f"{'command':<30}{'seconds':>9}{'x baseline':>12}")
    for name, seconds in results.items():
        print(f"{name:<30}{seconds:>9.3f}{seconds / base:>12.2f}")


if __name__ == "__main__":
    main()
