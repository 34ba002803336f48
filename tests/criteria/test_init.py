from __future__ import annotations

import importlib

import trialkit.criteria as criteria


def test_all_is_complete_and_resolves() -> None:
    for name in criteria.__all__:
        assert getattr(criteria, name) is not None
    public = {
        n
        for n, v in vars(criteria).items()
        if not n.startswith("_") and not isinstance(v, type(importlib))
    }
    assert public == set(criteria.__all__)


def test_functions_are_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "criteria.md").read_text(encoding="utf-8")
    for name, fn in criteria.FUNCTIONS.items():
        assert fn.signature in doc, name
    for code in criteria.CODES:
        assert code in doc, code
