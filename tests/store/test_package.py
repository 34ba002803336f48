"""Each package's ``__all__`` is complete and every name in it resolves."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize("name", ["trialkit.store", "trialkit.services", "trialkit.dosing"])
def test_all_is_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__)
    for item in exported:
        assert hasattr(module, item), item
    public = {
        k
        for k, v in vars(module).items()
        if not k.startswith("_")
        and (inspect.isclass(v) or inspect.isfunction(v))
        and getattr(v, "__module__", "").startswith(name)
    }
    assert public <= exported
