from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from trialkit.cli.analyse import register

VALUES = """participant,arm,visit,day,item,value
P1,low,W00,1,pasi,11.2
P1,low,W12,85,pasi,2.8
P2,low,W00,1,pasi,10
P2,low,W12,85,pasi,6
"""
AES = """participant,arm,term,grade,serious,related,onset_day
P1,low,rash,2,no,yes,10
"""
SPEC = """
- type: percent_improvement
  name: PASI response at week 12
  item: pasi
  baseline_visit: W00
  visit: W12
- type: adverse_event_incidence
  name: Adverse events
  by: [arm, related]
"""


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)

    @a.command()
    def other() -> None:  # a second command keeps "analyse" a subcommand
        pass

    return a


def files(tmp_path: Path, spec: str = SPEC) -> list[str]:
    (tmp_path / "v.csv").write_text(VALUES)
    (tmp_path / "ae.csv").write_text(AES)
    (tmp_path / "s.yaml").write_text(spec)
    return [
        "analyse",
        "PSO-1",
        "--data",
        str(tmp_path / "v.csv"),
        "--adverse-events",
        str(tmp_path / "ae.csv"),
        "--spec",
        str(tmp_path / "s.yaml"),
    ]


def test_tables(tmp_path: Path) -> None:
    out = CliRunner().invoke(app(), files(tmp_path))
    assert out.exit_code == 0, out.output
    assert "PASI response at week 12" in out.output
    assert "Clopper" in out.output


def test_json(tmp_path: Path) -> None:
    out = CliRunner().invoke(app(), [*files(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    rows = doc["endpoints"][0]["rows"]
    r75 = next(r for r in rows if r["measure"].startswith("pasi 75"))
    assert (r75["n"], r75["responders"]) == (2, 1)


def test_errors_without_traceback(tmp_path: Path) -> None:
    bad = CliRunner().invoke(app(), files(tmp_path, "- type: nonsense\n  name: x\n"))
    assert bad.exit_code == 1
    assert "ANALYSIS.E202" in bad.output
    assert "Traceback" not in bad.output
    args = files(tmp_path)
    nospec = CliRunner().invoke(app(), args[: args.index("--spec")])
    assert nospec.exit_code == 1
    assert "no study 'PSO-1'" in nospec.output
    missing = CliRunner().invoke(app(), [*args[:3], str(tmp_path / "none.csv"), *args[4:]])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output


def test_endpoints_come_from_the_study(tmp_path: Path) -> None:
    values = tmp_path / "ucmsc.csv"
    values.write_text(
        "participant,arm,visit,day,item,value\n"
        "U1,UCMSC,V_W0,1,pasi,11.2\n"
        "U1,UCMSC,FU12,141,pasi,2.8\n"
        "U2,UCMSC,V_W0,1,pasi,20\n"
        "U2,UCMSC,FU12,141,pasi,12\n"
    )
    ae = tmp_path / "ae.csv"
    ae.write_text(
        "participant,arm,term,grade,serious,related,onset_day\nU2,UCMSC,fever,1,no,yes,2\n"
    )
    out = CliRunner().invoke(
        app(),
        ["analyse", "NCT03745417", "--data", str(values), "--adverse-events", str(ae), "--json"],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["study"] == "psoriasis-ucmsc"
    names = [e["name"] for e in doc["endpoints"]]
    assert names[0] == "PASI improvement rate at 12 weeks after treatment"
    rows = doc["endpoints"][0]["rows"]
    r75 = next(r for r in rows if r["measure"].startswith("pasi 75"))
    assert (r75["n"], r75["responders"]) == (2, 1)  # 11.2 -> 2.8 is exactly 75 %
