"""The command line starts fast: light commands import no heavy library (checked in a fresh
interpreter, as a user runs them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("scipy", "statsmodels", "pandas", "sqlalchemy", "numpy", "duckdb", "alembic", "argon2")

PROBE = """
import json, sys
from trialkit.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["version"],
        ["score", "pasi", '{"head_erythema": 1}'],
        ["score", "--list"],
        ["study", "check", "psoriasis-ucmsc"],
        ["study", "--help"],
        ["screen", "psoriasis-ucmsc", '{"age": 40}'],
    ],
    ids=lambda a: " ".join(a)[:30],
)
def test_light_commands_import_no_heavy_library(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=repr(HEAVY)), json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert loaded == [], f"trialkit {' '.join(args)} imported {loaded}"


def test_a_database_command_still_loads_what_it_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=repr(HEAVY)), json.dumps(["db", "head"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "sqlalchemy" in json.loads(done.stderr.strip().splitlines()[-1])
