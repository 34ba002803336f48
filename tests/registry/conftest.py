"""Fixtures for the registry importer tests: the real records in ../shared beside the repo."""

from __future__ import annotations

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


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is missing: the shared records folder must sit beside the repository")
    return path


@pytest.fixture
def psoriasis_path() -> Path:
    return _need(SEEDS / PSORIASIS)


@pytest.fixture
def ibd_path() -> Path:
    return _need(SEEDS / IBD)


@pytest.fixture
def ctgov_path() -> object:
    def get(nct: str) -> Path:
        return _need(SAMPLES / f"ctgov_v2_{nct}.json")

    return get


@pytest.fixture
def sample() -> object:
    """A real record of /work/shared/registry-samples by file name (see its README)."""

    def get(name: str) -> Path:
        return _need(SAMPLES / name)

    return get
