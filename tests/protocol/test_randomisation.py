"""The randomisation model: parameters that do not fit the method are refused at load."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from trialkit.protocol import Factor, Randomisation


def _spec(**fields: object) -> Randomisation:
    return Randomisation.model_validate(fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"method": "permuted_blocks"}, "needs `block_sizes`"),
        ({"method": "simple", "block_sizes": [4]}, "does not use blocks"),
        ({"method": "permuted_blocks", "block_sizes": [4, 4]}, "a size is listed twice"),
        ({"method": "permuted_blocks", "block_sizes": [1]}, "each must be at least 2"),
        ({"method": "simple", "ratio": {"A": 0, "B": 1}}, "at least 1"),
        ({"method": "minimisation", "probability": "0.5"}, "greater than 0.5"),
        ({"method": "minimisation", "probability": "1.01"}, "less than or equal to 1"),
        (
            {"method": "simple", "factors": [{"name": "site", "source": "site"}]},
            "does not use factors",
        ),
        (
            {"method": "minimisation", "factors": [{"name": "a", "source": "age"}]},
            "give its `levels`",
        ),
        (
            {
                "method": "minimisation",
                "factors": [{"name": "a", "source": "age", "cut_points": [20, 10]}],
            },
            "must strictly increase",
        ),
        (
            {
                "method": "minimisation",
                "factors": [{"name": "a", "source": "age", "cut_points": [1], "levels": ["x"]}],
            },
            "not both",
        ),
        (
            {
                "method": "minimisation",
                "factors": [{"name": "site", "source": "site"}, {"name": "site", "source": "site"}],
            },
            "each factor needs its own name",
        ),
    ],
)
def test_randomisation_refuses_parameters_that_do_not_fit(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        _spec(**fields)


def test_cut_points_make_the_levels() -> None:
    factor = Factor.model_validate(
        {"name": "pasi_band", "source": "pasi", "cut_points": [10, "20.5"]}
    )
    assert factor.level_names() == ["< 10", "10 to < 20.5", ">= 20.5"]


def test_summary_states_the_method_in_one_line() -> None:
    spec = _spec(
        method="minimisation",
        ratio={"A": 2, "B": 1},
        factors=[{"name": "site", "source": "site"}],
        probability="0.80",
    )
    assert spec.summary() == "minimisation on site (range, p = 0.8), 2:1 over A, B"
    blocks = _spec(method="permuted_blocks", block_sizes=[4, 6])
    assert blocks.summary() == "permuted blocks of 4, 6, 1:1 over every arm"
