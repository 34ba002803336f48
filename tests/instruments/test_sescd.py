from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.errors import ValidationFailed
from trialkit.instruments import SESCD, sescd_threshold_met
from trialkit.instruments.sescd import SESCD_SEGMENTS

VARS = ("ulcer_size", "ulcerated_surface", "affected_surface", "narrowing")


def seg(name: str, *scores: int) -> dict[str, object]:
    out: dict[str, object] = {f"{name}_reached": True}
    out |= {f"{name}_{v}": s for v, s in zip(VARS, scores, strict=True)}
    return out


def test_hand_computed_example() -> None:
    # ileum 2+2+2+1 = 7; right colon 1+1+1+0 = 3; transverse 0; left 1+1+2+0 = 4; rectum 0
    values = (
        seg("ileum", 2, 2, 2, 1)
        | seg("right_colon", 1, 1, 1, 0)
        | seg("transverse_colon", 0, 0, 0, 0)
        | seg("left_colon", 1, 1, 2, 0)
        | seg("rectum", 0, 0, 0, 0)
    )
    result = SESCD.score(values)
    assert result.value == 14
    assert result.parts["ileum"] == 7
    assert result.parts["total_ulcer_size"] == 4
    assert result.flags["segments_affected"] == 3
    assert result.version == "SES-CD 2004"


def test_segment_not_reached_is_excluded() -> None:
    values = seg("ileum", 3, 3, 3, 3) | {"right_colon_reached": False}
    values |= seg("transverse_colon", 1, 1, 1, 0) | seg("left_colon", 0, 0, 0, 0)
    values |= seg("rectum", 0, 0, 1, 0)
    result = SESCD.score(values)
    assert result.value == 16
    assert "right_colon" not in result.parts
    assert result.flags["segments_reached"] == 4


def test_values_for_a_segment_not_reached_are_refused() -> None:
    values = {f"{s}_reached": False for s in SESCD_SEGMENTS}
    values["rectum_ulcer_size"] = 1  # type: ignore[assignment]
    with pytest.raises(ValidationFailed, match="not reached"):
        SESCD.score(values)


def test_no_segment_reached_gives_no_score() -> None:
    result = SESCD.score({f"{s}_reached": False for s in SESCD_SEGMENTS})
    assert result.value is None
    assert "no segment" in (result.reason or "")


def test_maximum_is_56() -> None:
    values: dict[str, object] = {}
    for s in SESCD_SEGMENTS:
        values |= seg(s, 3, 3, 3, 3 if s == "rectum" else 2)
    assert SESCD.score(values).value == 56


def test_two_impassable_stenoses_refused() -> None:
    values: dict[str, object] = {}
    for s in SESCD_SEGMENTS:
        values |= seg(s, 0, 0, 0, 3 if s in ("rectum", "left_colon") else 0)
    with pytest.raises(ValidationFailed, match="cannot be passed"):
        SESCD.score(values)


def test_missing_variable_in_reached_segment() -> None:
    values: dict[str, object] = {}
    for s in SESCD_SEGMENTS:
        values |= seg(s, 0, 0, 0, 0)
    del values["ileum_narrowing"]
    result = SESCD.score(values)
    assert result.value is None
    assert result.missing == ["ileum_narrowing"]


@pytest.mark.parametrize(
    ("value", "ileal", "met"),
    [(8, False, True), (7, False, False), (6, True, True), (5, True, False), ("7.0", True, True)],
)
def test_protocol_thresholds(value: object, ileal: bool, met: bool) -> None:
    assert sescd_threshold_met(value, isolated_ileal=ileal) is met  # type: ignore[arg-type]
    assert sescd_threshold_met(Decimal(3), isolated_ileal=False, threshold=3)


score = st.integers(0, 3)


@given(
    st.lists(
        st.tuples(st.booleans(), score, score, score, st.integers(0, 2)), min_size=5, max_size=5
    )
)
def test_total_in_range(segments: list[tuple[bool, int, int, int, int]]) -> None:
    values: dict[str, object] = {}
    for name, (reached, a, b, c, d) in zip(SESCD_SEGMENTS, segments, strict=True):
        values |= seg(name, a, b, c, d) if reached else {f"{name}_reached": False}
    result = SESCD.score(values)
    if not any(r for r, *_ in segments):
        assert result.value is None
    else:
        assert result.value is not None
        assert 0 <= result.value <= 56
