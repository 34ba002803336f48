from __future__ import annotations

from decimal import Decimal

import pytest

from trialkit.errors import ValidationFailed
from trialkit.instruments import BSA, IGA, LESION_GRADE, PAIN_NRS, PAIN_VAS, REDNESS, SPGA, TLSS


def test_pga_and_iga_are_distinct_and_flag_clear() -> None:
    assert SPGA.score({"spga": 5}).value == 5
    with pytest.raises(ValidationFailed):
        IGA.score({"iga": 5})
    assert IGA.score({"iga": 1}).flags == {"scale": "iga", "clear_or_almost_clear": True}
    assert SPGA.score({"spga": 2}).flags["clear_or_almost_clear"] is False


def test_pain_scales_never_converted() -> None:
    assert PAIN_NRS.score({"pain_nrs": 7}).value == 7
    assert PAIN_VAS.score({"pain_vas_mm": "70"}).value == 70
    assert PAIN_VAS.items[0].unit == "mm"
    with pytest.raises(ValidationFailed, match="unknown item"):
        PAIN_NRS.score({"pain_vas_mm": 70})


def test_bsa_and_redness() -> None:
    assert BSA.score({"bsa_percent": "10.5"}).value == Decimal("10.5")
    with pytest.raises(ValidationFailed):
        BSA.score({"bsa_percent": "100.5"})
    assert REDNESS.score({"redness": 0}).value == 0


def test_tlss() -> None:
    assert TLSS.score({"erythema": 4, "scaling": 4, "induration": 4}).value == 12
    assert TLSS.score({"erythema": 0, "scaling": 0, "induration": 0}).value == 0
    assert TLSS.score({"erythema": 2, "scaling": 1}).missing == ["induration"]


def test_lesion_grade_range_from_protocol() -> None:
    opts = {"minimum": 1, "maximum": 3}
    assert LESION_GRADE.score({"grade": 3}, opts).value == 3
    with pytest.raises(ValidationFailed, match=r"out of range 1\.\.3"):
        LESION_GRADE.score({"grade": 4}, opts)
    with pytest.raises(ValidationFailed, match="protocol must state"):
        LESION_GRADE.score({"grade": 2})
    with pytest.raises(ValidationFailed, match="lower bound comes first"):
        LESION_GRADE.score({"grade": 2}, {"minimum": 3, "maximum": 1})
    assert LESION_GRADE.score({}, opts).missing == ["grade"]
