"""How a randomised study assigns its arms: the method, the ratio, the blocks and the factors.

The algorithms live in :mod:`trialkit.allocation`; this module only states the protocol's choice,
as data::

    design:
      allocation: randomised
      randomisation:
        method: minimisation             # or simple, permuted_blocks, stratified_blocks
        ratio: {A: 1, B: 1}              # absent: 1:1 over every arm of the study
        factors:
          - {name: site, source: site, weight: 1}
          - {name: pasi_band, source: pasi, cut_points: [10, 20], weight: 2}
        probability: 0.8
        text: Minimisation on site and baseline PASI (<10, 10-20, >=20), p = 0.8.

Decisions stated here:

- ``ratio`` absent means 1:1 over **every** arm of the study, in the order the arms are defined,
  a ``no_intervention`` arm included (an untreated control is a randomised arm like any other). To
  leave an arm out of the randomisation (an observational reference group), list the ratio.
- ``block_sizes`` with one size gives fixed blocks; with several, each block's size is drawn at
  random, each size equally likely. Every size must be a multiple of the ratio total (``study
  check``: ``ALLOC.E002``).
- A factor's ``levels`` are the values it takes (the codes of a code item, ``yes``/``no`` for a
  yes/no item, the site codes). A factor with ``source: site`` may leave ``levels`` empty: every
  site is then its own level. A numeric item is cut into ordered bins by ``cut_points``
  ``[c1, ..., ck]`` (exact decimals, strictly increasing): the levels are ``< c1``,
  ``c1 to < c2``, ..., ``>= ck`` (lower bounds inclusive, upper bounds exclusive).
- ``probability`` is the chance of assigning the arm that minimises the imbalance (Pocock and
  Simon's p); with more than two arms every other arm gets an equal share of ``1 - probability``.
  ``1`` is deterministic minimisation.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from trialkit.protocol._base import Code, Model, Name

__all__ = ["Factor", "Randomisation", "RandomisationMethod", "bin_labels"]

RandomisationMethod = Literal["simple", "permuted_blocks", "stratified_blocks", "minimisation"]

#: Methods that assign from blocks, and methods that read factors.
BLOCK_METHODS = frozenset({"permuted_blocks", "stratified_blocks"})
FACTOR_METHODS = frozenset({"stratified_blocks", "minimisation"})


def _dec(value: Decimal) -> str:
    return f"{value.normalize():f}"


def bin_labels(cut_points: list[Decimal]) -> list[str]:
    """The level labels of the bins ``cut_points`` make: ``< 10``, ``10 to < 20``, ``>= 20``."""
    if not cut_points:
        return []
    labels = [f"< {_dec(cut_points[0])}"]
    for low, high in itertools.pairwise(cut_points):
        labels.append(f"{_dec(low)} to < {_dec(high)}")
    labels.append(f">= {_dec(cut_points[-1])}")
    return labels


class Factor(Model):
    """A stratification or minimisation factor: where its value comes from and its levels."""

    name: Name = Field(description="The factor's name, e.g. site or pasi_band.")
    source: str = Field(
        description="`site`, or the name of an item captured at the screening visit."
    )
    levels: list[str] = Field(
        default_factory=list,
        description="The values it takes (codes, yes/no, sites); empty for a site factor means "
        "every site is its own level.",
    )
    cut_points: list[Decimal] = Field(
        default_factory=list,
        description="For a numeric item: increasing bounds of the bins < c1, c1 to < c2, ..., "
        ">= ck.",
    )
    weight: Decimal = Field(default=Decimal(1), gt=0, description="Minimisation weight.")

    @model_validator(mode="after")
    def _levels_or_bins(self) -> Factor:
        if self.levels and self.cut_points:
            raise ValueError(
                f"factor {self.name}: give `levels` or `cut_points`, not both (cut points make "
                "the levels of a numeric item)"
            )
        if not self.levels and not self.cut_points and self.source != "site":
            raise ValueError(
                f"factor {self.name}: give its `levels` (codes or yes/no) or, for a numeric item, "
                "its `cut_points`"
            )
        if len(set(self.levels)) != len(self.levels):
            raise ValueError(f"factor {self.name}: a level is listed twice in {self.levels}")
        for low, high in itertools.pairwise(self.cut_points):
            if low >= high:
                raise ValueError(
                    f"factor {self.name}: cut points {[_dec(c) for c in self.cut_points]} must "
                    "strictly increase"
                )
        return self

    def level_names(self) -> list[str]:
        """Every level, in order (empty for a site factor without listed levels)."""
        return bin_labels(self.cut_points) if self.cut_points else list(self.levels)


class Randomisation(Model):
    """The protocol's randomisation: method, ratio, blocks, factors and the biased coin."""

    method: RandomisationMethod
    ratio: dict[Code, int] = Field(
        default_factory=dict,
        description="Arm id to its whole-number share; absent: 1:1 over every arm of the study.",
    )
    block_sizes: list[int] = Field(
        default_factory=list,
        description="Block methods: one size (fixed) or several (drawn at random per block); "
        "each a multiple of the ratio total.",
    )
    factors: list[Factor] = Field(
        default_factory=list, description="Stratified blocks and minimisation: the factors."
    )
    imbalance: Literal["range", "variance", "sd"] = Field(
        default="range", description="Minimisation: how a factor level's imbalance is measured."
    )
    probability: Decimal = Field(
        default=Decimal("0.8"),
        gt=Decimal("0.5"),
        le=1,
        description="Minimisation: chance of the arm that minimises imbalance; 1 = deterministic.",
    )
    text: str | None = Field(
        default=None, description="The randomisation as the protocol states it."
    )

    @model_validator(mode="after")
    def _parameters_fit_the_method(self) -> Randomisation:
        bad_shares = {arm: n for arm, n in self.ratio.items() if n < 1}
        if bad_shares:
            raise ValueError(
                f"ratio {bad_shares}: every share must be a whole number of at least 1 (leave an "
                "arm out of the ratio to leave it out of the randomisation)"
            )
        if self.method in BLOCK_METHODS:
            if not self.block_sizes:
                raise ValueError(
                    f"method {self.method} needs `block_sizes` (one size for fixed blocks, "
                    "several for variable blocks)"
                )
            if any(size < 2 for size in self.block_sizes):
                raise ValueError(f"block sizes {self.block_sizes}: each must be at least 2")
            if len(set(self.block_sizes)) != len(self.block_sizes):
                raise ValueError(f"block sizes {self.block_sizes}: a size is listed twice")
        elif self.block_sizes:
            raise ValueError(
                f"method {self.method} does not use blocks: remove `block_sizes` or use "
                "permuted_blocks or stratified_blocks"
            )
        if self.factors and self.method not in FACTOR_METHODS:
            raise ValueError(
                f"method {self.method} does not use factors: remove `factors` or use "
                "stratified_blocks or minimisation"
            )
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError(f"factor names {names}: each factor needs its own name")
        return self

    def summary(self) -> str:
        """One line: ``minimisation on site, sex (range, p = 0.8), 1:1 over every arm``."""
        text = self.method.replace("_", " ")
        if self.block_sizes:
            text += " of " + ", ".join(str(n) for n in self.block_sizes)
        if self.factors:
            text += " on " + ", ".join(f.name for f in self.factors)
        if self.method == "minimisation":
            text += f" ({self.imbalance}, p = {self.probability.normalize():f})"
        if self.ratio:
            shares = ":".join(str(n) for n in self.ratio.values())
            text += f", {shares} over {', '.join(self.ratio)}"
        else:
            text += ", 1:1 over every arm"
        return text
