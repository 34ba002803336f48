"""The result of scoring an instrument: the value, its parts, and why there is none."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = ["ScoreResult"]

Flag = bool | str | Decimal | int | None


@dataclass(frozen=True)
class ScoreResult:
    """A score with its parts and version, or no score with the reason.

    ``value`` is ``None`` exactly when ``reason`` says why (a required input is missing, a
    limit is zero...): a missing input never yields 0. The one exception is a profile
    instrument without a total (``Instrument.has_total`` false, i.e. RAND-36): its scores are
    all in ``parts``, ``value`` is always ``None`` and ``reason`` is set only when some scale
    could not be scored. ``exact`` holds the value as a
    :class:`~fractions.Fraction` whenever it is not a terminating decimal (pro-rated CDAI,
    SF-36 summaries); every cut-off comparison uses ``exact``. ``flags`` carries
    interpretations (categories, responder flags, CTCAE term); ``options`` the conventions used.
    """

    instrument: str
    version: str
    value: Decimal | None
    parts: dict[str, Decimal] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    reason: str | None = None
    flags: dict[str, Flag] = field(default_factory=dict)
    options: dict[str, Flag] = field(default_factory=dict)
    exact: Fraction | None = None

    @property
    def scored(self) -> bool:
        """True when a value was computed."""
        return self.value is not None

    @property
    def exact_value(self) -> Fraction | None:
        """The value as an exact fraction (for cut-off comparisons)."""
        if self.exact is not None:
            return self.exact
        return None if self.value is None else Fraction(self.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: Decimals and Fractions as strings, nothing lost."""

        def enc(v: Flag) -> Any:
            return str(v) if isinstance(v, Decimal) else v

        return {
            "instrument": self.instrument,
            "version": self.version,
            "value": None if self.value is None else str(self.value),
            "exact": None if self.exact is None else str(self.exact),
            "parts": {k: str(v) for k, v in self.parts.items()},
            "missing": list(self.missing),
            "reason": self.reason,
            "flags": {k: enc(v) for k, v in self.flags.items()},
            "options": {k: enc(v) for k, v in self.options.items()},
        }
