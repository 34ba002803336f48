"""How a study is designed: allocation, masking, sample size, age and sex limits, arms, doses."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from trialkit.protocol._base import Code, Model, Name
from trialkit.protocol.randomisation import Randomisation

__all__ = [
    "INTERVENTIONAL_MODELS",
    "OBSERVATIONAL_MODELS",
    "AgeLimits",
    "Allocation",
    "Arm",
    "Design",
    "DoseRule",
    "Intervention",
    "InterventionModel",
    "Masking",
    "Product",
    "Quantity",
    "QuantityRange",
    "SampleSize",
    "SequentialCohorts",
]


class Quantity(Model):
    """An exact amount with its unit symbol (see :mod:`trialkit.protocol.units`)."""

    amount: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.unit}"


class QuantityRange(Model):
    low: Decimal
    high: Decimal
    unit: str

    @model_validator(mode="after")
    def _ordered(self) -> QuantityRange:
        if self.low > self.high:
            raise ValueError(
                f"range {self.low}..{self.high} {self.unit}: the low end must come first"
            )
        return self

    def __str__(self) -> str:
        return f"{self.low.normalize():f}–{self.high.normalize():f} {self.unit}"


class Allocation(StrEnum):
    RANDOMISED = "randomised"
    NON_RANDOMISED = "non_randomised"
    NOT_APPLICABLE = "not_applicable"


class Masking(Model):
    level: Literal["none", "single", "double", "triple", "quadruple"] = "none"
    masked_roles: list[str] = Field(default_factory=list)
    placebo: bool = False
    description: str | None = None


class SampleSize(Model):
    target: int = Field(ge=1)
    with_attrition: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _attrition_not_smaller(self) -> SampleSize:
        if self.with_attrition is not None and self.with_attrition < self.target:
            raise ValueError(
                f"sample size with attrition {self.with_attrition} is below the target "
                f"{self.target}; it must be at least the target"
            )
        return self


class AgeLimits(Model):
    """Inclusive age limits in whole years; ``maximum`` absent means no upper limit."""

    minimum: int | None = Field(default=None, ge=0)
    maximum: int | None = Field(default=None, ge=0)


class SequentialCohorts(Model):
    """Dose groups filled one after another, lowest first, each opening after a safety review."""

    order: list[Code] = Field(min_length=1, description="Arm ids in the order they open.")
    cohort_size: int = Field(ge=1)
    review: str = Field(description="What must happen before the next cohort opens.")
    review_after_days: int = Field(ge=0, description="Days after the cohort's last dose.")


#: How participants are given the interventions (interventional studies).
INTERVENTIONAL_MODELS = ("single_group", "parallel", "crossover", "factorial", "sequential")
#: How participants are grouped and followed (observational studies; ClinicalTrials.gov
#: ``designInfo.observationalModel``).
OBSERVATIONAL_MODELS = (
    "cohort",
    "case_control",
    "case_only",
    "case_crossover",
    "ecologic_or_community",
    "family_based",
    "defined_population",
    "natural_history",
    "other",
)

InterventionModel = Literal[
    "single_group",
    "parallel",
    "crossover",
    "factorial",
    "sequential",
    "cohort",
    "case_control",
    "case_only",
    "case_crossover",
    "ecologic_or_community",
    "family_based",
    "defined_population",
    "natural_history",
    "other",
]


class Design(Model):
    """The design; observational studies use an observational ``intervention_model``
    (``cohort``, ``case_control`` ...) and ``allocation: not_applicable``."""

    allocation: Allocation
    intervention_model: InterventionModel
    time_perspective: Literal["prospective", "retrospective", "cross_sectional", "other"] | None = (
        Field(default=None, description="Observational studies: when the data arise.")
    )
    masking: Masking = Field(default_factory=Masking)
    control: str | None = Field(default=None, description="e.g. within-patient untreated lesion")
    sample_size: SampleSize
    age: AgeLimits = Field(default_factory=AgeLimits)
    sex: Literal["all", "female", "male"] = "all"
    cohorts: SequentialCohorts | None = None
    randomisation: Randomisation | None = Field(
        default=None,
        description="A randomised design: the method, ratio, blocks and factors "
        "(see docs/allocation.md).",
    )
    description: str | None = None


class Product(Model):
    """An investigational product: what it is and where it comes from."""

    name: str
    kind: Literal["cells", "exosomes", "drug", "biological", "device", "other"]
    source: str | None = Field(default=None, description="adipose, placental, umbilical cord ...")
    manufacturer: str | None = None
    description: str | None = None
    vial_content: list[Quantity | QuantityRange] = Field(
        default_factory=list, description="What one vial holds (several equivalent measures)."
    )
    vials_per_content: int = Field(
        default=1, ge=1, description="How many vials ``vial_content`` describes together."
    )


class DoseRule(Model):
    """How much one administration gives: ``amount`` ``unit`` [per ``per`` of ``basis_item``].

    ``50 ug per cm2`` of the item ``plaque_area`` (in cm2) gives 160 ug for a 3.2 cm2 plaque;
    ``2e6 cells per kg`` of ``weight`` gives 1.4e8 cells for 70 kg.
    """

    amount: Decimal = Field(gt=0)
    unit: str
    per: str | None = Field(default=None, description="Unit of the basis, e.g. cm2 or kg.")
    basis_item: Name | None = Field(default=None, description="Item holding the basis value.")
    volume: Quantity | None = Field(default=None, description="Volume the dose is given in.")
    diluent: str | None = None
    text: str | None = Field(default=None, description="The dose as the registry states it.")
    basis_visit: Literal["dosing", "latest"] = Field(
        default="latest",
        description="Where the basis is read: `dosing`, the value entered at the visit that "
        "gives the dosing event (the weight measured that day); `latest`, the newest entry.",
    )
    basis_where: dict[Name, str] = Field(
        default_factory=dict,
        description="Which row of a repeating item group holds the basis, by item and code "
        "(e.g. `{lesion_role: treated}`: the treated lesion, not its untreated control).",
    )
    tolerance_percent: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=100,
        description="A given dose may differ from the computed one by this percentage of it "
        "(both ends included) before it is a dose deviation; 0: any difference is one.",
    )

    @model_validator(mode="after")
    def _per_needs_basis(self) -> DoseRule:
        if (self.per is None) != (self.basis_item is None):
            raise ValueError("a dose per unit of something needs both `per` and `basis_item`")
        if self.basis_where and self.basis_item is None:
            raise ValueError("`basis_where` selects the row of the basis item; give `basis_item`")
        return self

    @property
    def tolerance(self) -> Decimal:
        """The tolerance as a fraction of the computed dose (10 % is 0.1)."""
        return self.tolerance_percent / 100

    def __str__(self) -> str:
        out = f"{self.amount.normalize():f} {self.unit}"
        if self.per:
            out += f" per {self.per} of {self.basis_item}"
        if self.volume:
            out += f" in {self.volume}"
        return out


class Intervention(Model):
    id: Code
    name: str
    product: Product
    route: Literal["intradermal", "intravenous", "subcutaneous", "oral", "topical", "other"]
    site: str | None = Field(default=None, description="e.g. central vein; plaque")
    dose: DoseRule | None = Field(
        default=None,
        description="Absent in a draft, or for a device; `study check` reports a missing dose "
        "of a drug, a biological, cells or exosomes (DOSE.E006).",
    )
    infusion_duration: QuantityRange | None = None
    category: str | None = None


class Arm(Model):
    id: Code
    name: str
    type: Literal[
        "experimental", "active_comparator", "placebo_comparator", "no_intervention", "other"
    ]
    description: str | None = Field(default=None, description="Verbatim registry text.")
    interventions: list[Intervention] = Field(
        default_factory=list,
        description="Empty for a no-intervention arm or an observational cohort; `study check` "
        "reports an experimental or comparator arm without one (ARM.E003).",
    )
    planned_size: int | None = Field(default=None, ge=1)
