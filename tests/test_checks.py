"""The whole check: definition, instruments and expressions together."""

from __future__ import annotations

from trialkit.checks import check_full
from trialkit.instruments.from_study import expand_study
from trialkit.protocol import Study, resolve_study


def _with(study: Study, **changes: object) -> Study:
    return study.model_copy(update=changes)


def test_instrument_groups_are_written_out() -> None:
    study = resolve_study("ibd-placental-exosomes")
    expanded = expand_study(study)
    mayo = expanded.form("MAYO")
    assert mayo is not None
    names = [i.name for i in mayo.groups[0].items]
    assert names == ["stool_frequency", "rectal_bleeding", "endoscopy", "physician_global"]
    assert all(i.instrument == "mayo" for i in mayo.groups[0].items)
    assert len(expanded.items()) > len(study.items())


def test_unknown_instrument_and_bad_expression_are_reported() -> None:
    study = resolve_study("psoriasis-ucmsc")
    form = study.form("PASI")
    assert form is not None
    bad_group = form.groups[0].model_copy(update={"instrument": "pasi2"})
    bad_form = form.model_copy(update={"groups": [bad_group, *form.groups[1:]]})
    crit = study.eligibility[0].model_copy(update={"expression": "pasi > 7 or bsa > 10"})
    broken = _with(
        study,
        forms=[bad_form if f.id == "PASI" else f for f in study.forms],
        eligibility=[crit, *study.eligibility[1:]],
    )
    codes = {d.code for d in check_full(broken)}
    assert "INSTR.E001" in codes
    assert any(c.startswith("EXPR.E") for c in codes)


def test_shipped_studies_are_clean_but_for_registry_warnings() -> None:
    for ref in ("psoriasis-adipose-exosomes", "ibd-placental-exosomes", "psoriasis-ucmsc"):
        assert {d.code for d in check_full(resolve_study(ref))} <= {"REG.W001"}
