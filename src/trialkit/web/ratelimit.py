"""Rate limits: sign-in attempts per client address, requests per API token.

Each limit is a sliding window kept in this process's memory (:class:`SlidingWindow`): at most
``limit`` events in any ``window`` seconds per key. An event over the limit is refused, and
not counted, with the seconds until the oldest counted event leaves the window (the
``Retry-After`` of the 429 answer). The keys are a client address (sign-in) and the SHA-256
of a token (never the token itself); nothing here is logged.

What is limited (settings of :mod:`trialkit.web.settings`, docs/api.md "Security"):

* ``POST /login``: every attempt from one client address, successful or not, before the
  password is checked (``TRIALKIT_LOGIN_ATTEMPTS`` per ``TRIALKIT_LOGIN_WINDOW_SECONDS``;
  default 60 per 300 s); the per-account lockout of the access layer (5 wrong passwords, 15
  minutes) stays as it is.
* ``/api/v1`` and ``/redcap/api/``: the requests of one valid token
  (``TRIALKIT_TOKEN_REQUESTS`` per ``TRIALKIT_TOKEN_WINDOW_SECONDS``; default 600 per 60 s).

A limit of 0 turns that limiter off. The counts live in one process: with several worker
processes each keeps its own, so a client may get up to that many times the limit (the
lockout, kept in the database, holds across processes). The number of keys is bounded
(:data:`MAX_KEYS`): keys whose events have all left the window are dropped first, then the
least recently seen.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from trialkit.web.settings import Settings

__all__ = ["MAX_KEYS", "Decision", "RateLimits", "SlidingWindow", "token_key"]

#: Keys kept per limiter at most (a client rotating through more addresses is forgotten).
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Decision:
    """Whether an event is allowed; if not, the whole seconds to wait (at least 1)."""

    allowed: bool
    retry_after: int = 0


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds per key (0: no limit).

    ``clock`` gives seconds (``time.monotonic`` by default; a test passes its own). Safe to
    call from several threads.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if limit < 0 or window <= 0:
            raise ValueError(f"a rate limit needs limit >= 0 and window > 0, got {limit}/{window}")
        self.limit = limit
        self.window = float(window)
        self.clock = clock
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> Decision:
        """Count an event of ``key`` if the limit allows it; otherwise say how long to wait."""
        if self.limit == 0:
            return Decision(True)
        now = self.clock()
        start = now - self.window
        with self._lock:
            events = self._events.get(key)
            if events is None:
                self._make_room(start)
                events = self._events[key] = deque()
            else:
                self._events.move_to_end(key)
            while events and events[0] <= start:
                events.popleft()
            if len(events) >= self.limit:
                return Decision(False, max(1, math.ceil(events[0] + self.window - now)))
            events.append(now)
            return Decision(True)

    def _make_room(self, start: float) -> None:
        if len(self._events) < self.max_keys:
            return
        for stale in [k for k, ev in self._events.items() if not ev or ev[-1] <= start]:
            del self._events[stale]
        while len(self._events) >= self.max_keys:
            self._events.popitem(last=False)  # the least recently seen

    def __len__(self) -> int:
        return len(self._events)


@dataclass(frozen=True)
class RateLimits:
    """The application's limiters: ``sign_in`` per client address, ``tokens`` per token."""

    sign_in: SlidingWindow
    tokens: SlidingWindow

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> RateLimits:
        """The limiters the settings ask for (``clock``: seconds, for the tests)."""
        return cls(
            SlidingWindow(settings.login_attempts, settings.login_window_seconds, clock=clock),
            SlidingWindow(settings.token_requests, settings.token_window_seconds, clock=clock),
        )

    def token_refusal(self, retry_after: int) -> str:
        """The refusal of a token over its limit (the same words on both APIs)."""
        w = self.tokens
        return (
            f"too many requests with this token: at most {w.limit} in {w.window:g} s; the "
            f"next is accepted in {retry_after} s"
        )


def token_key(token: str) -> str:
    """The key of a token in the limiter: its SHA-256 (a token never sits in memory here)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
