"""Fixtures for the registry importer tests: the real records in ../shared beside the repo.

A missing record skips its tests locally and fails them in CI (``require_shared`` in
tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]


def _shared() -> Path:
    """``shared/`` beside the repository (a git worktree one level deeper also finds it)."""
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared").is_dir():
            return base / "shared"
    return REPO.parent / "shared"


SHARED = _shared()
SEEDS = SHARED / "seeds"
SAMPLES = SHARED / "registry-samples"
PSORIASIS = "000_874074a8242507e1.txt"
IBD = "001_2c540c89a4b6d09d.txt"


@pytest.fixture
def psoriasis_path(require_shared: Callable[[Path], Path]) -> Path:
    return require_shared(SEEDS / PSORIASIS)


@pytest.fixture
def ibd_path(require_shared: Callable[[Path], Path]) -> Path:
    return require_shared(SEEDS / IBD)


@pytest.fixture
def ctgov_path(require_shared: Callable[[Path], Path]) -> object:
    def get(nct: str) -> Path:
        return require_shared(SAMPLES / f"ctgov_v2_{nct}.json")

    return get


@pytest.fixture
def sample(require_shared: Callable[[Path], Path]) -> object:
    """A real record of the shared registry-samples folder by file name (see its README)."""

    def get(name: str) -> Path:
        return require_shared(SAMPLES / name)

    return get
