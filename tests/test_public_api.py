"""The public API of the definition, safety, schedule and allocation packages, and the
exception tree, are complete."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import trialkit.errors as errors

PACKAGES = ["trialkit.protocol", "trialkit.safety", "trialkit.schedule", "trialkit.allocation"]
# Submodules used as namespaces (``trialkit.protocol.units.convert``), not re-exported.
NAMESPACES = {"trialkit.protocol.units", "trialkit.protocol.passages"}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_resolves_and_reexports_every_submodule_name(name: str) -> None:
    package = importlib.import_module(name)
    exported = set(package.__all__)
    for attr in exported:
        assert hasattr(package, attr), f"{name}.__all__ names {attr}, which does not exist"
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or f"{name}.{info.name}" in NAMESPACES:
            continue
        module = importlib.import_module(f"{name}.{info.name}")
        missing = set(getattr(module, "__all__", [])) - exported
        assert not missing, f"{name} does not re-export {sorted(missing)} from {info.name}"


def test_every_error_is_exported_and_drawn_in_the_tree() -> None:
    classes = {
        n
        for n, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.TrialkitError)
    }
    assert classes == set(errors.__all__)
    tree = errors.__doc__ or ""
    for n in classes:
        assert n in tree, f"{n} is not drawn in the exception tree of trialkit/errors.py"
