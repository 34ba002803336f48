"""Arms and their ratio, factor levels and strata: what every method reads from the spec.

A stratum is one combination of factor levels; its key lists ``factor=level`` in the protocol's
factor order, joined by ``|`` (``site=TEH|sex=female``). A method that does not stratify has the
single stratum ``all``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from trialkit.allocation.assignment import ALL, Candidate
from trialkit.errors import DefinitionError, TransitionError
from trialkit.protocol.randomisation import FACTOR_METHODS, Factor, Randomisation, bin_labels

__all__ = ["arm_ratio", "candidate_from_values", "checked_levels", "factor_level", "stratum_key"]


def arm_ratio(spec: Randomisation, arms: Sequence[str]) -> dict[str, int]:
    """Each randomised arm's whole-number share, in the protocol's order (1:1 over ``arms`` when
    the spec states no ratio); the spec is checked against ``arms``."""
    ratio = dict(spec.ratio) if spec.ratio else dict.fromkeys(arms, 1)
    unknown = [a for a in ratio if a not in arms]
    if unknown:
        raise DefinitionError(
            f"the randomisation ratio names arm(s) {', '.join(unknown)}, which the study does "
            "not define",
            code="ALLOC.E020",
            hint="use one of: " + ", ".join(arms),
            path="design.randomisation.ratio",
        )
    if len(ratio) < 2:
        raise DefinitionError(
            f"the randomisation has {len(ratio)} arm(s) to assign; it needs at least two",
            code="ALLOC.E021",
            hint="list two or more arms in the ratio",
            path="design.randomisation.ratio",
        )
    total = sum(ratio.values())
    for size in spec.block_sizes:
        if size % total:
            raise DefinitionError(
                f"block size {size} is not a multiple of the ratio total {total}",
                code="ALLOC.E022",
                hint=f"use multiples of {total}",
                path="design.randomisation.block_sizes",
            )
    if spec.method in FACTOR_METHODS and not spec.factors:
        raise DefinitionError(
            f"method {spec.method} needs at least one factor",
            code="ALLOC.E023",
            hint="add the factors to design.randomisation",
            path="design.randomisation.factors",
        )
    return ratio


def factor_level(factor: Factor, value: object) -> str:
    """The level of ``factor`` that a screening ``value`` (or a site code) falls in.

    A yes/no value is ``yes`` or ``no``; a number is put in its bin by the factor's cut points
    (exactly, as a Decimal: ``10`` falls in ``10 to < 20``); anything else must be one of the
    listed levels (any site, when a site factor lists none).
    """
    if value is None or value == "":
        raise TransitionError(
            f"factor {factor.name}: the participant has no value of {factor.source}",
            code="ALLOC.E030",
            hint=f"enter {factor.source} on the screening form before allocating",
        )
    if factor.cut_points:
        if isinstance(value, bool):
            number: Decimal | None = None
        elif isinstance(value, float):
            number = Decimal(repr(value))
        else:
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            raise TransitionError(
                f"factor {factor.name}: {value!r} is not a number",
                code="ALLOC.E031",
                hint=f"{factor.source} must be a number to be put in a bin",
            )
        labels = bin_labels(factor.cut_points)
        below = sum(1 for c in factor.cut_points if number >= c)
        return labels[below]
    level = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    if factor.levels and level not in factor.levels:
        raise TransitionError(
            f"factor {factor.name}: {level!r} is not one of its levels "
            f"({', '.join(factor.levels)})",
            code="ALLOC.E031",
            hint="correct the screening value, or amend the protocol's factor levels",
        )
    return level


def candidate_from_values(
    spec: Randomisation, values: Mapping[str, object], site: str | None = None
) -> Candidate:
    """The candidate whose factor levels are read from screening ``values`` (item name to
    value) and ``site``."""
    levels = {
        f.name: factor_level(f, site if f.source == "site" else values.get(f.source))
        for f in spec.factors
    }
    return Candidate(levels)


def checked_levels(spec: Randomisation, levels: Mapping[str, str]) -> dict[str, str]:
    """``levels`` restricted to the spec's factors, each present and one of its levels."""
    out: dict[str, str] = {}
    for factor in spec.factors:
        level = levels.get(factor.name)
        if level is None or level == "":
            raise TransitionError(
                f"factor {factor.name}: the candidate has no level",
                code="ALLOC.E030",
                hint=f"enter {factor.source} on the screening form before allocating",
            )
        names = factor.level_names()
        if names and level not in names:
            raise TransitionError(
                f"factor {factor.name}: {level!r} is not one of its levels ({', '.join(names)})",
                code="ALLOC.E031",
                hint="use factor_level() to map a screening value to its level",
            )
        out[factor.name] = level
    return out


def stratum_key(spec: Randomisation, levels: Mapping[str, str]) -> str:
    """The stratum of ``levels``: ``factor=level|...`` for stratified blocks, else ``all``."""
    if spec.method != "stratified_blocks":
        return ALL
    return "|".join(f"{f.name}={levels.get(f.name, '')}" for f in spec.factors)
