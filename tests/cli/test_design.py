"""``trialkit design oc``: operating characteristics from a study's dose-selection rule.

Reference: scenario S1 of tests/analysis/test_operating.py, whose selection probabilities come
from an independent R 4.2.2 loop over all 35³ tables (the shipped psoriasis study's rule is the
default rule, 4 patients per arm, doses G50 < G100 < G200).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trialkit.analysis.dose_selection import DoseSelectionRule
from trialkit.analysis.scenarios import run_scenario, scenario_from_marginals
from trialkit.cli.design import register

PAE = "psoriasis-adipose-exosomes"
SCENARIOS = """
scenarios:
  - name: S1
    doses:
      G50: {probabilities: [0.3, 0.55, 0.05, 0.1]}
      G100: {probabilities: [0.5, 0.3, 0.1, 0.1]}
      G200: {probabilities: [0.5, 0.1, 0.2, 0.2]}
  - name: marginal
    association: {model: gumbel, psi: 0}
    doses:
      G50: {efficacy: 0.35, toxicity: 0.15}
      G100: {efficacy: 0.6, toxicity: 0.2}
      G200: {efficacy: 0.7, toxicity: 0.4}
"""
R_S1 = {
    "no dose": 2.07360000000001e-08,
    "G50": 0.175480210503562,
    "G100": 0.450191445576061,
    "G200": 0.374328323184373,
}


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)

    @a.command()
    def other() -> None:  # keeps "design" a subcommand
        pass

    return a


def run(tmp_path: Path, text: str, *extra: str) -> tuple[int, str]:
    path = tmp_path / "scenarios.yaml"
    path.write_text(text)
    out = CliRunner().invoke(app(), ["design", "oc", PAE, "--scenario", str(path), *extra])
    return out.exit_code, out.output


def test_exact_json_full_precision(tmp_path: Path) -> None:
    code, output = run(tmp_path, SCENARIOS, "--json")
    assert code == 0, output
    doc = json.loads(output)
    assert doc["n_per_arm"] == 4  # the arms' planned size
    s1 = doc["scenarios"][0]
    for k, v in R_S1.items():
        assert s1["pr_select"][k] == pytest.approx(v, abs=1e-13)
    assert s1["correct"] == ["G100"]
    assert s1["unacceptable"] == ["G200"]
    assert s1["pcs"] == pytest.approx(R_S1["G100"], abs=1e-13)
    assert s1["pr_unacceptable"] == pytest.approx(R_S1["G200"], abs=1e-13)
    assert s1["expected_toxicities_total"] == pytest.approx(3.0)
    # the marginal scenario: the same margins as S1, joined independently (ψ = 0)
    marginal = doc["scenarios"][1]
    assert marginal["true_efficacy"] == pytest.approx({"G50": 0.35, "G100": 0.6, "G200": 0.7})
    assert marginal["true_toxicity"] == pytest.approx({"G50": 0.15, "G100": 0.2, "G200": 0.4})
    lib = run_scenario(
        scenario_from_marginals(
            "marginal", {"G50": (0.35, 0.15), "G100": (0.6, 0.2), "G200": (0.7, 0.4)}
        ),
        DoseSelectionRule(),
        4,
    )
    assert marginal["pr_select"] == pytest.approx(lib.characteristics.pr_select, abs=1e-15)
    assert marginal["correct"] == ["G100"]


def test_table_and_simulation(tmp_path: Path) -> None:
    code, output = run(tmp_path, SCENARIOS, "--simulate", "2000", "--seed", "3", "--n-per-arm", "4")
    assert code == 0, output
    assert "vectorised simulation of 2000 trials" in output
    assert "PCS" in output
    assert "Pr(select an unacceptable dose)" in output


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("scenarios: []\n", "DESIGN.E003"),
        ("scenarios: [{name: x, doses: {G50: {efficacy: 0.2}}}]\n", "DESIGN.E003"),
        ("scenarios: [{name: x, doses: {G50: {efficacy: 0.2, toxicity: 0.1}}}]\n", "DESIGN.E007"),
        ("scenarios: [\n", "DESIGN.E002"),
    ],
)
def test_bad_scenario_files(tmp_path: Path, text: str, code: str) -> None:
    exit_code, output = run(tmp_path, text)
    assert exit_code == 1
    assert code in output
    assert "Traceback" not in output


def test_missing_file_and_study_without_dose_selection(tmp_path: Path) -> None:
    out = CliRunner().invoke(app(), ["design", "oc", PAE, "--scenario", str(tmp_path / "no")])
    assert out.exit_code == 1
    assert "DESIGN.E001" in out.output
    (tmp_path / "s.yaml").write_text(SCENARIOS)
    out = CliRunner().invoke(
        app(), ["design", "oc", "psoriasis-ucmsc", "--scenario", str(tmp_path / "s.yaml")]
    )
    assert out.exit_code == 1
    assert "DESIGN.E004" in out.output


GRID = """
scenarios:
  - name: S1
    doses:
      G50: {probabilities: [0.3, 0.55, 0.05, 0.1]}
      G100: {probabilities: [0.5, 0.3, 0.1, 0.1]}
      G200: {probabilities: [0.5, 0.1, 0.2, 0.2]}
