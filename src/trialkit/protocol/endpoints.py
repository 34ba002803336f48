"""Computable endpoint definitions (dependency-free pydantic models).

An outcome of a study lists its endpoints; ``trialkit.analysis`` computes them from the captured
data. Each spec is one member of a union discriminated on ``type``; ``name`` labels it in reports.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

__all__ = [
    "AdverseEventIncidence",
    "ChangeFromBaseline",
    "DoseSelection",
    "EffToxPoints",
    "EfficacyDefinition",
    "EndpointSpec",
    "EndpointSpecs",
    "PercentImprovement",
    "ResponderRule",
    "TimeToFirstEvent",
    "ToxicityDefinition",
    "WithinPatientDifference",
]

CIMethod = Literal["clopper-pearson", "wilson", "wilson-cc", "jeffreys"]
Alternative = Literal["two-sided", "greater", "less"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="How the endpoint is labelled in reports.")
    level: Decimal = Field(default=Decimal("0.95"), gt=0, lt=1)


class PercentImprovement(_Spec):
    """(baseline − value)/baseline × 100, exactly; responder if ≥ each threshold (inclusive)."""

    type: Literal["percent_improvement"]
    item: str
    baseline_visit: str
    visit: str
    responder_thresholds: list[Decimal] = Field(
        default_factory=lambda: [Decimal(50), Decimal(75), Decimal(90)]
    )
    ci_method: CIMethod = "clopper-pearson"
    null_proportion: Decimal | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Test the responder proportions against this null proportion (exact "
        "binomial test).",
    )
    test_alternative: Alternative = "two-sided"


class WithinPatientDifference(_Spec):
    """A within-participant difference per visit; paired t, exact Wilcoxon, sign test and
    Hodges–Lehmann. ``direction`` says which way it is taken (``treated_minus_control``, the
    default, or ``control_minus_treated``, e.g. when a lower value is better and a positive
    difference should mean benefit); ``alternative`` is the tests' alternative."""

    type: Literal["within_patient_difference"]
    item: str
    role_item: str | None = Field(
        default=None, description="The case report form item that says treated or control."
    )
    by: Literal["role"] = "role"
    treated: str = "treated"
    control: str = "control"
    visits: list[str] = Field(min_length=1)
    zero_method: Literal["wilcox", "pratt"] = "wilcox"
    direction: Literal["treated_minus_control", "control_minus_treated"] = "treated_minus_control"
    alternative: Alternative = "two-sided"


class ChangeFromBaseline(_Spec):
    """Change per visit: mean change with t interval, and the mixed model.

    ``direction``: ``value_minus_baseline`` (default) or ``baseline_minus_value`` (a fall
    counted positive, e.g. a symptom score); ``alternative`` is the t tests' alternative;
    ``adjust_for_baseline`` adds the baseline value as a covariate of the mixed model;
    ``df_method`` is the degrees of freedom of its intervals (``normal``: Wald, df ∞; ``nlme``:
    t with R nlme's denominator df).
    """

    type: Literal["change_from_baseline"]
    item: str
    baseline_visit: str
    visits: list[str] = Field(min_length=1)
    direction: Literal["value_minus_baseline", "baseline_minus_value"] = "value_minus_baseline"
    alternative: Alternative = "two-sided"
    adjust_for_baseline: bool = False
    df_method: Literal["normal", "nlme"] = "normal"


RuleName = Literal[
    "cdai_remission",
    "cdai_response",
    "mayo_remission",
    "mayo_response",
    "value_below",
    "value_at_most",
    "value_at_least",
]


class ResponderRule(_Spec):
    """A named responder rule with parameters; proportions with exact or Wilson intervals.

    Rules and their parameters (defaults in brackets):

    * ``cdai_remission``: value < ``threshold`` [150];
    * ``cdai_response``: baseline − value ≥ ``fall`` [100] (70 is a common alternative);
    * ``mayo_remission``: total ≤ ``max_total`` [2] and every subscore item ≤
      ``max_subscore`` [1];
    * ``mayo_response``: baseline − total ≥ ``min_fall`` [3] and ≥ ``min_fall_percent`` [30]
      % of baseline, and, when ``bleeding_item`` is given, its fall ≥ 1 or its value ≤ 1;
    * ``value_below`` / ``value_at_most`` / ``value_at_least``: compare with ``threshold``.
    """

    type: Literal["responder_rule"]
    item: str
    rule: RuleName
    parameters: dict[str, Decimal] = Field(default_factory=dict)
    baseline_visit: str | None = None
    visits: list[str] = Field(min_length=1)
    subscore_items: list[str] = Field(default_factory=list)
    bleeding_item: str | None = None
    ci_method: CIMethod = "clopper-pearson"
    null_proportion: Decimal | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Test the responder proportion against this null proportion (exact "
        "binomial test).",
    )
    test_alternative: Alternative = "two-sided"

    @model_validator(mode="after")
    def _baseline_needed(self) -> ResponderRule:
        if self.rule in ("cdai_response", "mayo_response") and self.baseline_visit is None:
            raise ValueError(f"rule {self.rule} compares with baseline: set baseline_visit")
        if self.rule.startswith("value_") and "threshold" not in self.parameters:
            raise ValueError(f"rule {self.rule} needs parameters.threshold")
        return self


