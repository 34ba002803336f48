"""The CSRF layer (trialkit.web.csrf) on its own: asgi-csrf's protocol, request by request.

The application's refusals over HTTP (every POST route without its token or with a forged one)
are in test_http.py and test_access_matrix.py; here each rule of the layer is driven directly,
with a bare ASGI application behind it that records what reached it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import pytest
from itsdangerous.url_safe import URLSafeSerializer
from starlette.requests import Request

from trialkit.web.csrf import FORM_KEY, Csrf, Errors, posted_form

SECRET = "csrf-test-secret-" + "s" * 32
SIGNER = URLSafeSerializer(SECRET)
TOKEN = SIGNER.dumps("abcdefghijklmnop", "csrftoken")  # as asgi-csrf signs its cookie


class World:
    def __init__(self, *, use_token: bool = False) -> None:
        self.reached: list[dict[str, Any]] = []
        self.refused: list[Errors] = []
        self.use_token = use_token
        self.layer = Csrf(
            self.app,
            signing_secret=SECRET,
            send_failed=self.failed,
            always_protect={"/login"},
            skip_if_scope=lambda scope: scope.get("path") == "/redcap/api/",
        )

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = await request.body()
        token = scope["csrftoken"]() if self.use_token else None
        self.reached.append({"body": body, "form": scope.get(FORM_KEY), "token": token})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def failed(self, scope: Any, send: Any, why: Errors) -> None:
        self.refused.append(why)
        await send({"type": "http.response.start", "status": 403, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def request(
        self,
        method: str = "POST",
        path: str = "/x",
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        chunks: int = 1,
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "headers": raw,
            "query_string": b"",
        }
        size = max(1, -(-len(body) // chunks))
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        messages = [
            {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
            for i, p in enumerate(parts)
        ]
        started: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(event: dict[str, Any]) -> None:
            if event["type"] == "http.response.start":
                started.append(event)

        asyncio.run(self.layer(scope, receive, send))
        return started[0]["status"], list(started[0].get("headers") or [])


def form(token: str | None, **fields: str) -> bytes:
    return urlencode({**fields, **({"csrftoken": token} if token is not None else {})}).encode()


URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


def with_cookie(token: str = TOKEN, **more: str) -> dict[str, str]:
    return {"cookie": f"other=1; csrftoken={token}", **URLENCODED, **more}


def test_a_matching_form_field_passes_and_the_body_reaches_the_route_once_parsed() -> None:
    world = World()
    body = form(TOKEN, a="1 2", b="é+ü", c="")
    assert world.request(body=body, headers=with_cookie(), chunks=3)[0] == 200
    (seen,) = world.reached
    assert seen["body"] == body  # replayed in full
    assert dict(seen["form"]) == {"a": "1 2", "b": "é+ü", "c": "", "csrftoken": TOKEN}


@pytest.mark.parametrize("given", [None, "", "forged", TOKEN + "x", "ä" + TOKEN])
def test_a_missing_or_wrong_form_field_is_refused(given: str | None) -> None:
    world = World()
    assert world.request(body=form(given, a="1"), headers=with_cookie())[0] == 403
    assert world.refused == [Errors.FORM_URLENCODED_MISMATCH]
    assert not world.reached


def test_a_forged_cookie_is_not_a_token_even_when_the_field_repeats_it() -> None:
    forged = URLSafeSerializer("another secret " * 3).dumps("abcdefghijklmnop", "csrftoken")
    world = World()
    assert world.request(body=form(forged), headers=with_cookie(forged))[0] == 403
    assert world.request(body=form("x"), headers=with_cookie("x"))[0] == 403
    assert world.refused == [Errors.FORM_URLENCODED_MISMATCH] * 2


def test_the_header_htmx_sends_passes_without_a_body() -> None:
    world = World()
    headers = {"cookie": f"csrftoken={TOKEN}", "x-csrftoken": TOKEN}
    assert world.request(headers=headers)[0] == 200
    assert world.request(headers={**headers, "x-csrftoken": "forged"})[0] == 403
    assert world.refused == [Errors.UNKNOWN_CONTENT_TYPE]


def test_no_cookie_passes_except_on_sign_in_and_bearer_and_the_redcap_path_skip() -> None:
    world = World()
    assert world.request(body=form(None), headers=URLENCODED)[0] == 200
    assert world.request("POST", "/login", body=form(None), headers=URLENCODED)[0] == 403
    bearer = {**with_cookie(), "authorization": "Bearer abc"}
    assert world.request(body=form(None), headers=bearer)[0] == 200
    assert world.request("POST", "/redcap/api/", body=form(None), headers=with_cookie())[0] == 200
    assert world.refused == [Errors.FORM_URLENCODED_MISMATCH]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE"])
def test_safe_methods_pass_unchecked(method: str) -> None:
    world = World()
    assert world.request(method, headers={"cookie": "csrftoken=forged"})[0] == 200


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", ""])
def test_another_content_type_is_refused(ctype: str) -> None:
    world = World()
    headers = {"cookie": f"csrftoken={TOKEN}", "content-type": ctype}
    assert world.request(body=b'{"csrftoken": "x"}', headers=headers)[0] == 403
    assert world.refused == [Errors.UNKNOWN_CONTENT_TYPE]


def _multipart(*parts: tuple[str, str, str | None]) -> tuple[bytes, dict[str, str]]:
    boundary = "XyZboundary"
    out = []
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n")
    body = ("".join(out) + f"--{boundary}--\r\n").encode()
    headers = {
        "cookie": f"csrftoken={TOKEN}",
        "content-type": f"multipart/form-data; boundary={boundary}",
    }
    return body, headers


def test_multipart_needs_the_token_before_any_file() -> None:
    world = World()
    body, headers = _multipart(("csrftoken", TOKEN, None), ("upload", "data", "a.txt"))
    assert world.request(body=body, headers=headers)[0] == 200
    assert world.reached[0]["body"] == body
    assert world.reached[0]["form"] is None
    body, headers = _multipart(("upload", "data", "a.txt"), ("csrftoken", TOKEN, None))
    assert world.request(body=body, headers=headers)[0] == 403
    body, headers = _multipart(("csrftoken", "forged", None))
    assert world.request(body=body, headers=headers)[0] == 403
    assert world.refused == [Errors.FILE_BEFORE_TOKEN, Errors.MULTIPART_MISMATCH]


def test_the_token_is_handed_to_the_page_with_vary_and_a_cookie_only_when_new() -> None:
    world = World(use_token=True)
    status, headers = world.request("GET")
    token = world.reached[0]["token"]
    assert status == 200
    assert SIGNER.loads(token, "csrftoken")
    assert (b"vary", b"Cookie") in headers
    assert (b"set-cookie", f"csrftoken={token}; Path=/; SameSite=Lax".encode()) in headers
    status, headers = world.request("GET", headers={"cookie": f"csrftoken={TOKEN}"})
    assert world.reached[1]["token"] == TOKEN
    assert (b"vary", b"Cookie") in headers
    assert not any(k == b"set-cookie" for k, _ in headers)
    quiet = World()
    assert quiet.request("GET")[1] == []  # the token not used: nothing added


def test_a_signature_is_checked_once_per_token_and_a_bad_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World()
    calls: list[str] = []
    loads = world.layer.signer.loads

    def counted(token: str, namespace: str) -> Any:
        calls.append(token)
        return loads(token, namespace)

    monkeypatch.setattr(world.layer.signer, "loads", counted)
    for _ in range(3):
        assert world.request(body=form(TOKEN), headers=with_cookie())[0] == 200
        assert world.request(body=form("bad"), headers=with_cookie("bad"))[0] == 403
    assert calls == [TOKEN, "bad", "bad", "bad"]


def test_posted_form_is_starlettes_parse_of_the_same_body() -> None:
    body = form(TOKEN, a="x", b="", **{"v:VS/w": "70 kg"}) + b"&a=y&&plain&%E2%9C%93=%2B+"
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        ours = await posted_form(Request(scope, receive))
        theirs = await Request(scope, receive).form()  # the body replayed: parsed again
        seen.append((list(ours.multi_items()), list(theirs.multi_items())))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    world = World()
    world.layer.app = app
    assert world.request(body=body, headers=with_cookie())[0] == 200
    ours, theirs = seen[0]
    assert ours == theirs
    assert ("✓", "+ ") in ours
    assert ("a", "y") in ours
