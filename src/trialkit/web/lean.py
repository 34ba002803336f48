"""A route whose parameters are resolved by hand: :class:`LeanRoute`, for the busiest posts.

FastAPI resolves a route's parameters and dependencies through its general solver (every
parameter looked up, validated and collected, each dependency's own parameters solved in turn):
about a tenth of a millisecond a request, as much as a SQLite save's audit entries. A
:class:`LeanRoute` is an ordinary :class:`fastapi.routing.APIRoute` (the same matching, the
same exception handlers, the same entry in the route list and the access matrix) whose handler
does for the few shapes it accepts exactly what the solver would do, and refuses any other
shape when the route is built:

* the ``Request``;
* path parameters annotated ``str`` (the matched text, as the solver passes it);
* query parameters with a default: the defaults when there is no query string, else validated
  by FastAPI's own ``request_params_to_args`` (the same values, the same 422 on a bad one);
* dependencies that are ``async`` functions of the ``Request`` alone (``signed_in`` and the
  like), awaited in order before the parameters are validated, as the solver does.

The endpoint must be ``async`` and return a :class:`~starlette.responses.Response`. While
``app.dependency_overrides`` holds anything (tests), the route uses FastAPI's own handler.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

import fastapi.routing
from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import Response

__all__ = ["LeanRoute"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _shape_error(route: APIRoute, what: str) -> TypeError:
    return TypeError(f"LeanRoute {route.path}: {what}; use an ordinary route")


def _dependency(route: APIRoute, sub: Dependant) -> tuple[str, Callable[..., Any], str]:
    call = sub.call
    if (
        call is None
        or sub.name is None
        or sub.request_param_name is None
        or not inspect.iscoroutinefunction(call)
        or sub.dependencies
        or sub.path_params
        or sub.query_params
        or sub.header_params
        or sub.cookie_params
        or sub.body_params
        or sub.response_param_name
        or sub.background_tasks_param_name
        or sub.security_scopes_param_name
        or sub.http_connection_param_name
        or sub.websocket_param_name
    ):
        raise _shape_error(
            route, f"dependency {sub.name!r} is not an async function of the Request"
        )
    return sub.name, call, sub.request_param_name


class LeanRoute(APIRoute):
    """An :class:`APIRoute` resolved by hand (see the module docstring)."""

    def get_route_handler(self) -> Handler:
        full = super().get_route_handler()
        context = getattr(fastapi.routing, "_effective_route_context_var", None)
        effective = context.get() if context is not None else None
        route: Any = self
        if effective is not None and getattr(effective, "original_route", None) is self:
            route = effective
        dependant: Dependant = route.dependant
        provider = route.dependency_overrides_provider
        endpoint = dependant.call
        if endpoint is None or not inspect.iscoroutinefunction(endpoint):
            raise _shape_error(self, "the endpoint is not an async function")
        if (
            dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or dependant.http_connection_param_name
            or dependant.websocket_param_name
        ):
            raise _shape_error(
                self,
                "it takes a parameter other than the Request, str path "
                "parameters, query parameters and Request dependencies",
            )
        request_name = dependant.request_param_name
        path_names = []
        for field in dependant.path_params:
            if field.field_info.annotation is not str:
                raise _shape_error(self, f"path parameter {field.name!r} is not a str")
            path_names.append(field.name)
        query = list(dependant.query_params)
        defaults: dict[str, Any] | None = {}
        for field in query:
            default = field.field_info.default
            if field.field_info.is_required() or not isinstance(default, int | str | type(None)):
                defaults = None  # a required (or mutable) one: always validated
                break
            assert defaults is not None
            defaults[field.name] = default
        dependencies = [_dependency(self, sub) for sub in dependant.dependencies]

        async def handler(request: Request) -> Response:
            if provider is not None and getattr(provider, "dependency_overrides", None):
                return await full(request)
            values: dict[str, Any] = {}
            for name, call, param in dependencies:
                values[name] = await call(**{param: request})
            path_params = request.path_params
            for name in path_names:
                values[name] = path_params[name]
            if query:
                if defaults is not None and not request.scope.get("query_string"):
                    values.update(defaults)
                else:
                    found, errors = request_params_to_args(query, request.query_params)
                    if errors:
                        raise RequestValidationError(errors)
                    values.update(found)
            if request_name is not None:
                values[request_name] = request
            response = await endpoint(**values)
            if not isinstance(response, Response):
                raise TypeError(f"LeanRoute {self.path}: the endpoint returned no Response")
            return response

        return handler
