"""LeanRoute (trialkit.web.lean): the same answers as FastAPI's own handler, for the shapes it
accepts, and a refusal when the route is built for any other shape."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.testclient import TestClient

from trialkit.web import Settings, create_app
from trialkit.web.lean import LeanRoute
from trialkit.web.routes import forms


class Refused(Exception):
    pass


async def who(request: Request) -> str:
    name = request.headers.get("x-who")
    if not name:
        raise Refused
    return name


async def endpoint(
    request: Request,
    study: str,
    code: str,
    user: Annotated[str, Depends(who)],
    instance: int = 1,
    note: str | None = None,
) -> Response:
    return JSONResponse(
        {
            "study": study,
            "code": code,
            "user": user,
            "instance": instance,
            "note": note,
            "method": request.method,
        }
    )


def app_with(route_class: type | None) -> FastAPI:
    app = FastAPI()
    router = APIRouter()
    kwargs = {"route_class_override": route_class} if route_class else {}
    router.add_api_route("/s/{study}/p/{code}", endpoint, methods=["POST"], **kwargs)
    app.include_router(router)

    @app.exception_handler(Refused)
    async def refused(_request: Request, _exc: Refused) -> Response:
        return Response(status_code=303, headers={"location": "/login"})

    return app


CASES = [
    ("/s/A/p/B", {"x-who": "ann"}),
    ("/s/A/p/B?instance=3&note=hi", {"x-who": "ann"}),
    ("/s/A%20b/p/%C3%A9", {"x-who": "ann"}),
    ("/s/A/p/B?instance=x", {"x-who": "ann"}),
    ("/s/A/p/B?instance=0.5", {"x-who": "ann"}),
    ("/s/A/p/B?instance=x", {}),
    ("/s/A/p/B", {}),
]


@pytest.mark.parametrize(("url", "headers"), CASES)
def test_the_same_answer_as_fastapis_handler(url: str, headers: dict[str, str]) -> None:
    lean = TestClient(app_with(LeanRoute)).post(url, headers=headers, follow_redirects=False)
    full = TestClient(app_with(None)).post(url, headers=headers, follow_redirects=False)
    assert (lean.status_code, lean.content) == (full.status_code, full.content)


def test_dependency_overrides_use_fastapis_handler() -> None:
    app = app_with(LeanRoute)

    async def someone() -> str:
        return "override"

    app.dependency_overrides[who] = someone
    assert TestClient(app).post("/s/A/p/B").json()["user"] == "override"


def test_another_shape_is_refused_when_the_route_is_built() -> None:
    async def with_header(x_token: Annotated[str, Header()]) -> Response:
        return Response()

    def sync(request: Request) -> Response:
        return Response()

    async def number(study: int) -> Response:
        return Response()

    for call, path in ((with_header, "/h"), (sync, "/s"), (number, "/n/{study}")):
        router = APIRouter()
        with pytest.raises(TypeError, match="LeanRoute"):
            router.add_api_route(path, call, methods=["POST"], route_class_override=LeanRoute)


def test_the_form_save_is_a_lean_route_of_the_application() -> None:
    app = create_app(Settings(secret_key="lean-route-test-secret-" + "k" * 20))
    saves = [r for r in forms.router.routes if getattr(r, "name", "") == "form_save"]
    assert len(saves) == 1
    assert isinstance(saves[0], LeanRoute)
    assert app.api.routes  # built: every route's handler made without a shape error
