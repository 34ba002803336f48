"""Lesion-level scores: the target lesion severity score and a protocol-defined grade."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from trialkit.errors import ValidationFailed
from trialkit.instruments.base import Instrument, Value, flag_options, required_missing
from trialkit.instruments.items import ItemDef, OptionDef
from trialkit.instruments.result import ScoreResult

__all__ = ["LESION_GRADE", "TLSS", "LesionGrade", "TargetLesionSeverity"]

_SEVERITY = {"0": "none", "1": "slight", "2": "moderate", "3": "severe", "4": "very severe"}


class TargetLesionSeverity(Instrument):
    """TLSS = erythema + scaling + induration of one target plaque, each 0-4 (total 0-12)."""

    name = "tlss"
    title = "TLSS"
    version = "TLSS 0-12"
    reference = (
        "Target lesion severity score of a psoriatic plaque: sum of erythema, scaling and "
        "induration, each 0-4."
    )
    items = tuple(
        ItemDef(
            name=sign,
            label=f"Target lesion {sign}",
            data_type="integer",
            minimum=Decimal(0),
            maximum=Decimal(4),
            codes=dict(_SEVERITY),
        )
        for sign in ("erythema", "scaling", "induration")
    )
    score_range = (Decimal(0), Decimal(12))

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = required_missing(self, values)
        if missing:
            return self._missing(missing, options)
        parts = {i.name: values[i.name] for i in self.items}
        nums = [v for v in parts.values() if isinstance(v, Decimal)]
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=sum(nums, Decimal(0)),
            parts={k: v for k, v in parts.items() if isinstance(v, Decimal)},
            options=flag_options(options),
        )


class LesionGrade(Instrument):
    """A lesion grade whose range the protocol states (e.g. 1-3); options set the range."""

    name = "lesion_grade"
    title = "Lesion grade"
    version = "protocol-defined lesion grade"
    reference = (
        "Investigator's grade of lesion severity on a whole-number scale whose range the "
        "protocol defines (IRCT20080901001159N29 uses 1-3)."
    )
    items = (
        ItemDef(
            name="grade",
            label="Lesion severity grade (range set by the protocol)",
            data_type="integer",
        ),
    )
    options = (
        OptionDef(
            name="minimum",
            data_type="integer",
            default=None,
            description="Lowest grade the protocol allows (required).",
        ),
        OptionDef(
            name="maximum",
            data_type="integer",
            default=None,
            description="Highest grade the protocol allows (required).",
        ),
    )

    def item_defs(self, options: Mapping[str, object]) -> tuple[ItemDef, ...]:
        low, high = options.get("minimum"), options.get("maximum")
        if not isinstance(low, int) or not isinstance(high, int):
            raise ValidationFailed(
                "Lesion grade: the protocol must state the grade range; pass the options "
                "minimum and maximum (e.g. minimum=1, maximum=3)",
                code="INSTR.E003",
                errors={"options": ["minimum and maximum are required"]},
            )
        if low > high:
            raise ValidationFailed(
                f"Lesion grade: minimum {low} is above maximum {high}; the lower bound comes first",
                code="INSTR.E003",
                errors={"options": [f"minimum {low} > maximum {high}"]},
            )
        item = self.items[0].model_copy(update={"minimum": Decimal(low), "maximum": Decimal(high)})
        return (item,)

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        grade = values.get("grade")
        if grade is None:
            return self._missing(["grade"], options)
        assert isinstance(grade, Decimal)
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=grade,
            parts={"grade": grade},
            flags={"range": f"{options['minimum']}..{options['maximum']}"},
            options=flag_options(options),
        )


TLSS = TargetLesionSeverity()
LESION_GRADE = LesionGrade()