grid:
  association: {model: gumbel, psi: 0.5}
  doses:
    G50: {efficacy: [0.2, 0.35], toxicity: [0.1]}
    G100: {efficacy: [0.4, 0.6], toxicity: [0.1, 0.2]}
    G200: {efficacy: [0.7], toxicity: [0.2, 0.4]}
"""


def test_grid_of_scenarios(tmp_path: Path) -> None:
    code, output = run(tmp_path, GRID, "--json")
    assert code == 0, output
    doc = json.loads(output)
    assert len(doc["scenarios"]) == 1 + 2 * 4 * 2  # the listed one, then the grid in order
    assert doc["scenarios"][0]["pr_select"] == pytest.approx(R_S1, abs=1e-13)
    first = doc["scenarios"][1]
    assert first["scenario"] == "G50 E0.2 T0.1, G100 E0.4 T0.1, G200 E0.7 T0.2"
    lib = run_scenario(
        scenario_from_marginals(
            "x", {"G50": (0.2, 0.1), "G100": (0.4, 0.1), "G200": (0.7, 0.2)}, association=0.5
        ),
        DoseSelectionRule(),
        4,
    )
    assert first["pr_select"] == lib.characteristics.pr_select  # the grid equals one call
    last = doc["scenarios"][-1]
    assert last["scenario"] == "G50 E0.35 T0.1, G100 E0.6 T0.2, G200 E0.7 T0.4"
    assert last["true_toxicity"]["G200"] == pytest.approx(0.4)
    code, output = run(tmp_path, GRID)
    assert code == 0, output
    assert "under 17 scenarios" in output  # more than a screenful: one line per scenario
    assert "PCS" in output
    assert output.count("\n") > 17  # a line per scenario


RATES = [x / 10 for x in range(10)]  # 10 × 5 rates per dose: 50³ = 125,000 scenarios


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("grid: {doses: {G50: {efficacy: [0.2], toxicity: [0.1]}}}\n", "DESIGN.E007", "no rates"),
        ("grid: {doses: {G50: {efficacy: [], toxicity: [0.1]}}}\n", "DESIGN.E003", "at least 1"),
        ("n_per_arm: 4\n", "DESIGN.E003", "at least one scenario"),
        (
            "grid: {doses: {"
            + ", ".join(
                f"G{d}: {{efficacy: {RATES}, toxicity: [0.1, 0.2, 0.3, 0.4, 0.5]}}"
                for d in (50, 100, 200)
            )
            + "}}\n",
            "DESIGN.E003",
            "at most 100,000",
        ),
    ],
)
def test_bad_grids(tmp_path: Path, text: str, code: str, words: str) -> None:
    exit_code, output = run(tmp_path, text)
    assert exit_code == 1, output
    assert code in output
    assert words in output
