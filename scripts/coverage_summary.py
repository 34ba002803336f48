"""Print the line and branch coverage of the last `coverage` run and the modules below a bar.

Used by `make test` after `coverage combine`: ``python scripts/coverage_summary.py [BAR]``
(default 90). It reads coverage.py's JSON report, so it needs no data of its own. The list is
for reading, not a gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def _pct(covered: int, total: int) -> str:
    return "n/a" if total == 0 else f"{100 * covered / total:.1f} %"


def main(argv: list[str]) -> int:
    bar = float(argv[1]) if len(argv) > 1 else 90.0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(out)], check=True)
        report = json.loads(out.read_text(encoding="utf-8"))
    totals = report["totals"]
    print(
        f"coverage: lines {_pct(totals['covered_lines'], totals['num_statements'])} "
        f"({totals['covered_lines']} of {totals['num_statements']}), branches "
        f"{_pct(totals['covered_branches'], totals['num_branches'])} "
        f"({totals['covered_branches']} of {totals['num_branches']})"
    )
    below = []
    for name, data in sorted(report["files"].items()):
        s = data["summary"]
        if s["num_statements"] == 0:
            continue
        lines = 100 * s["covered_lines"] / s["num_statements"]
        branches = 100 * s["covered_branches"] / s["num_branches"] if s["num_branches"] else 100.0
        if min(lines, branches) < bar:
            below.append((min(lines, branches), name, lines, branches, s["missing_lines"]))
    if not below:
        print(f"every module is at or above {bar:g} % (lines and branches)")
        return 0
    print(f"modules below {bar:g} % (lines or branches), lowest first:")
    for _, name, lines, branches, missing in sorted(below):
        print(
            f"  {lines:5.1f} % lines  {branches:5.1f} % branches  {missing:4d} lines missed  {name}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
