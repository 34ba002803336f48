"""Shared fixtures. Storage tests take ``database_url`` and run once per real database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

POSTGRES_ENV = "TRIALKIT_TEST_DATABASE_URL"


def in_ci() -> bool:
    """Whether the run is continuous integration (``CI=true``, as GitHub and GitLab set it)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


# Hypothesis profiles. Neither has a deadline: a timing limit per example is a hidden timing
# assertion that fails on a loaded machine (tests never assert timings; benchmarks/ measures
# speed). "ci" (chosen when CI=true) is sized for a two-core runner and is reproducible
# (derandomised, no example database, failing examples printed for replay); "dev" keeps
# hypothesis's randomised search and its local example database. A test's own
# ``@settings(max_examples=...)`` still sets its count. HYPOTHESIS_PROFILE=NAME overrides;
# "deep" is the long randomised search to run by hand before a release (README.md): a
# fixed seed finds only what its seed finds, and a change to a test's code changes its seed.
settings.register_profile("dev", deadline=None)
settings.register_profile(
    "deep",
    deadline=None,
    max_examples=2000,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci() else "dev"))


@pytest.fixture(scope="session")
def require_shared() -> Callable[[Path], Path]:
    """``require_shared(path)``: the path of a record in ``shared/`` beside the repository.

    When it is missing the test is skipped locally, with the reason; in CI (``CI=true``) the
    test fails instead, so the importer tests cannot silently vanish from a CI run.
    """

    def need(path: Path) -> Path:
        if path.exists():
            return path
        reason = f"{path} is missing: the shared records folder must sit beside the repository"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: a missing shared folder fails the run)", pytrace=False)
        pytest.skip(reason)

    return need


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private schema on the test PostgreSQL.

    PostgreSQL runs when ``TRIALKIT_TEST_DATABASE_URL`` is set (CI sets it); otherwise the
    PostgreSQL variant is skipped with that reason shown.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'trialkit-test.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
