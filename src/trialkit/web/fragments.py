"""Rendered fragments kept with the immutable objects they show.

The status matrix's rows (:class:`trialkit.services.matrix.MatrixRow`) are shared and never
changed: a kept matrix brought up to date after a change reuses every row it did not recompute.
The page keeps each row's rendered ``<tr>`` with the row itself, under what else the markup
depends on (the language, the study, the columns shown, whether the arm column is shown), so a
page after one save renders the one row that changed and reuses the others. A fragment lives as
long as its row: when no matrix holds the row any more, its fragments go with it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from markupsafe import Markup

__all__ = ["Fragments"]

T = TypeVar("T")


class Fragments(Generic[T]):
    """Markup rendered once per object and key, dropped with the object (thread-safe).

    The objects need only support weak references (frozen dataclasses whose fields are not
    hashable do): they are told apart by identity, never by value.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[weakref.ref[T], dict[Hashable, Markup]]] = {}
        self._lock = threading.Lock()
        # references whose object is gone, told by the weak reference's callback (which may
        # run inside any allocation, so it only appends) and dropped at the next call
        self._gone: list[weakref.ref[T]] = []
        self._ident_of: dict[int, int] = {}  # id of a kept reference -> id of its object

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._kept)

    def _purge(self) -> None:
        while self._gone:
            ref = self._gone.pop()
            ident = self._ident_of.pop(id(ref), None)
            entry = self._kept.get(ident) if ident is not None else None
            if entry is not None and entry[0] is ref:
                del self._kept[ident]  # type: ignore[arg-type]

    def get(self, obj: T, key: Hashable, render: Callable[[T], str]) -> Markup:
        """``render(obj)`` as markup, rendered the first time ``obj`` is shown under ``key``."""
        ident = id(obj)
        with self._lock:
            self._purge()
            entry = self._kept.get(ident)
            if entry is not None and entry[0]() is obj:
                found = entry[1].get(key)
                if found is not None:
                    return found
        html = Markup(render(obj))
        with self._lock:
            entry = self._kept.get(ident)
            if entry is None or entry[0]() is not obj:
                if entry is not None:  # an object gone whose identity was reused
                    self._ident_of.pop(id(entry[0]), None)
                ref = weakref.ref(obj, self._gone.append)
                entry = self._kept[ident] = (ref, {})
                self._ident_of[id(ref)] = ident
            entry[1][key] = html
        return html
