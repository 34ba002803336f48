"""The context every service call receives: who acts, and the time it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Context", "naive"]


def naive(value: datetime) -> datetime:
    """``value`` as stored: timezone-aware times become naive UTC; naive ones are kept as given.

    trialkit stores the trial's times naive (the site's local clock). A caller that passes
    aware times consistently gets UTC throughout; do not mix the two within one study.
    """
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Context:
    """``actor`` is the user name recorded with every change; ``as_of`` is "now" for the call.

    The clock is never read inside the services: ``as_of`` is passed in. Roles and site checks
    (a later issue) will be added here, so every service already receives one.
    """

    actor: str
    as_of: datetime

    def __post_init__(self) -> None:
        if not self.actor.strip():
            raise ValueError("a service call needs an actor (the user name of who acts)")
        object.__setattr__(self, "as_of", naive(self.as_of))
