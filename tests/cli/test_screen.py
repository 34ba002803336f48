"""`trialkit screen`: one candidate, explained in the protocol's wording, no database."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner


def screen(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    from trialkit.cli import app

    result = CliRunner().invoke(app, ["screen", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_an_eligible_candidate_is_explained_in_the_protocol_wording() -> None:
    code, out, _ = screen(
        "psoriasis-ucmsc", "--as-of", "2025-03-01", stdin='{"age": 44, "pasi": 8}'
    )
    assert code == 0
    assert out.startswith("Overall: ELIGIBLE (as of 2025-03-01)")
    assert "I1 inclusion: met" in out
    assert "    PASI > 7 or BSA > 10%" in out  # the criterion's text
    assert "used: PASI (pasi) = 8; Body surface area involved (bsa_percent) = (missing)" in out
    assert "Age (age) = 44 years" in out


def test_what_is_still_needed_is_listed_by_label(tmp_path: Path) -> None:
    values = tmp_path / "c.json"
    values.write_text(json.dumps({"age": 44, "sex": "female", "pasi": 8, "lesion_grade": 2}))
    code, out, _ = screen("psoriasis-adipose-exosomes", str(values), "--as-of", "2025-03-01")
    assert code == 0
    assert out.startswith("Overall: INCOMPLETE")
    assert "Still needed: " in out
    assert "Pregnant (asked of women) (pregnant)" in out.split("Still needed: ")[1]
    assert "investigator's judgement" in out


def test_a_man_is_not_asked_about_pregnancy() -> None:
    values = {"age": 44, "sex": "male", "pasi": 8}
    code, out, _ = screen("psoriasis-adipose-exosomes", json.dumps(values), "--as-of", "2025-03-01")
    assert code == 0
    assert "pregnant" not in out.split("Still needed: ")[1]


def test_json_output_and_screening_date_default() -> None:
    code, out, _ = screen(
        "ibd-placental-exosomes", "--json", "--as-of", "2025-03-01",
        stdin='{"age": 40, "ibd_type": "crohns_disease", "ibd_diagnosis_date": "2024-09-01",'
        ' "mab_refractory": true, "cdai": 451, "immunomodulator_use": false}',
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["outcome"] == "eligible"
    i1 = next(c for c in data["criteria"] if c["id"] == "I1")
    used = {u["name"]: u["value"] for u in i1["used"]}
    assert used["screening_date"] == "2025-03-01"  # the --as-of date


def test_the_evaluator_refuses_values_as_the_form_does() -> None:
    for values, needle in (
        ('{"age": 17.5}', "age: '17.5' is not a whole number"),
        ('{"age": 121}', "age: '121' is outside the item's range 0..120 years"),
        ('{"pasi": 1e999}', "1e999 is out of range"),
        ('{"pasi": Infinity}', "Infinity is not a number JSON allows"),
        ('{"pasi_score": 8}', "pasi_score is no item of the criteria"),
        ("[1, 2]", "must be a JSON object"),
        ("{" * 100 + "}" * 100, "nest more than 32 levels"),
    ):
        code, out, err = screen("psoriasis-ucmsc", stdin=values)
        assert code == 1, values
        assert needle in err, (values, err)
        assert "Traceback" not in out + err
    code, _, err = screen("psoriasis-ucmsc", "--as-of", "99999-01-01", stdin="{}")
    assert (code, "is not a date" in err) == (1, True)
    code, _, err = screen("psoriasis-ucmsc", "/no/such.json")
    assert (code, "SCREEN.E001" in err) == (1, True)


def test_the_multiple_of_the_normal_limit_is_explained() -> None:
    # PAE's exclusion E5, "alt > 3 * uln(alt) or ast > 3 * uln(ast)", with the study's default
    # ULN 40 U/L: 125 / 40 = 3.125 and 30 / 40 = 0.75 (issue #18 item 14)
    values = json.dumps({"alt": 125, "ast": 30})
    code, out, _ = screen("psoriasis-adipose-exosomes", values, "--as-of", "2025-03-01")
    assert code in (0, 1)
    assert "    compared: ALT 3.125 × ULN; AST 0.75 × ULN" in out
    code, out, _ = screen("psoriasis-adipose-exosomes", values, "--as-of", "2025-03-01", "--json")
    (e5,) = [c for c in json.loads(out)["criteria"] if c["id"] == "E5"]
    assert e5["compared"][0] == {
        "kind": "multiple",
        "item": "alt",
        "text": "ALT 3.125 × ULN",
        "value": "125",
        "unit": "U/L",
        "multiple": "3.125",
        "limit": "ULN",
        "converted": None,
        "converted_unit": None,
    }
