"""The instrument base: declared items and options, input validation, and scoring."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from trialkit.errors import ValidationFailed
from trialkit.instruments.items import ItemDef, OptionDef
from trialkit.instruments.result import ScoreResult

__all__ = ["Instrument", "Value", "flag_options", "parse_decimal", "required_missing"]

Value = Decimal | bool | str | dt.date

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def parse_decimal(raw: object, what: str) -> Decimal:
    """``raw`` (str, int or Decimal) as a Decimal; binary floats and bools are refused.

    A float is refused because ``0.1`` as a binary float is not one tenth: pass the text the
    user typed (``"0.1"``) or a Decimal instead.
    """
    if isinstance(raw, bool):
        raise ValueError(f"{what}: {raw!r} is a boolean; enter a number")
    if isinstance(raw, float):
        raise ValueError(
            f"{what}: {raw!r} is a binary float; pass it as text ({str(raw)!r}) or a Decimal"
        )
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise ValueError(
                f"{what}: {raw!r} is not a number; enter digits such as 12.5"
            ) from None
    else:
        raise ValueError(f"{what}: {raw!r} ({type(raw).__name__}) is not a number")
    if not value.is_finite():
        raise ValueError(f"{what}: {raw!r} is not a finite number")
    return value


class Instrument(ABC):
    """A clinical score: its items, its options, and ``score(values, options)``.

    Subclasses set the class attributes and implement :meth:`_score`, which receives
    validated values (``Decimal`` for numbers, ``bool``, ``str`` codes, ``date``) with missing
    items absent, and the options with defaults filled in.
    """

    name: str
    title: str
    version: str
    reference: str
    items: tuple[ItemDef, ...]
    options: tuple[OptionDef, ...] = ()
    #: False for a profile without one total (RAND-36): its scores are in ``parts``.
    has_total: bool = True
    #: Inclusive bounds every value lies in, or None where the score has no fixed bounds
    #: (CDAI, SF-36 summaries) or the protocol sets them (lesion grade).
    score_range: tuple[Decimal, Decimal] | None = None

    def item(self, name: str) -> ItemDef:
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    def score(
        self, values: Mapping[str, object], options: Mapping[str, object] | None = None
    ) -> ScoreResult:
        """Validate ``values`` and ``options`` and compute the score.

        Raises :class:`~trialkit.errors.ValidationFailed` listing every bad value (unknown
        item, wrong type, out of range). Missing items are not errors: the result then has
        no value, lists them in ``missing`` and says why.
        """
        opts = self.parse_options(options or {})
        parsed = self.parse_values(values, opts)
        return self._score(parsed, opts)

    # -- validation ---------------------------------------------------------------------

    def item_defs(self, options: Mapping[str, object]) -> tuple[ItemDef, ...]:
        """The items as configured by ``options`` (ranges a protocol sets); default: items."""
        return self.items

    def parse_values(
        self, values: Mapping[str, object], options: Mapping[str, object]
    ) -> dict[str, Value]:
        defs = {item.name: item for item in self.item_defs(options)}
        errors: dict[str, list[str]] = {}
        out: dict[str, Value] = {}
        for key, raw in values.items():
            item = defs.get(key)
            if item is None:
                near = [n for n in defs if n.startswith(key.split("_")[0])][:5]
                hint = f"; did you mean one of {', '.join(near)}" if near else ""
                errors.setdefault(key, []).append(
                    f"{self.title}: unknown item {key!r}{hint} "
                    f"(see `trialkit score {self.name} --items`)"
                )
                continue
            if raw is None or (isinstance(raw, str) and raw.strip() == ""):
                continue
            try:
                out[key] = self._convert(item, raw)
            except ValueError as exc:
                errors.setdefault(key, []).append(str(exc))
        if errors:
            first = next(iter(errors.values()))[0]
            more = sum(len(v) for v in errors.values()) - 1
            suffix = f" (and {more} more)" if more else ""
            raise ValidationFailed(first + suffix, code="INSTR.E001", errors=errors)
        return out

    def _convert(self, item: ItemDef, raw: object) -> Value:
        what = f"{self.title}: item {item.name!r}"
        if item.data_type == "boolean":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, int) and raw in (0, 1):
                return bool(raw)
            if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
                return raw.strip().lower() in _TRUE
            raise ValueError(f"{what} value {raw!r} is not yes/no; enter true or false")
        if item.data_type == "date":
            if isinstance(raw, dt.date):
                return raw
            if isinstance(raw, str):
                try:
                    return dt.date.fromisoformat(raw.strip())
                except ValueError:
                    pass
            raise ValueError(f"{what} value {raw!r} is not a date; enter YYYY-MM-DD")
        if item.data_type == "text":
            if not isinstance(raw, str):
                raise ValueError(f"{what} value {raw!r} is not text")
            return raw
        if item.data_type == "code":
            code = (
                str(raw).strip()
                if isinstance(raw, (str, int)) and not isinstance(raw, bool)
                else None
            )
            if code is None or code not in item.codes:
                raise ValueError(
                    f"{what} value {raw!r} is not in its code list; "
                    f"enter one of {', '.join(item.codes)}"
                )
            return code
        value = parse_decimal(raw, f"{what} value")
        if item.data_type == "integer" and value != value.to_integral_value():
            raise ValueError(f"{what} value {raw} is not a whole number; enter a whole number")
        if item.data_type == "integer":
            value = value.quantize(Decimal(1))
        low, high = item.minimum, item.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            unit = f" {item.unit}" if item.unit else ""
            kind = "a whole number" if item.data_type == "integer" else "a number"
            raise ValueError(
                f"{what} value {raw} is out of range {item.range_text()}{unit}; "
                f"enter {kind} from {low if low is not None else '-inf'} "
                f"to {high if high is not None else 'inf'}"
            )
        if item.codes and str(value) not in item.codes:
            raise ValueError(
                f"{what} value {raw} is not allowed; enter one of {', '.join(item.codes)}"
            )
        return value

    def parse_options(self, options: Mapping[str, object]) -> dict[str, object]:
        defs = {o.name: o for o in self.options}
        out: dict[str, object] = {o.name: o.default for o in self.options}
        errors: dict[str, list[str]] = {}
        for key, raw in options.items():
            opt = defs.get(key)
            if opt is None:
                known = ", ".join(defs) or "none"
                errors.setdefault(key, []).append(
                    f"{self.title}: unknown option {key!r}; known options: {known}"
                )
                continue
            try:
                out[key] = self._convert_option(opt, raw)
            except ValueError as exc:
                errors.setdefault(key, []).append(str(exc))
        if errors:
            first = next(iter(errors.values()))[0]
            raise ValidationFailed(first, code="INSTR.E002", errors=errors)
        return out

    def _convert_option(self, opt: OptionDef, raw: object) -> object:
        what = f"{self.title}: option {opt.name!r}"
        if raw is None:
            return None
        if opt.data_type == "boolean":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
                return raw.strip().lower() in _TRUE
            raise ValueError(f"{what} value {raw!r} is not true/false")
        if opt.data_type == "text":
            text = str(raw)
            if opt.choices and text not in opt.choices:
                raise ValueError(f"{what} value {text!r}: choose one of {', '.join(opt.choices)}")
            return text
        if isinstance(raw, str) and raw.strip().lower() in {"none", "null"}:
            return None
        value = parse_decimal(raw, f"{what} value")
        if opt.data_type == "integer":
            if value != value.to_integral_value():
                raise ValueError(f"{what} value {raw!r} is not a whole number")
            return int(value)
        return value

    # -- scoring ------------------------------------------------------------------------

    @abstractmethod
    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        """Compute from validated values."""

    def _missing(
        self, missing: list[str], options: dict[str, object] | None = None, why: str = ""
    ) -> ScoreResult:
        reason = why or (f"{self.title}: no score, required item(s) missing: {', '.join(missing)}")
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=None,
            missing=list(missing),
            reason=reason,
            options=flag_options(options or {}),
        )


def flag_options(options: Mapping[str, object]) -> dict[str, bool | str | Decimal | int | None]:
    out: dict[str, bool | str | Decimal | int | None] = {}
    for key, value in options.items():
        if value is None or isinstance(value, (bool, str, Decimal, int)):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def required_missing(instrument: Instrument, values: Mapping[str, Value]) -> list[str]:
    """Names of required items that have no value."""
    return [i.name for i in instrument.items if i.required and i.name not in values]
