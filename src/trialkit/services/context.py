"""The context every service call receives: who acts (a :class:`Principal`), and the time it is."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from trialkit.services.access import Principal

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
    """``principal`` is who acts (checked by every service); ``as_of`` is "now" for the call.

    The clock is never read inside the services: ``as_of`` is passed in. A user's context comes
    from :func:`trialkit.services.users.authenticate` or
    :func:`~trialkit.services.users.context_for_token`; :meth:`operator` is the trusted local
    process (the CLI run by the database's owner, the demo).
    """

    principal: Principal
    as_of: datetime

    @property
    def actor(self) -> str:
        """The user name recorded with every change."""
        return self.principal.username

    @classmethod
    def operator(cls, name: str, as_of: datetime) -> Context:
        """The trusted local operator acting as ``name`` (all permissions, every study)."""
        if not name.strip():
            raise ValueError("a service call needs an actor (the user name of who acts)")
        return cls(Principal(name, operator=True), as_of)

    def __post_init__(self) -> None:
        as_of = naive(self.as_of)
        object.__setattr__(self, "as_of", as_of)
        object.__setattr__(self, "principal", self.principal.at(as_of))

    def at(self, as_of: datetime) -> Context:
        """The same principal at another time (only the memberships in force then count)."""
        return replace(self, as_of=naive(as_of))
