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


#: The largest and smallest magnitudes a number in a study may have (10**30, 10**-30): far
#: beyond any dose, count or limit, and small enough that exact arithmetic stays cheap.
MAX_EXPONENT = 30
#: How deeply a study's YAML may nest (the shipped studies use 9 levels).
MAX_DEPTH = 64


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader that reads floats as Decimal from their text."""


class _BadNumber(yaml.constructor.ConstructorError):
    """A number that is not finite, or too large or small, in a study's YAML."""


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except ArithmeticError:  # .inf, .nan: YAML floats that have no exact value
        value = Decimal("NaN")
    if not value.is_finite():
        raise _BadNumber(
            None, None, f"{text} is not a finite number; write the value itself", node.start_mark
        )
    if value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise _BadNumber(
            None,
            None,
            f"{text} is out of range (at most 1e{MAX_EXPONENT} in size, at least "
            f"1e-{MAX_EXPONENT})",
            node.start_mark,
        )
    return value


def _integer(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    try:
        value = yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError as exc:  # more digits than Python converts (int_max_str_digits)
        raise _BadNumber(None, None, "the integer is far too long", node.start_mark) from exc
    if abs(int(value)) >= 10 ** (MAX_EXPONENT + 1):
        raise _BadNumber(
            None, None, f"the integer is out of range (at most 1e{MAX_EXPONENT})", node.start_mark
        )
    return int(value)


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)
_ExactLoader.add_constructor("tag:yaml.org,2002:int", _integer)


def _depth(node: yaml.Node | None) -> int:
    """How deeply ``node`` nests (without recursion, so any depth can be measured)."""
    deepest = 0
    stack: list[tuple[yaml.Node, int]] = [] if node is None else [(node, 1)]
    while stack:
        here, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(here, yaml.SequenceNode):
            stack.extend((child, level + 1) for child in here.value)
        elif isinstance(here, yaml.MappingNode):
            stack.extend((v, level + 1) for _, v in here.value)
    return deepest


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The node tree and the data of ``text``, or a :class:`DefinitionError` naming the line."""
    try:
        root = yaml.compose(text, Loader=_ExactLoader)
        if _depth(root) > MAX_DEPTH:
            raise DefinitionError(
                f"the YAML nests more than {MAX_DEPTH} levels deep",
                code="DEF.E007",
                hint="a study definition is a few levels deep; check the indentation",
                file=source,
            )
        loader = _ExactLoader(text)
        try:
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _BadNumber as exc:
        mark = exc.problem_mark
        raise DefinitionError(
            str(exc.problem),
            code="DEF.E008",
            hint="numbers in a study are finite decimals such as 0.5 or 1.0e+6",
            file=source,
            line=mark.line + 1 if mark is not None else None,
        ) from exc
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
    except yaml.reader.ReaderError as exc:  # a control character or a byte that is not text
        raise DefinitionError(
            f"not valid YAML: character {exc.character!r} at position {exc.position} "
            "is not allowed",
            code="DEF.E001",
            hint="remove control characters; a study is UTF-8 text",
            file=source,
        ) from exc
    except RecursionError as exc:
        raise DefinitionError(
            f"the YAML nests more than {MAX_DEPTH} levels deep",
            code="DEF.E007",
            hint="a study definition is a few levels deep; check the brackets and indentation",
            file=source,
        ) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(
            f"not valid YAML: {type(exc).__name__}",
            code="DEF.E001",
            hint="check the file is a YAML study definition",
            file=source,
        ) from exc
    return root, data


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


def parse_yaml(text: str, *, source: str = "<string>") -> Any:
    """The data of a YAML text read as a study is (exact decimals, finite numbers of sensible
    size, no control characters, at most :data:`MAX_DEPTH` levels), or a
    :class:`DefinitionError` naming the file and line."""
    return _compose(text, source)[1]


def load_study_text(text: str, *, source: str = "<string>") -> Study:
    """Parse and validate a study definition from YAML text."""
    root, data = _compose(text, source)
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


#: The largest study file read (the shipped studies are under 100 kB).
MAX_FILE_BYTES = 10_000_000


def read_study_file(path: str | Path) -> str:
    """The text of a study file, or an error naming the file and what is wrong with it."""
    p = Path(path)
    try:
        if p.is_dir():
            raise DefinitionError(
                f"{str(p)!r} is a directory, not a study file",
                code="DEF.E005",
                hint="give the path of a .yaml file",
            )
        if p.exists() and p.stat().st_size > MAX_FILE_BYTES:
            raise DefinitionError(
                f"study file {str(p)!r} is larger than {MAX_FILE_BYTES // 1_000_000} MB",
                code="DEF.E005",
                hint="a study definition is a small YAML file",
            )
        return p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFound(f"study file {str(p)!r} does not exist", code="DEF.E004") from exc
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            f"study file {str(p)!r} is not UTF-8 text (byte {exc.start})",
            code="DEF.E005",
            hint="save it as UTF-8",
        ) from exc
    except OSError as exc:
        raise DefinitionError(
            f"cannot read study file {str(p)!r}: {exc.strerror}", code="DEF.E005"
        ) from exc


def load_study(path: str | Path) -> Study:
    """Read a study definition from a YAML file."""
    return load_study_text(read_study_file(path), source=str(path))


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
