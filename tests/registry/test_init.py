from __future__ import annotations

import trialkit.registry as registry


def test_all_is_complete_and_resolves() -> None:
    public = {
        name
        for name, value in vars(registry).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("trialkit.registry")
    }
    assert public <= set(registry.__all__)
    for name in registry.__all__:
        assert getattr(registry, name) is not None
    assert sorted(registry.__all__) == sorted(set(registry.__all__))
