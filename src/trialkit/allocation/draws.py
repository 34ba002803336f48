"""Random draws that a seed reproduces on any machine and any Python version.

Each decision's draws come from its own stream: SHA-256 in counter mode over the JSON text of
``["trialkit.allocation.v1", seed, label...]`` (the label names the decision: the stratum and
block number, or the allocation number). The stream gives 256-bit integers; a number below ``n``
is drawn by rejection (no modulo bias), a shuffle is Fisher-Yates from the last position down.
Nothing here uses the ``random`` module, whose methods other than ``random()`` may change between
Python versions, nor ``hash()``, which is salted per process. A statistician can re-derive every
draw from this description and the seed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from decimal import Decimal
from typing import TypeVar

__all__ = ["Draws", "new_seed"]

T = TypeVar("T")

_VERSION = "trialkit.allocation.v1"
_BITS = 256


def new_seed() -> str:
    """A new secret seed: 64 hexadecimal digits (256 bits) from the operating system's source.

    Whoever holds it can compute every future assignment, so it is stored out of the trial
    team's sight (concealment) and shown only to the unblinded statistician.
    """
    return secrets.token_hex(32)


class Draws:
    """The stream of draws of one decision, named by ``label`` under ``seed``."""

    def __init__(self, seed: str, *label: str | int) -> None:
        self._key = json.dumps(
            [_VERSION, seed, *label], separators=(",", ":"), ensure_ascii=True
        ).encode("ascii")
        self._counter = 0

    def _next(self) -> int:
        digest = hashlib.sha256(self._key + b"#" + str(self._counter).encode("ascii")).digest()
        self._counter += 1
        return int.from_bytes(digest, "big")

    def below(self, n: int) -> int:
        """A whole number in ``0 .. n-1``, each equally likely."""
        if n < 1:
            raise ValueError(f"cannot draw below {n}; n must be at least 1")
        limit = (1 << _BITS) // n * n
        while True:
            x = self._next()
            if x < limit:
                return x % n

    def shuffle(self, items: list[T]) -> None:
        """Put ``items`` in a random order, in place (Fisher-Yates)."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def uniform(self, places: int) -> Decimal:
        """A number in [0, 1) on the grid of ``places`` decimal places, each point equally likely.

        ``uniform(p) < q`` holds with probability exactly ``q`` for a ``q`` of at most ``p``
        decimal places.
        """
        return Decimal(self.below(10**places)).scaleb(-places)
