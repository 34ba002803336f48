"""Case report forms in CDISC ODM terms: forms, item groups, items and code lists."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from trialkit.protocol._base import Code, Model, Name

__all__ = [
    "CodeList",
    "CodeListItem",
    "DataType",
    "EditCheck",
    "Form",
    "Item",
    "ItemGroup",
]


class DataType(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CODE = "code"


class CodeListItem(Model):
    code: str
    label: str


class CodeList(Model):
    id: Code
    items: list[CodeListItem] = Field(min_length=1)

    def codes(self) -> list[str]:
        return [i.code for i in self.items]


class Item(Model):
    """One question on a form. ``instrument`` names the clinical score it feeds."""

    name: Name
    label: str
    data_type: DataType
    unit: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    required: bool = True
    codelist: Code | None = None
    instrument: str | None = Field(default=None, description="Score this item feeds, e.g. pasi.")
    derived: str | None = Field(
        default=None, description="Computed, not entered: the instrument whose score it holds."
    )
    judgement: bool = Field(default=False, description="An investigator's yes/no judgement.")
    help: str | None = None

    @model_validator(mode="after")
    def _range_ordered(self) -> Item:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"item {self.name}: range {self.min}..{self.max} is empty; "
                "the minimum must come first"
            )
        if self.data_type is DataType.CODE and self.codelist is None:
            raise ValueError(f"item {self.name}: a code item needs a `codelist`")
        return self


class ItemGroup(Model):
    """Items that belong together; ``repeating`` for one row per lesion, per diary day, ..."""

    id: Code
    name: str
    repeating: bool = False
    min_repeats: int | None = Field(default=None, ge=0)
    max_repeats: int | None = Field(default=None, ge=1)
    instrument: str | None = Field(
        default=None, description="All items of this instrument, when `items` does not list them."
    )
    instrument_options: dict[str, str | int | Decimal | bool] = Field(
        default_factory=dict, description="Scoring options of the instrument (e.g. a grade range)."
    )
    items: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_items(self) -> ItemGroup:
        if not self.items and not self.instrument:
            raise ValueError(
                f"item group {self.id}: give `items`, or an `instrument` to take them from"
            )
        return self


class EditCheck(Model):
    """A cross-field rule over a form's values: ``hard`` refuses a save, ``soft`` opens a query."""

    id: Code
    expression: str = Field(description="Must hold; in the criteria language.")
    message: str
    severity: str = Field(default="hard", pattern="^(hard|soft)$")


class Form(Model):
    id: Code
    name: str
    groups: list[ItemGroup] = Field(min_length=1)
    checks: list[EditCheck] = Field(default_factory=list)
    repeating: bool = Field(default=False, description="May be entered more than once a visit.")

    def items(self) -> list[Item]:
        return [item for group in self.groups for item in group.items]
