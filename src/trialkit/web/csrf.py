"""CSRF protection of every state-changing request: a signed cookie matched by the request.

The protocol is that of ``asgi-csrf`` 0.11, which the application used before and whose
cookies stay valid: the ``csrftoken`` cookie holds a random value signed with the
application's secret (``itsdangerous.URLSafeSerializer``, namespace ``csrftoken``); the page
puts the same token in each form's ``csrftoken`` field (``scope["csrftoken"]()`` hands it to
the page, and the response then carries ``Vary: Cookie``, and ``Set-Cookie`` when the browser
had no valid cookie). A request whose method is not GET, HEAD, OPTIONS or TRACE passes only

* when its ``x-csrftoken`` header equals the cookie's token (htmx sends it), or
* when it carries no ``Cookie`` header at all and its path is not in ``always_protect`` (a
  request without cookies carries no session, so a forged one gains nothing; ``/login`` is
  always protected), or
* when ``skip_if_scope`` says so (the REDCap endpoint, whose only credential is the token in
  its body), or it carries an ``Authorization: Bearer`` header (no cookie credential), or
* when its body's ``csrftoken`` field equals the token: an urlencoded body is read in full,
  a multipart one until its ``csrftoken`` field (a file before it is refused); any other
  content type is refused.

Each comparison is constant-time. A refusal is answered by ``send_failed``.

What differs from the library is only the work per request: a cookie's signature is checked
once per process and token (a token that verified once verifies always under the same
secret; a bounded set of verified tokens), the cookie header is split without the standard
library's ``SimpleCookie``, and an urlencoded body is parsed once: the fields go on to the
route in the scope (:data:`FORM_KEY`, read by :func:`posted_form`) with the body replayed, so
the route does not parse it again (a body of more than :data:`MAX_FIELDS` fields is left to
the route's parse, which refuses it as before).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Collection
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from itsdangerous import BadSignature
from itsdangerous.url_safe import URLSafeSerializer
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import FormData
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FORM_KEY", "Csrf", "Errors", "posted_form"]

COOKIE = "csrftoken"
FIELD = "csrftoken"
HEADER = b"x-csrftoken"
NAMESPACE = "csrftoken"
SCOPE_KEY = "csrftoken"
#: The scope key of an urlencoded body's fields as the CSRF check parsed them.
FORM_KEY = "trialkit.form"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_VERIFIED_MAX = 4096
#: As Starlette's form parser: at most this many fields in an urlencoded body.
MAX_FIELDS = 1000
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class Errors(Enum):
    """Why a request was refused (the values of asgi-csrf's)."""

    FORM_URLENCODED_MISMATCH = 1
    MULTIPART_MISMATCH = 2
    FILE_BEFORE_TOKEN = 3
    UNKNOWN_CONTENT_TYPE = 4


SendFailed = Callable[[Scope, Send, Errors], Awaitable[None]]


def _same(given: str, token: str) -> bool:
    """Constant-time equality (as bytes: a text with non-ASCII characters is simply unequal)."""
    return secrets.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def _secret(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Csrf:
    """The CSRF layer (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        signing_secret: str,
        send_failed: SendFailed,
        always_protect: Collection[str] = (),
        skip_if_scope: Callable[[Scope], bool] | None = None,
        cookie_secure: bool = False,
        cookie_samesite: str = "Lax",
    ) -> None:
        self.app = app
        self.signer = URLSafeSerializer(signing_secret)
        self.send_failed = send_failed
        self.always_protect = frozenset(always_protect)
        self.skip_if_scope = skip_if_scope
        attributes = ["Path=/", f"SameSite={cookie_samesite}"]
        if cookie_secure:
            attributes.append("Secure")
        self.cookie_attributes = "; ".join(attributes)
        self._verified: set[str] = set()

    def _valid(self, token: str) -> bool:
        if token in self._verified:
            return True
        try:
            self.signer.loads(token, NAMESPACE)
        except BadSignature:
            return False
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.clear()
        self._verified.add(token)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = dict(scope.get("headers") or ())  # a repeated one: the last
        cookie_header = headers.get(b"cookie")
        token = ""
        has_cookie = False
        if cookie_header:
            found = cookie_parser(cookie_header.decode("latin-1")).get(COOKIE)
            if found is not None and self._valid(found):
                token, has_cookie = found, True
        if not has_cookie:
            token = self.signer.dumps(_secret(16), NAMESPACE)
        used = False

        def get_token() -> str:
            nonlocal used
            used = True
            return token

        scope = {**scope, SCOPE_KEY: get_token}
        attributes = self.cookie_attributes

        async def wrapped_send(event: Message) -> None:
            if event["type"] == "http.response.start" and used:
                original = event.get("headers") or []
                new: list[Any] = []
                found_vary = False
                for key, value in original:
                    if key == b"vary":
                        found_vary = True
                        bits = [v.strip() for v in value.split(b",")]
                        if b"Cookie" not in bits:
                            bits.append(b"Cookie")
                        value = b", ".join(bits)
                    new.append((key, value))
                if not found_vary:
                    new.append((b"vary", b"Cookie"))
                if not has_cookie:
                    new.append((b"set-cookie", f"{COOKIE}={token}; {attributes}".encode()))
                event = {"type": "http.response.start", "status": event["status"], "headers": new}
            await send(event)

        if scope["method"] in _SAFE:
            await self.app(scope, receive, wrapped_send)
            return
        given = headers.get(HEADER, b"").decode("latin-1")
        if _same(given, token):
            await self.app(scope, receive, wrapped_send)
            return
        if not cookie_header and scope["path"] not in self.always_protect:
            await self.app(scope, receive, wrapped_send)
            return
        if self.skip_if_scope is not None and self.skip_if_scope(scope):
            await self.app(scope, receive, wrapped_send)
            return
        if headers.get(b"authorization", b"").decode("latin-1").startswith("Bearer "):
            await self.app(scope, receive, wrapped_send)
            return
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0]
        if content_type == b"application/x-www-form-urlencoded":
            messages, body = await _read_all(receive)
            # decoded as Starlette's form parser decodes it (each name and value percent-decoded
            # as UTF-8), so that the fields handed on are the ones the route would parse
            fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            posted = dict(fields).get(FIELD, "")  # a repeated field: the last
            if not _same(posted, token):
                await self.send_failed(scope, wrapped_send, Errors.FORM_URLENCODED_MISMATCH)
                return
            if len(fields) <= MAX_FIELDS:  # more: the route's own parse refuses the body (400)
                scope[FORM_KEY] = fields
            await self.app(scope, _replay(messages, receive), wrapped_send)
            return
        if content_type == b"multipart/form-data":
            boundary = parse_options_header(headers[b"content-type"])[1].get(b"boundary")
            if not boundary:
                await self.send_failed(scope, wrapped_send, Errors.MULTIPART_MISMATCH)
                return
            try:
                messages, posted_token = await _multipart_token(boundary, receive)
            except _FileBeforeToken:
                await self.send_failed(scope, wrapped_send, Errors.FILE_BEFORE_TOKEN)
                return
            if not _same(posted_token or "", token):
                await self.send_failed(scope, wrapped_send, Errors.MULTIPART_MISMATCH)
                return
            await self.app(scope, _replay(messages, receive), wrapped_send)
            return
        await self.send_failed(scope, wrapped_send, Errors.UNKNOWN_CONTENT_TYPE)


async def _read_all(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: nothing to check
            messages.append(message)
            break
        messages.append(message)
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay


class _FileBeforeToken(Exception):
    pass


class _TokenFound(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


async def _multipart_token(boundary: bytes, receive: Receive) -> tuple[list[Message], str | None]:
    """The messages read and the ``csrftoken`` field of a multipart body, read only up to it
    (a file part before it raises :class:`_FileBeforeToken`)."""
    part: dict[str, Any] = {}

    def on_part_begin() -> None:
        part.clear()
        part.update(field=b"", headers={}, value=b"", name=None)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        headers = part["headers"]
        key = part["field"].lower()
        headers[key] = headers.get(key, b"") + data[start:end]

    def on_header_end() -> None:
        part["field"] = b""

    def on_headers_finished() -> None:
        disposition = part["headers"].get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        if b"filename" in options:
            raise _FileBeforeToken
        part["name"] = options.get(b"name")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part["name"] == FIELD.encode():
            part["value"] += data[start:end]

    def on_part_end() -> None:
        if part["name"] == FIELD.encode():
            raise _TokenFound(part["value"].decode("utf-8", "replace"))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    messages: list[Message] = []
    more = True
    try:
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            parser.write(message.get("body", b""))
            more = message.get("more_body", False)
    except _TokenFound as found:
        return messages, found.token
    return messages, None


async def posted_form(request: Request) -> FormData:
    """The request's form: the fields the CSRF check parsed from this request's urlencoded
    body, else Starlette's parse (``request.form()``)."""
    parsed = request.scope.get(FORM_KEY)
    if parsed is not None:
        return FormData(parsed)
    return await request.form()
