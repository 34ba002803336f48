"""Fixtures for the criteria tests: the three seed studies' items and criteria."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialkit.criteria import CompiledCriteria, StudyCriteria, compile_criteria, load_criteria_file

DATA = Path(__file__).parent / "data"


def _load(name: str) -> StudyCriteria:
    return load_criteria_file(DATA / f"{name}.yaml")


@pytest.fixture(scope="session")
def psoriasis() -> StudyCriteria:
    return _load("psoriasis_exosome")


@pytest.fixture(scope="session")
def ibd() -> StudyCriteria:
    return _load("ibd_exosome")


@pytest.fixture(scope="session")
def ucmsc() -> StudyCriteria:
    return _load("ucmsc_psoriasis")


def compiled(study: StudyCriteria) -> CompiledCriteria:
    return compile_criteria(study.criteria, study.items, study.ranges)
