"""The data-entry routes are matched first (the busiest requests are found soonest): that is
safe only while no path they serve is also another page route's, for the same method."""

from __future__ import annotations

import re

from trialkit.web import Settings, create_app
from trialkit.web.routes import forms

SECRET = "route-order-test-secret-" + "k" * 20


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "X1", path)


def test_no_data_entry_path_is_another_routes() -> None:
    app = create_app(Settings(secret_key=SECRET))
    included = [r.original_router for r in app.api.routes if hasattr(r, "original_router")]
    assert included[0] is forms.router  # served first
    others = [
        (route.path, set(route.methods))
        for router in included[1:]
        for route in router.routes
        if getattr(route, "methods", None)
    ]
    assert others
    for route in forms.router.routes:
        mine = set(getattr(route, "methods", None) or ())
        for path, methods in others:
            if mine & methods:
                clash = _pattern(path).match(_sample(route.path)) or _pattern(route.path).match(
                    _sample(path)
                )
                assert not clash, f"{route.path} and {path} both answer {mine & methods}"
