from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trialkit.cli import score
from trialkit.instruments import INSTRUMENTS

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """Test root."""

    score.register(app)
    return app


APP = make_app()

PASI_VALUES = {
    **{f"{r}_{s}": 1 for r in ("head", "upper_limbs", "trunk", "lower_limbs")
       for s in ("erythema", "induration", "desquamation")},
    **{f"{r}_area_percent": "20" for r in ("head", "upper_limbs", "trunk", "lower_limbs")},
}  # fmt: skip


def test_list() -> None:
    out = runner.invoke(APP, ["score", "--list"])
    assert out.exit_code == 0
    for name in ("pasi", "cdai", "sf36_pcs", "ctcae_alt_increased"):
        assert name in out.stdout
    data = json.loads(runner.invoke(APP, ["score", "--list", "--json"]).stdout)
    assert [row["name"] for row in data] == list(INSTRUMENTS)


def test_items() -> None:
    out = runner.invoke(APP, ["score", "pasi", "--items"])
    assert out.exit_code == 0
    assert "head_erythema" in out.stdout
    data = json.loads(runner.invoke(APP, ["score", "cdai", "--items", "--json"]).stdout)
    assert data["items"][0]["name"] == "liquid_stools_day_1"
    assert {o["name"] for o in data["options"]} >= {"min_diary_days"}


def test_score_argument_prints_parts() -> None:
    out = runner.invoke(APP, ["score", "pasi", json.dumps(PASI_VALUES)])
    assert out.exit_code == 0, out.stderr
    # each region: weight x 3 x 2 -> total 1 x 3 x 2 = 6.0
    assert "pasi (PASI 1978): 6.0" in out.stdout
    assert "lower_limbs" in out.stdout


def test_score_json_keeps_decimals_as_strings() -> None:
    out = runner.invoke(APP, ["score", "pain_vas", '{"pain_vas_mm": 12.50}', "--json"])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert data["value"] == "12.50"
    assert data["version"] == "VAS 100 mm"


def test_score_from_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps(PASI_VALUES), encoding="utf-8")
    assert runner.invoke(APP, ["score", "pasi", f"@{path}", "--json"]).exit_code == 0
    out = runner.invoke(APP, ["score", "pasi", "-", "--json"], input=json.dumps(PASI_VALUES))
    assert json.loads(out.stdout)["value"] == "6.0"


def test_options() -> None:
    args = ["score", "lesion_grade", '{"grade": 2}', "-o", "minimum=1", "-o", "maximum=3"]
    out = runner.invoke(APP, [*args, "--json"])
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["instrument"], data["value"]) == ("lesion_grade", "2")
    assert data["options"] == {"minimum": 1, "maximum": 3}
    out_of_scale = runner.invoke(APP, [*args[:2], '{"grade": 4}', *args[3:]])
    assert out_of_scale.exit_code == 1  # 4 is outside the 1-3 scale the options set


def test_missing_is_reported_not_zero() -> None:
    out = runner.invoke(APP, ["score", "tlss", '{"erythema": 1}', "--json"])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert data["value"] is None
    assert data["missing"] == ["scaling", "induration"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "pasi", "{bad"], "not valid JSON"),
        (["score", "pasi", "[1]"], "JSON object"),
        (["score", "pasi", '{"head_erythema": 5}'], "out of range"),
        (["score", "nope", "{}"], "no instrument named 'nope'"),
        (["score", "pasi", "@/no/such/file.json"], "cannot read"),
        (["score", "pasi"], "give the item values"),
        (["score"], "name an instrument"),
        (["score", "cdai", "{}", "-o", "min_diary_days"], "NAME=VALUE"),
    ],
)
def test_errors_exit_1_without_traceback(args: list[str], message: str) -> None:
    out = runner.invoke(APP, args)
    assert out.exit_code == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert "error [" in out.stderr


def test_profile_instrument_prints_scales() -> None:
    values = json.dumps({f"item_{n:02d}": 1 for n in range(1, 37)})
    out = runner.invoke(APP, ["score", "rand36", values])
    assert out.exit_code == 0, out.stderr
    assert "profile, scores below" in out.stdout
    assert "physical_functioning" in out.stdout


def _pasi(severity: int) -> str:
    regions = ("head", "upper_limbs", "trunk", "lower_limbs")
    signs = ("erythema", "induration", "desquamation")
    values: dict[str, object] = {f"{r}_{s}": severity for r in regions for s in signs}
    return json.dumps(values | {f"{r}_area_percent": "20" for r in regions})