AEDimension = Literal["arm", "grade", "serious", "related", "term", "organ_system"]


class AdverseEventIncidence(_Spec):
    """Participants with ≥ 1 event per cell (worst grade when by grade), with the number of
    events beside them; by term and by organ system on request; every cell seen in any arm
    shown for every arm; arms in dose order (``arm_order``, lowest dose first, else the
    protocol's arm order)."""

    type: Literal["adverse_event_incidence"]
    by: list[AEDimension] = Field(default_factory=lambda: list[AEDimension](["arm"]))
    ci_method: CIMethod = "clopper-pearson"
    arm_order: list[str] = Field(
        default_factory=list, description="Arms, lowest dose first (default: the protocol's)."
    )


class TimeToFirstEvent(_Spec):
    """Kaplan–Meier of days from the first dose to the first matching adverse event."""

    type: Literal["time_to_first_event"]
    min_grade: int = Field(default=1, ge=1, le=5)
    related: bool | None = None
    serious: bool | None = None
    origin: Literal["first_dose"] = "first_dose"
    ci_transform: Literal["log-log", "log", "plain"] = "log-log"
    at_days: list[Decimal] = Field(
        default_factory=list,
        description="Times (days from the first dose) at which S, SE and limits are reported.",
    )

    @model_validator(mode="after")
    def _days_not_negative(self) -> TimeToFirstEvent:
        bad = [d for d in self.at_days if d < 0]
        if bad:
            raise ValueError(f"at_days {bad[0]} is negative; give days ≥ 0 from the first dose")
        return self


class EfficacyDefinition(BaseModel):
    """Per-patient efficacy yes/no.

    * ``lesion_better``: at ``visit``, the treated value is at least ``margin`` [1] below the
      control value (e.g. the treated lesion at least one grade better than its control);
    * ``percent_improvement``: (baseline − value)/baseline × 100 ≥ ``margin`` at ``visit``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["lesion_better", "percent_improvement"]
    item: str
    visit: str
    margin: Decimal = Decimal(1)
    treated: str = "treated"
    control: str = "control"
    baseline_visit: str | None = None

    @model_validator(mode="after")
    def _baseline(self) -> EfficacyDefinition:
        if self.kind == "percent_improvement" and self.baseline_visit is None:
            raise ValueError("percent_improvement efficacy needs baseline_visit")
        return self


class ToxicityDefinition(BaseModel):
    """Per-patient toxicity yes/no: any adverse event matching the filter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_grade: int = Field(default=2, ge=1, le=5)
    related: bool | None = True
    serious: bool | None = None


class EffToxPoints(BaseModel):
    """The three elicited points of the EffTox contour (see trialkit.analysis.efftox)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eff_at_no_tox: Decimal
    tox_at_full_eff: Decimal
    mid_eff: Decimal
    mid_tox: Decimal


class DoseSelection(_Spec):
    """The pre-specified utility rule over parallel dose arms (see dose_selection)."""

    type: Literal["dose_selection"]
    doses: list[str] = Field(min_length=1, description="Arms, lowest dose first.")
    efficacy: EfficacyDefinition
    toxicity: ToxicityDefinition = Field(default_factory=ToxicityDefinition)
    phi_t: Decimal = Decimal("0.35")
    c_t: Decimal = Decimal("0.95")
    phi_e: Decimal = Decimal("0.25")
    c_e: Decimal = Decimal("0.90")
    utilities: tuple[Decimal, Decimal, Decimal, Decimal] = (
        Decimal(100),
        Decimal(40),
        Decimal(60),
        Decimal(0),
    )
    prior: tuple[Decimal, Decimal, Decimal, Decimal] = (
        Decimal("0.5"),
        Decimal("0.5"),
        Decimal("0.5"),
        Decimal("0.5"),
    )
    draws: int = Field(default=20_000, ge=100)
    seed: int = 20240601
    efftox: EffToxPoints | None = None
    score: Literal["posterior_mean_utility", "boin12_desirability"] = Field(
        default="posterior_mean_utility",
        description="How admissible doses are ranked: the Dirichlet posterior mean utility, "
        "or BOIN12's rank-based desirability score.",
    )
    gate: Literal["exceeds", "reaches"] = Field(
        default="exceeds",
        description="Inadmissible when the gate probability exceeds its cut-off (Pr > c) or "
        "reaches it (Pr ≥ c).",
    )
    utility_prior: tuple[Decimal, Decimal] = Field(
        default=(Decimal(1), Decimal(1)),
        description="Beta prior on the standardised utility (BOIN12 desirability).",
    )


EndpointSpec = Annotated[
    PercentImprovement
    | WithinPatientDifference
    | ChangeFromBaseline
    | ResponderRule
    | AdverseEventIncidence
    | TimeToFirstEvent
    | DoseSelection,
    Field(discriminator="type"),
]


class EndpointSpecs(RootModel[list[EndpointSpec]]):
    """A list of endpoint specs, as in a spec file or a protocol's outcomes."""
