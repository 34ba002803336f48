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
