"""Properties over every instrument: random valid input never crashes, scores stay in range.

The inputs are valid by construction: each item is drawn inside its range, and the
instruments' cross-item rules are honoured (:func:`consistent`), so no example is refused and
no example returns without a check. Each example records which check it reached with
hypothesis ``event()`` (``pytest --hypothesis-show-statistics`` prints the shares), and
``test_every_example_reaches_a_check`` asserts that the share is 100 % for every instrument.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from trialkit.instruments import INSTRUMENTS, Instrument, ItemDef
from trialkit.instruments.pasi import pasi_area_score

OPTIONS = {"lesion_grade": {"minimum": 1, "maximum": 3}}
EXAMPLES = 40

#: instrument → Counter of the checks reached (filled by the property test)
REACHED: dict[str, Counter[str]] = {}


def item_value(item: ItemDef) -> st.SearchStrategy[object]:
    if item.data_type == "boolean":
        return st.booleans()
    if item.data_type == "code" or (item.codes and item.minimum is None):
        return st.sampled_from(list(item.codes))
    low = item.minimum if item.minimum is not None else Decimal(0)
    high = item.maximum if item.maximum is not None else low + 1000
    if item.data_type == "integer":
        return st.integers(int(low), int(high))
    return st.decimals(min_value=low, max_value=high, places=2).map(str)


def consistent(inst: Instrument, values: dict[str, object]) -> dict[str, object]:
    """``values`` made to satisfy the instrument's cross-item rules (documented per instrument).

    * PASI: a region's 0-6 area score, when given beside its percent, is the score of that
      percent (docs/instruments/pasi.md: they must agree);
    * SES-CD: a segment not reached has no values, and at most one segment has an impassable
      narrowing (3): the scope stops there (the first from the rectum keeps it, others get 2);
    * modified Mayo: with friability the endoscopic subscore is at least 2;
    * CTCAE fever: the temperature is entered in °C or in °F, not both (°C is kept);
    * CTCAE selectable grades: a selected grade beside a measured value is the measured grade.
    """
    out = dict(values)
    if inst.name == "pasi":
        for key in [k for k in out if k.endswith("_area_score")]:
            percent = out.get(key.replace("_area_score", "_area_percent"))
            if percent is not None:
                out[key] = pasi_area_score(Decimal(str(percent)))
    if inst.name == "sescd":
        for flag in [k for k in out if k.endswith("_reached")]:
            if out[flag] is False:
                segment = flag.removesuffix("_reached")
                out = {k: v for k, v in out.items() if k == flag or not k.startswith(segment)}
        impassable = [k for k in out if k.endswith("_narrowing") and out[k] == 3]
        for key in impassable[:-1]:  # segments run ileum → rectum; the scope enters at the rectum
            out[key] = 2
    if inst.name == "modified_mayo" and out.get("friability") is True and out.get("endoscopy") == 1:
        out["endoscopy"] = 2
    if inst.name == "ctcae_fever" and "temperature" in out:
        out.pop("temperature_f", None)
    if "grade" in out and len(out) > 1 and inst.name.startswith("ctcae_"):
        measured = inst.score({k: v for k, v in out.items() if k != "grade"}).value
        if measured is None or measured == 0:
            del out["grade"]
        else:
            out["grade"] = int(measured)
    return out


@pytest.mark.parametrize("name", list(INSTRUMENTS))
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_random_valid_input_scores_in_range(name: str, data: st.DataObject) -> None:
    inst = INSTRUMENTS[name]
    options = OPTIONS.get(name, {})
    values: dict[str, object] = {}
    for item in inst.item_defs(inst.parse_options(options)):
        present = True if item.required else data.draw(st.booleans())
        if present and data.draw(st.integers(0, 19)) > 0:  # now and then leave one out
            values[item.name] = data.draw(item_value(item))
    reached = REACHED.setdefault(name, Counter())
    reached["examples"] += 1  # every drawn example, counted before it is scored
    result = inst.score(consistent(inst, values), options)  # valid input: never refused
    assert result.version == inst.version
    if result.value is None and inst.has_total:
        assert result.reason, (name, values)  # no score says why, never a silent 0
        check = "no score, with its reason"
    elif result.value is None:
        # no single total (RAND-36): every scale present lies within 0..100, and a scale
        # left out is explained by its missing items
        assert all(Decimal(0) <= v <= Decimal(100) for v in result.parts.values()), result.parts
        assert result.parts or result.missing, (name, values)
        check = "scales in range" if result.parts else "no scale, with the missing items"
    else:
        assert result.reason is None
        if inst.score_range is not None:
            low, high = inst.score_range
            assert low <= result.value <= high, (name, result.value)
        check = "total in range"
    event(check)
    reached[check] += 1
    reached["checked"] += 1


def test_every_example_reaches_a_check() -> None:
    """Every example of the property above reached an assertion (none returned early)."""
    if not REACHED:
        pytest.skip("run with the property test (same session) to count its examples")
    shares = {name: c["checked"] / c["examples"] for name, c in REACHED.items()}
    assert shares == dict.fromkeys(REACHED, 1.0), shares
