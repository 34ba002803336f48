"""Two protocol versions compared item by item (:func:`trialkit.protocol.diff.diff_studies`):
the shipped adipose-exosome study against an amendment that widens a window, adds an item,
changes a criterion and a stopping rule."""

from __future__ import annotations

from trialkit.protocol import load_study_text, shipped_studies
from trialkit.protocol.diff import ChangedField, ProtocolChange, diff_studies

TEXT = dict(shipped_studies())["psoriasis-adipose-exosomes.yaml"]


def _amended() -> str:
    text = TEXT
    for old, new in (
        ('protocol_version: "1.0"', 'protocol_version: "2.0"'),
        (
            "{id: W1, name: Week 1, anchor: first_dose, offset: {days: 7}, window: {lower: -2, "
            "upper: 2}",
            "{id: W1, name: Week 1, anchor: first_dose, offset: {days: 7}, window: {lower: -2, "
            "upper: 3}",
        ),
        (
            "          - {name: heart_rate, label: Heart rate, data_type: integer, unit: /min, "
            "min: 20, max: 250}",
            "          - {name: heart_rate, label: Heart rate, data_type: integer, unit: /min, "
            "min: 20, max: 250}\n          - {name: respiratory_rate, label: Respiratory rate, "
            "data_type: integer, unit: /min, min: 4, max: 60, required: false}",
        ),
        ("expression: age between 18 and 65", "expression: age between 18 and 70"),
        ("      count: 1\n      scope: arm", "      count: 2\n      scope: arm"),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_the_same_version_changes_nothing() -> None:
    study = load_study_text(TEXT, source="pae")
    assert diff_studies(study, study) == []


def test_an_amendment_item_by_item() -> None:
    old = load_study_text(TEXT, source="pae")
    new = load_study_text(_amended(), source="pae-2")
    changes = diff_studies(old, new)
    by_key = {(c.section, c.key): c for c in changes}
    assert by_key[("visits", "W1")] == ProtocolChange(
        "visits", "W1", "changed", (ChangedField("window.upper", 2, 3),)
    )
    item = next(k for s, k in by_key if s == "items" and k.endswith("/respiratory_rate"))
    assert by_key[("items", item)].kind == "added"
    (expression,) = [f for f in by_key[("criteria", "I6")].fields if f.path == "expression"]
    assert (expression.old, expression.new) == ("age between 18 and 65", "age between 18 and 70")
    assert by_key[("stopping_rules", "S1")].fields == (ChangedField("count", 1, 2),)
    assert {c.section for c in changes} == {"visits", "items", "criteria", "stopping_rules"}
    # The other way round: the item is removed.
    back = {(c.section, c.key): c.kind for c in diff_studies(new, old)}
    assert back[("items", item)] == "removed"
