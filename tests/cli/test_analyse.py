from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
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
    assert "PASI response at week 12: per participant" in out.output
    assert "median" in out.output  # the measure column may wrap "median % improvement"


def test_json(tmp_path: Path) -> None:
    out = CliRunner().invoke(app(), [*files(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    rows = doc["endpoints"][0]["rows"]
    r75 = next(r for r in rows if r["measure"].startswith("pasi 75"))
    assert (r75["n"], r75["responders"]) == (2, 1)
    # full precision in JSON: R 4.2.2 binom.test(1, 2)$conf.int = 0.0125791170934251,
    # 0.987420882906575 (the table shows 1.26 and 98.74)
    assert r75["lower %"] == pytest.approx(1.25791170934251, rel=1e-12)
    assert r75["upper %"] == pytest.approx(98.7420882906575, rel=1e-12)


def test_table_rounds_json_does_not(tmp_path: Path) -> None:
    out = CliRunner().invoke(app(), files(tmp_path))
    assert "98.74" in out.output
    assert "98.742" not in out.output


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


def test_an_item_without_data_says_so_and_the_rest_is_computed(tmp_path: Path) -> None:
    """The IBD study's butyrate is optional and often not captured: that endpoint says "no data"
    and why, in the tables and in the JSON, and every other endpoint is still computed."""
    spec = (
        SPEC
        + "- {type: change_from_baseline, name: Butyrate change, item: butyrate,"
        + " baseline_visit: W00, visits: [W12]}\n"
    )
    out = CliRunner().invoke(app(), [*files(tmp_path, spec), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    pasi, aes, butyrate = doc["endpoints"]
    assert (pasi["status"], aes["status"]) == ("computed", "computed")
    assert butyrate["status"] == "no data"
    assert "no value of item 'butyrate' was captured" in butyrate["reason"]
    assert butyrate["rows"] == []
    text = CliRunner().invoke(app(), files(tmp_path, spec))
    assert text.exit_code == 0, text.output
    assert "Butyrate change (change_from_baseline): no data: no value of item" in " ".join(
        text.output.split()
    )
    assert "PASI response at week 12" in text.output


# --- --db: the trial-records database ------------------------------------------------------

PAE = "psoriasis-adipose-exosomes"


def _pasi(trunk: tuple[int, int, int, int]) -> dict[str, str]:
    out = {
        f"{r}_{k}": "0"
        for r in ("head", "upper_limbs", "lower_limbs")
        for k in ("erythema", "induration", "desquamation", "area_percent")
    }
    e, i, d, a = trunk
    return out | {
        "trunk_erythema": str(e),
        "trunk_induration": str(i),
        "trunk_desquamation": str(d),
        "trunk_area_percent": str(a),
    }


STAT_PASSWORD = "statistician passphrase"
AS_STAT = ["--user", "stat.lead"]
STAT_ENV = {"TRIALKIT_PASSWORD": STAT_PASSWORD, "TRIALKIT_TOKEN": None}


def _filled(url: str) -> None:
    """One G50 participant: PASI 3.0 at D1 ((2+2+1) x 2 x 0.3), 0.6 at M3 ((1+1+0) x 1 x 0.3),
    and one related grade 1 adverse event on day 2."""
    from trialkit.protocol import shipped_studies
    from trialkit.services import (
        Context,
        Role,
        add_membership,
        add_site,
        consent,
        create_user,
        enrol,
        load_study,
        record_dose,
        record_visit,
        register,
        save_form,
        screen,
    )
    from trialkit.simulate.eligible import eligible_values
    from trialkit.store import Database, upgrade

    db = Database.from_url(url)
    try:
        upgrade(db.engine)
        ctx = Context.operator("dr.demo", datetime(2025, 3, 3, 9, 0))
        text = dict(shipped_studies())[f"{PAE}.yaml"]
        load_study(db, ctx, text, source=PAE)
        add_site(db, ctx, PAE, "TEH", "Tehran")
        code = register(db, ctx, PAE, "TEH").code
        consent(db, ctx, PAE, code, on=date(2025, 3, 3), form_version="1.0", obtained_by="dr")
        # The shared eligible screening values, with PASI 3.0 at screening (inside 3 to 12).
        screening = eligible_values(PAE) | {"PASI": _pasi((2, 2, 1, 12))}
        for form_id, values in screening.items():
            save_form(db, ctx, PAE, code, visit="SCR", form_id=form_id, values=values)
        assert screen(db, ctx, PAE, code).eligibility["eligible"] is True
        enrol(db, ctx, PAE, code, arm="G50")
        inj = datetime(2025, 3, 11, 10, 30)
        d1_lesions = [
            {
                "lesion_role": role,
                "lesion_site": "forearm",
                "plaque_area": "3.2",
                "lesion_grade_v": "2",
                "erythema": "2",
                "scaling": "1",
                "induration": "1",
                "redness": "2",
                "pain_nrs": "2",
            }
            for role in ("treated", "control")
        ]
        # The dose is computed from the treated plaque's area measured at D1.
        save_form(db, ctx, PAE, code, visit="D1", form_id="LESION", values={"LESIONS": d1_lesions})
        record_dose(
            db,
            Context.operator("dr.demo", inj),
            PAE,
            code,
            event_id="INJ",
            given_at=inj,
            given_amount="160",
            given_unit="ug",
            product_lot="EX-0311",
            vials=["EX-0311-07"],
        )
        later = Context.operator("dr.demo", datetime(2025, 7, 1, 9, 0))
        for visit, on, trunk in (
            ("D1", date(2025, 3, 11), (2, 2, 1, 12)),
            ("M3", date(2025, 6, 9), (1, 1, 0, 5)),
        ):
            record_visit(db, later, PAE, code, visit, on)
            save_form(
                db,
                later,
                PAE,
                code,
                visit=visit,
                form_id="PASI",
                values=_pasi(trunk),
            )
            rows = [
                {
                    "lesion_role": role,
                    "lesion_site": "forearm",
                    "plaque_area": "3.2",
                    "lesion_grade_v": grade,
                    "erythema": "2",
                    "scaling": "1",
                    "induration": "1",
                    "redness": grade,
                    "pain_nrs": "2",
                }
                for role, grade in (("treated", "1" if visit == "M3" else "2"), ("control", "2"))
            ]
            if visit != "D1":  # D1's lesions were entered before the injection
                save_form(
                    db, later, PAE, code, visit=visit, form_id="LESION", values={"LESIONS": rows}
                )
        ae = {
            "ae_term": "injection site pain",
            "ae_onset": "2025-03-12",
            "ae_grade": "1",
            "ae_serious": "no",
            "ae_relation": "possible",
            "ae_outcome": "recovered",
            "ae_at_injection_site": "yes",
        }
        save_form(db, later, PAE, code, visit="D1", form_id="AE", values={"AE": [ae]})
        # `analyse --db` acts as a user: a study-wide statistician (blinding does not apply to
        # this open-label study).
        create_user(db, ctx, "stat.lead", STAT_PASSWORD, display_name="Statistician")
        add_membership(db, ctx, "stat.lead", PAE, Role.STATISTICIAN)
    finally:
        db.dispose()


def test_db_endpoints(database_url: str) -> None:
    _filled(database_url)
    out = CliRunner().invoke(
        app(), ["analyse", PAE, "--db", "--url", database_url, "--json", *AS_STAT], env=STAT_ENV
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["study"] == PAE
    results = {e["name"]: e for e in doc["endpoints"]}

    def row(name: str, **key: object) -> dict[str, object]:
        (found,) = [r for r in results[name]["rows"] if key.items() <= r.items()]
        return dict(found)

    assert row("PASI change from baseline", arm="G50", visit="M3")["mean change"] == -2.4
    improvement = row("PASI improvement at month 3", arm="G50", measure="mean % improvement")
    assert improvement["percent"] == 80.0  # (3.0 - 0.6) / 3.0
    assert row("Redness treated minus control", arm="G50", visit="M3")["mean difference"] == -1.0
    incidence = row("Participants with adverse events", arm="G50")
    assert (incidence["related"], incidence["participants"], incidence["N"]) == ("yes", 1, 1)


def test_db_tables_printed(database_url: str) -> None:
    _filled(database_url)
    out = CliRunner().invoke(
        app(), ["analyse", PAE, "--db", "--url", database_url, *AS_STAT], env=STAT_ENV
    )
    assert out.exit_code == 0, out.output
    assert "PASI change from baseline" in out.output


def test_db_default_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'trial.sqlite3'}"
    _filled(url)
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", url)
    out = CliRunner().invoke(app(), ["analyse", PAE, "--db", "--json", *AS_STAT], env=STAT_ENV)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["data_notes"] == []


def test_db_errors(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    out = CliRunner().invoke(app(), ["analyse", PAE, "--db", "--url", missing])
    assert out.exit_code == 1
    assert "ANALYSIS.E205" in out.output
    assert not (tmp_path / "none.sqlite3").exists()
    out = CliRunner().invoke(app(), ["analyse", PAE])
    assert "ANALYSIS.E206" in out.output
    out = CliRunner().invoke(app(), ["analyse", PAE, "--data", "x.csv", "--url", missing])
    assert "ANALYSIS.E207" in out.output
    url = f"sqlite:///{tmp_path / 'trial.sqlite3'}"
    _filled(url)
    out = CliRunner().invoke(
        app(), ["analyse", "no-such-study", "--db", "--url", url, *AS_STAT], env=STAT_ENV
    )
    assert out.exit_code == 1
    assert "Traceback" not in out.output
