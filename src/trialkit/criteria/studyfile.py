"""A small YAML/JSON file holding just a study's ``items``, ``criteria`` and ``ranges``.

``trialkit prescreen`` accepts such a file as well as a study, which is handy for screening
against draft criteria before they are part of a study definition::

    items:
      - {name: alt, data_type: decimal, unit: U/L}
      - {name: psoriasis_type, data_type: code, codes: [plaque, pustular]}
    ranges:
      alt: {uln: "40"}            # decimal numerals, as text to keep them exact
    criteria:
      - {id: E5, kind: exclusion, text: "...", expression: "alt > 3 * uln(alt)"}
      - {id: I4, kind: inclusion, text: "...", judgement_item: standard_treatment_failure}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from trialkit.criteria.spec import (
    DATA_TYPES,
    Criterion,
    CriterionLike,
    DataType,
    ItemSpec,
    ReferenceRange,
    ReferenceRanges,
    exact,
)
from trialkit.errors import DefinitionError

__all__ = ["StudyCriteria", "load_criteria_file"]


@dataclass(frozen=True)
class StudyCriteria:
    items: dict[str, ItemSpec]
    criteria: tuple[CriterionLike, ...]
    ranges: ReferenceRanges


def _fail(path: Path, where: str, message: str) -> DefinitionError:
    return DefinitionError(message, code="DEF.E101", file=str(path), path=where)


def _limit(path: Path, where: str, raw: object) -> Any:
    if raw is None:
        return None
    if isinstance(raw, float):
        raise _fail(
            path, where, f'{raw!r}: write limits as quoted decimals ("40") to keep them exact'
        )
    if isinstance(raw, int | str | Decimal):
        try:
            return exact(raw)
        except (ArithmeticError, ValueError) as exc:
            raise _fail(path, where, f"{raw!r} is not a number") from exc
    raise _fail(path, where, f"{raw!r} is not a number")


def load_criteria_file(path: str | Path) -> StudyCriteria:
    """Read ``path`` (.yaml, .yml or .json); raises :class:`DefinitionError` naming the field."""
    from trialkit.protocol.loader import parse_yaml, read_study_file

    path = Path(path)
    text = read_study_file(path)  # a directory, a missing file, bytes that are not UTF-8
    try:
        data = json.loads(text) if path.suffix == ".json" else parse_yaml(text, source=str(path))
    except json.JSONDecodeError as exc:
        raise _fail(path, "", f"not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # JSON nested too deeply, a huge integer
        raise _fail(path, "", f"not valid JSON: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(path, "", "the file must be a mapping with items, criteria and ranges")
    items: dict[str, ItemSpec] = {}
    for i, raw in enumerate(data.get("items") or []):
        where = f"items[{i}]"
        if not isinstance(raw, dict) or "name" not in raw:
            raise _fail(path, where, "each item needs a name and a data_type")
        data_type = raw.get("data_type")
        if data_type not in DATA_TYPES:
            raise _fail(
                path, where, f"data_type {data_type!r} is not one of {', '.join(DATA_TYPES)}"
            )
        codes = raw.get("codes")
        items[str(raw["name"])] = ItemSpec(
            str(raw["name"]),
            cast(DataType, data_type),
            raw.get("unit"),
            tuple(str(c) for c in codes) if codes is not None else None,
            raw.get("analyte"),
        )
    criteria: list[Criterion] = []
    for i, raw in enumerate(data.get("criteria") or []):
        where = f"criteria[{i}]"
        if not isinstance(raw, dict) or "id" not in raw or "kind" not in raw:
            raise _fail(path, where, "each criterion needs an id and a kind")
        criteria.append(
            Criterion(
                str(raw["id"]),
                raw["kind"],
                str(raw.get("text", "")),
                raw.get("expression"),
                raw.get("judgement_item"),
            )
        )
    ranges: dict[str, ReferenceRange] = {}
    for name, raw in (data.get("ranges") or {}).items():
        where = f"ranges.{name}"
        if not isinstance(raw, dict):
            raise _fail(path, where, "write a range as {lln: ..., uln: ...}")
        ranges[str(name)] = ReferenceRange(
            _limit(path, where + ".lln", raw.get("lln")),
            _limit(path, where + ".uln", raw.get("uln")),
        )
    return StudyCriteria(items, tuple(criteria), ReferenceRanges(ranges))
