from __future__ import annotations

import importlib
import inspect
import pkgutil

import trialkit.analysis as analysis


def test_all_resolves_and_is_sorted_unique() -> None:
    assert len(set(analysis.__all__)) == len(analysis.__all__)
    for name in analysis.__all__:
        assert hasattr(analysis, name), name


def test_all_is_complete() -> None:
    """Every public class/function of every public submodule is re-exported."""
    exported = set(analysis.__all__)
    for info in pkgutil.iter_modules(analysis.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"trialkit.analysis.{info.name}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert name in exported, f"{info.name}.{name} missing from trialkit.analysis"
