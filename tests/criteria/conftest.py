"""Fixtures for the criteria tests: the three shipped studies' items and criteria."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialkit.criteria import CompiledCriteria, StudyCriteria, compile_criteria
from trialkit.criteria.from_study import study_criteria
from trialkit.protocol import resolve_study

DATA = Path(__file__).parent / "data"


def _load(study_id: str) -> StudyCriteria:
    """The criteria of a shipped study, exactly as `trialkit prescreen` sees them."""
    return study_criteria(resolve_study(study_id))


@pytest.fixture(scope="session")
def psoriasis() -> StudyCriteria:
    return _load("psoriasis-adipose-exosomes")


@pytest.fixture(scope="session")
def ibd() -> StudyCriteria:
    return _load("ibd-placental-exosomes")


@pytest.fixture(scope="session")
def ucmsc() -> StudyCriteria:
    return _load("psoriasis-ucmsc")


def compiled(study: StudyCriteria) -> CompiledCriteria:
    return compile_criteria(study.criteria, study.items, study.ranges)
