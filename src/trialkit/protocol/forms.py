"""Case report forms in CDISC ODM terms: forms, item groups, items and code lists."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from trialkit.protocol._base import Code, Model, Name

__all__ = [
    "CodeList",
    "CodeListItem",
    "ConsentItems",
    "DataType",
    "EditCheck",
    "ExactlyOnce",
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


class ExactlyOnce(Model):
    """A row whose ``item`` holds ``value`` must occur exactly once in a repeating group (one
    treated lesion, one untreated control lesion)."""

    item: Name
    value: str


class ItemGroup(Model):
    """Items that belong together; ``repeating`` for one row per lesion, per diary day, ...

    A repeating group states the shape of its rows as data: ``min_repeats``/``max_repeats``
    (how many rows), ``unique`` (items whose values together tell the rows apart: no two rows
    share them) and ``exactly_once`` (a role that must occur in exactly one row). ``study
    check`` checks these definitions (``GROUP.E001``..``GROUP.E005``); a save refuses rows that
    break them.
    """

    id: Code
    name: str
    repeating: bool = False
    min_repeats: int | None = Field(default=None, ge=0)
    max_repeats: int | None = Field(default=None, ge=1)
    unique: list[Name] = Field(
        default_factory=list,
        description="Items whose values together identify a row: no two rows may share them.",
    )
    exactly_once: list[ExactlyOnce] = Field(
        default_factory=list, description="Roles that must occur in exactly one row each."
    )
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


class ConsentItems(Model):
    """The items of the consent form that recording the consent fills: the date it was signed,
    the consent form's version and who obtained it. They are captured once, with the consent,
    and never entered on the form by hand."""

    date: Name
    form_version: Name
    obtained_by: Name

    def names(self) -> tuple[str, str, str]:
        return (self.date, self.form_version, self.obtained_by)


class Form(Model):
    id: Code
    name: str
    groups: list[ItemGroup] = Field(min_length=1)
    checks: list[EditCheck] = Field(default_factory=list)
    repeating: bool = Field(default=False, description="May be entered more than once a visit.")
    consent: ConsentItems | None = Field(
        default=None,
        description="This form records informed consent: recording the consent fills these "
        "items (at the first visit that lists the form).",
    )

    def items(self) -> list[Item]:
        return [item for group in self.groups for item in group.items]