def test_baseline_and_followup_give_the_change_and_every_rule(tmp_path: Path) -> None:
    # PASI 24.0 -> 6.0 (hand-computed: each region weight x 12 x area score 2): exactly 75 %
    base, follow = tmp_path / "base.json", tmp_path / "week12.json"
    base.write_text(_pasi(4), encoding="utf-8")
    follow.write_text(_pasi(1), encoding="utf-8")
    args = ["score", "pasi", "--baseline", f"@{base}", "--followup", f"@{follow}"]
    out = runner.invoke(APP, args)
    assert out.exit_code == 0, out.stderr
    assert "change from baseline: -18 (follow-up minus baseline)" in out.stdout
    assert "fall from baseline: 75 %" in out.stdout
    data = json.loads(runner.invoke(APP, [*args, "--json"]).stdout)
    # a plain path works as well as @path
    plain = ["score", "pasi", "--baseline", str(base), "--followup", str(follow), "--json"]
    assert json.loads(runner.invoke(APP, plain).stdout) == data
    assert (data["baseline"]["value"], data["followup"]["value"]) == ("24.0", "6.0")
    assert data["change"]["change"] == "-18"
    assert data["change"]["percent_fall_exact"] == "75"
    assert {r["rule"]: r["met"] for r in data["rules"]} == {
        "pasi50": True,
        "pasi75": True,
        "pasi90": False,
        "pasi100": False,
    }


def test_followup_alone_gives_the_remission_rules_and_says_what_response_needs() -> None:
    mayo = {"stool_frequency": 1, "rectal_bleeding": 0, "endoscopy": 1, "physician_global": 0}
    out = runner.invoke(APP, ["score", "mayo", "--followup", json.dumps(mayo), "--json"])
    data = json.loads(out.stdout)
    assert data["baseline"] is None
    assert data["change"] is None
    assert data["rules"] == [
        {
            "rule": "mayo_remission",
            "met": True,
            "reason": None,
            "description": "Full Mayo score <= 2 with no subscore > 1.",
        }
    ]
    text = runner.invoke(APP, ["score", "mayo", "--followup", json.dumps(mayo)]).stdout
    assert "the response rules need --baseline as well" in text


def test_sescd_response_on_the_command_line() -> None:
    def sescd(*scores: int) -> str:
        names = ("ulcer_size", "ulcerated_surface", "affected_surface", "narrowing")
        values: dict[str, object] = {"ileum_reached": True}
        values |= {f"ileum_{n}": s for n, s in zip(names, scores, strict=True)}
        values |= {f"{s}_reached": False for s in ("right_colon", "transverse_colon")}
        values |= {f"{s}_reached": False for s in ("left_colon", "rectum")}
        return json.dumps(values)

    args = ["score", "sescd", "--baseline", sescd(2, 2, 2, 0), "--followup", sescd(1, 1, 1, 0)]
    data = json.loads(runner.invoke(APP, [*args, "--json"]).stdout)
    # 2 + 2 + 2 = 6 (mild) -> 1 + 1 + 1 = 3 (mild: inactive is 0-2)
    assert (data["baseline"]["flags"]["band"], data["followup"]["flags"]["band"]) == ("mild",) * 2
    assert {r["rule"]: r["met"] for r in data["rules"]} == {
        "sescd_remission": False,
        "sescd_response": True,  # 6 -> 3: exactly 50 %
    }


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["score", "pasi", "{}", "--followup", "{}"], "INSTR.E054"),
        (["score", "pasi", "--baseline", "-", "--followup", "-"], "INSTR.E054"),
        (["score", "rand36", "--baseline", "{}", "--followup", "{}"], "INSTR.E055"),
        (["score", "pasi", "--baseline", "{}"], "INSTR.E053"),
        (["score", "pasi", "--baseline", "/no/such.json", "--followup", "{}"], "INSTR.E050"),
    ],
)
def test_comparison_errors_name_the_fix(args: list[str], code: str) -> None:
    out = runner.invoke(APP, args)
    assert out.exit_code == 1
    assert f"error [{code}]" in out.stderr
    assert "Traceback" not in out.stderr


def test_items_table_prints_full_names_and_marks_only_what_is_required() -> None:
    out = runner.invoke(APP, ["score", "sescd", "--items"])
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    for name in ("transverse_colon_ulcerated_surface", "transverse_colon_reached"):
        assert any(line.split()[:1] == [name] for line in lines), name
    assert "…" not in out.stdout
    assert "if the segment was" in out.stdout  # the variables are needed only then
    data = json.loads(runner.invoke(APP, ["score", "sescd", "--items", "--json"]).stdout)
    assert data["items"][1]["required_when"] == "the segment was reached"
    hypertension = runner.invoke(APP, ["score", "ctcae_hypertension", "--items"]).stdout
    assert " yes " not in hypertension  # a grade or a pressure: no single item is required
