"""Which column of a hospital's table holds which item (``trialkit prescreen --columns``).

A mapping file is YAML (or JSON)::

    table: research.ibd_screening      # optional; --table overrides it
    id_column: patient_key             # the column that identifies a candidate
    columns:                           # item (or <item>_uln / <item>_lln): the table's column
      age: age_years
      ibd_type: ibd_subtype
      alt_uln: alt_upper_limit_site

The mapping is complete: an item it does not list is missing for every candidate (and
reported), so that a column is never picked up by a guess. Each mapped column is cast to its
item's type inside the query; the values are never read by trialkit, only the verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialkit.errors import NotFound, ValidationFailed

__all__ = ["ColumnMapping", "load_mapping"]


@dataclass(frozen=True)
class ColumnMapping:
    id_column: str
    columns: Mapping[str, str] = field(default_factory=dict)
    table: str | None = None

    def check(self, names: Mapping[str, Any]) -> None:
        """Refuse a mapped name that is no item of the criteria (nor an item's limit)."""
        unknown = [name for name in self.columns if name not in names]
        if unknown:
            raise ValidationFailed(
                f"column mapping: {', '.join(unknown)} "
                f"{'are' if len(unknown) > 1 else 'is'} no item of the criteria "
                f"(items: {', '.join(n for n in names if not n.endswith(('_uln', '_lln')))})",
                code="PRESCREEN.E021",
                hint="map each item the criteria read to the column that holds it",
            )

    def missing_columns(self, present: set[str]) -> list[str]:
        """The mapped columns (and the id column) that the table does not have."""
        wanted = [self.id_column, *self.columns.values()]
        return [c for c in wanted if c not in present]


def _text(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationFailed(
            f"{path.name}: {where} must be a column name, not {value!r}", code="PRESCREEN.E022"
        )
    return value


def load_mapping(path: str | Path, id_column: str = "candidate_id") -> ColumnMapping:
    """Read a mapping file; ``id_column`` is the id column when the file names none."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"column mapping {str(path)!r} does not exist", code="PRESCREEN.E022")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeError) as exc:
        raise ValidationFailed(
            f"{path.name}: the column mapping is not valid YAML or JSON: {exc}",
            code="PRESCREEN.E022",
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise ValidationFailed(
            f"{path.name}: a column mapping needs 'columns:' (item: column), "
            "with optional 'table:' and 'id_column:'",
            code="PRESCREEN.E022",
        )
    extra = set(data) - {"table", "id_column", "columns"}
    if extra:
        raise ValidationFailed(
            f"{path.name}: unknown key(s) {', '.join(sorted(extra))}; "
            "use table, id_column and columns",
            code="PRESCREEN.E022",
        )
    columns = {
        _text(item, "an item", path): _text(column, f"the column of {item}", path)
        for item, column in data["columns"].items()
    }
    table = data.get("table")
    return ColumnMapping(
        id_column=_text(data.get("id_column", id_column), "id_column", path),
        columns=columns,
        table=None if table is None else _text(table, "table", path),
    )
