"""Pagination of lists: ``limit`` (1-500, default 100) and an opaque ``cursor``.

A page is ``{"items": [...], "next_cursor": ...}``; ``next_cursor`` is None on the last page.
The cursor names the last key returned (keyset pagination over the list's order), so a row
added meanwhile neither repeats nor shifts a page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from trialkit.web.api.errors import ApiError

__all__ = ["Cursor", "Limit", "Page", "cursor_after", "key_of", "paginate"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Key = str | int

Limit = Annotated[int, Query(ge=1, le=500, description="The page size (1-500).")]
Cursor = Annotated[
    str | None,
    Query(max_length=400, description="The `next_cursor` of the previous page."),
]


class Page(BaseModel, Generic[M]):
    """One page of a list: its ``items`` and the cursor of the next page (None: the last)."""

    items: list[M]
    next_cursor: str | None = None


def _encode(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode(cursor: str) -> Key:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        key = None
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise ApiError(
            422,
            f"the cursor {cursor[:40]!r} is not one this API gave",
            code="API.E002",
            hint="pass the next_cursor of the previous page unchanged, or none for the first",
        )
    return key


def paginate(
    rows: Sequence[T], key: Callable[[T], Key], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """The page of ``rows`` (sorted by ``key``) after ``cursor``, and the next cursor."""
    ordered = sorted(rows, key=key)
    if cursor:
        after = _decode(cursor)
        ordered = [r for r in ordered if type(key(r)) is type(after) and key(r) > after]  # type: ignore[operator]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, (_encode(key(page[-1])) if more and page else None)


def cursor_after(key: Key) -> str:
    """The cursor of a page whose last key is ``key`` (for lists paged by the services)."""
    return _encode(key)


def key_of(cursor: str) -> Key:
    """The key a cursor names (``API.E002`` for one this API did not give)."""
    return _decode(cursor)
