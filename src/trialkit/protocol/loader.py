"""Read and write study definitions as YAML, with errors that give file, line and path.

Numbers are read exactly: a YAML float such as ``0.5`` becomes ``Decimal("0.5")`` from its text,
never through a binary float.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from trialkit.errors import DefinitionError, NotFound
from trialkit.protocol.study import Study

__all__ = [
    "dump_study",
    "json_schema",
    "load_study",
    "load_study_text",
    "resolve_study",
    "save_study",
    "shipped_studies",
]


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader that reads floats as Decimal from their text."""


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    return Decimal(text)


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _walk(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """The deepest node reachable along ``loc`` (pydantic error location)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def load_study_text(text: str, *, source: str = "<string>") -> Study:
    """Parse and validate a study definition from YAML text."""
    try:
        root = yaml.compose(text, Loader=_ExactLoader)
        data = yaml.load(text, Loader=_ExactLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError(
            f"not valid YAML: {exc.problem}",
            code="DEF.E001",
            hint="fix the YAML syntax at that line (indentation, a missing colon or quote)",
            file=source,
            line=line,
        ) from exc
    if not isinstance(data, dict):
        raise DefinitionError(
            "a study definition must be a YAML mapping (keys such as id, identity, design)",
            code="DEF.E002",
            file=source,
            line=1,
        )
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        problems: list[str] = []
        first_line: int | None = None
        for err in exc.errors():
            loc = tuple(err["loc"])
            node = _walk(root, loc)
            line = node.start_mark.line + 1 if node is not None else None
            if first_line is None:
                first_line, _first_path = line, _path(loc)
            problems.append(f"{source}:{line} at {_path(loc)}: {err['msg']}")
        count = len(problems)
        raise DefinitionError(
            f"{count} problem{'s' if count != 1 else ''} in the study definition:\n  "
            + "\n  ".join(problems),
            code="DEF.E003",
            hint="correct each field named; `trialkit study schema` prints what is allowed",
        ) from exc


def load_study(path: str | Path) -> Study:
    """Read a study definition from a YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFound(f"study file {str(p)!r} does not exist", code="DEF.E004") from exc
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            f"study file {str(p)!r} is not UTF-8 text", code="DEF.E005", file=str(p)
        ) from exc
    return load_study_text(text, source=str(p))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "E" not in str(value) else value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(value, "f"))


_Dumper.add_representer(Decimal, _represent_decimal)


def dump_study(study: Study) -> str:
    """The study as YAML text (defaults left out; ``load_study_text`` reads it back equal)."""
    data = _plain(study.model_dump(mode="python", exclude_defaults=True, by_alias=True))
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def save_study(study: Study, path: str | Path) -> None:
    Path(path).write_text(dump_study(study), encoding="utf-8")


def json_schema() -> str:
    """The JSON Schema of a study definition."""
    return json.dumps(Study.model_json_schema(), indent=2, ensure_ascii=False)


def shipped_studies() -> Iterator[tuple[str, str]]:
    """(file name, YAML text) of each study shipped as package data."""
    root = resources.files("trialkit.studies")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            yield entry.name, entry.read_text(encoding="utf-8")


def resolve_study(ref: str) -> Study:
    """A study from a file path, or a shipped study by its id or any of its registry ids."""
    p = Path(ref)
    if p.suffix in {".yaml", ".yml"} or p.exists():
        return load_study(p)
    known: list[str] = []
    for name, text in shipped_studies():
        study = load_study_text(text, source=f"trialkit/studies/{name}")
        ids = [study.id, *study.registry_ids]
        if ref.casefold() in (i.casefold() for i in ids):
            return study
        known.append(f"{study.id} ({', '.join(study.registry_ids)})")
    raise NotFound(
        f"no study {ref!r}: not a file, nor a shipped study id or registry id",
        code="DEF.E006",
        hint="shipped studies: " + "; ".join(known),
    )
