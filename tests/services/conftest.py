"""Fixtures for service tests: a migrated database with the shipped studies loaded, and the
screening values that make a candidate eligible in each shipped study (one place for all the
service tests: ``eligible_values`` and ``screened``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import pytest

from trialkit.protocol import dump_study, resolve_study, shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    authenticate,
    consent,
    create_user,
    load_study,
    register,
    save_form,
    screen,
)
from trialkit.services.amendments import apply_version, load_amendment, preview_amendment
from trialkit.simulate.eligible import ELIGIBLE, UCM, VITALS_VALUES
from trialkit.simulate.eligible import PAE as PAE  # re-exported: the service tests import it
from trialkit.simulate.eligible import eligible_values as eligible
from trialkit.store import Database, upgrade, verify_all

T0 = datetime(2025, 3, 3, 9, 0)
PASSWORD = "correct horse battery staple"
MASKED = "masked-psoriasis-ucmsc"
#: The ethics approval the fixtures' amendments are loaded with (committee, reference, date).
APPROVAL = ("TUMS Research Ethics Committee", "IR.TUMS.REC.1404.1", date(2025, 3, 1))


def load_approved(db: Database, ctx: Context, study: str, text: str) -> str:
    """Load ``text`` as a new version of ``study`` with its approval (:data:`APPROVAL`), as the
    amendments page does (checked, compared, loaded with the approval); its version."""
    committee, reference, on = APPROVAL
    checked = preview_amendment(db, ctx, study, text).sha256
    state = load_amendment(
        db, ctx, study, text, checked=checked, committee=committee, reference=reference,
        approved_on=on,
    )  # fmt: skip
    return state.version


def amend(db: Database, ctx: Context, study: str, text: str, code: str, reason: str) -> None:
    """Load ``text`` as an approved new version of ``study`` (:func:`load_approved`) and move
    participant ``code`` to it with ``reason`` (:func:`apply_version`)."""
    apply_version(db, ctx, study, load_approved(db, ctx, study, text), code, reason)


@pytest.fixture
def ctx() -> Context:
    return Context.operator("dr.amini", T0)


def _prepare(database: Database, ctx: Context) -> None:
    """Migrate, load the shipped studies and add site TEH to each."""
    upgrade(database.engine)
    for name, text in shipped_studies():
        loaded = load_study(database, ctx, text, source=name)
        add_site(database, ctx, loaded.study, "TEH", "Tehran")


@pytest.fixture(scope="session")
def prepared_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Context], Path]:
    """The prepared SQLite database, made once per worker and context, to be copied per test.

    Migrating and loading the three studies costs more than most service tests; on SQLite a
    test starts from a byte copy of the file prepared once (the same rows, the same trail).
    PostgreSQL prepares each test's schema afresh.
    """
    made: dict[tuple[str, datetime], Path] = {}

    def prepared(ctx: Context) -> Path:
        key = (ctx.actor, ctx.as_of)
        if key not in made:
            path = tmp_path_factory.mktemp("prepared") / "prepared.sqlite3"
            database = Database.from_url(f"sqlite:///{path}")
            try:
                _prepare(database, ctx)
            finally:
                database.dispose()
            made[key] = path
        return made[key]

    return prepared


@pytest.fixture
def db(
    database_url: str,
    ctx: Context,
    request: pytest.FixtureRequest,
    prepared_sqlite: Callable[[Context], Path],
) -> Iterator[Database]:
    """The database of a service test; afterwards its audit trail must prove every table.

    Whatever the test did through the services, replaying the trail must give exactly the
    stored rows (``trialkit.store.audited`` declares what is audited): a service that writes
    a column without recording it fails here. Tests that tamper with the database on purpose
    are marked ``tampers``.
    """
    if database_url.startswith("sqlite:///"):
        target = Path(database_url.removeprefix("sqlite:///"))
        with (
            closing(sqlite3.connect(prepared_sqlite(ctx))) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
        database = Database.from_url(database_url)
    else:
        database = Database.from_url(database_url)
        _prepare(database, ctx)
    try:
        yield database
        if request.node.get_closest_marker("tampers") is None:
            with database.read() as conn:
                result = verify_all(conn)
            assert result.ok, [result.problem, *(d.detail for d in result.differences[:10])]
    finally:
        database.dispose()


def _person(
    db: Database,
    admin: Context,
    username: str,
    study: str,
    role: Role,
    *,
    site: str | None = None,
    unblinded: bool = False,
) -> Context:
    """Create ``username`` with one membership and return their logged-in context."""
    create_user(db, admin, username, PASSWORD, display_name=username.title())
    add_membership(db, admin, username, study, role, site_code=site, unblinded=unblinded)
    return authenticate(db, username, PASSWORD, admin.as_of)


def _load_masked(db: Database, admin: Context) -> str:
    """A double-blind copy of the umbilical-cord MSC study, with sites TEH and ISF."""
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    text = text.replace("id: psoriasis-ucmsc", f"id: {MASKED}", 1)
    text = text.replace(
        "masking: {level: none, placebo: false, description: Open label}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    assert MASKED in text
    assert "level: double" in text
    load_study(db, admin, text, source="masked.yaml")
    add_site(db, admin, MASKED, "TEH", "Tehran")
    add_site(db, admin, MASKED, "ISF", "Isfahan")
    return MASKED


class People(Protocol):
    def __call__(
        self,
        username: str,
        study: str,
        role: Role,
        *,
        site: str | None = None,
        unblinded: bool = False,
    ) -> Context: ...


@pytest.fixture
def person(db: Database, ctx: Context) -> People:
    """``person(username, study, role, site=..., unblinded=...)``: a user, logged in."""

    def make(
        username: str,
        study: str,
        role: Role,
        *,
        site: str | None = None,
        unblinded: bool = False,
    ) -> Context:
        return _person(db, ctx, username, study, role, site=site, unblinded=unblinded)

    return make


@pytest.fixture
def masked(db: Database, ctx: Context) -> str:
    """The code of a double-blind copy of the UCM study (sites TEH and ISF)."""
    return _load_masked(db, ctx)


# The screening values of the shipped studies, by study and form of the screening visit, as
# entered (trialkit.simulate.eligible): each set makes the candidate eligible under the study's
# own criteria (screened on T0's date, 2025-03-03), so the tests go through the real evaluator.
SCREEN_VALUES = ELIGIBLE[UCM]["SCREEN"]


@pytest.fixture
def eligible_values() -> dict[str, dict[str, dict[str, str]]]:
    """A fresh copy of :data:`ELIGIBLE`: study -> screening-visit form -> values (as entered)."""
    return {study: eligible(study) for study in ELIGIBLE}


class Screened(Protocol):
    def __call__(
        self,
        study: str,
        *,
        site: str = "TEH",
        who: Context | None = None,
        changes: Mapping[str, Mapping[str, str]] | None = None,
        like: str | None = None,
    ) -> str: ...


@pytest.fixture
def screened(db: Database, ctx: Context) -> Screened:
    """``screened(study, site=, who=, changes={form: {item: text}}, like=)``: a new
    participant, consented on ``who``'s day, the eligible screening values of the study (or of
    the shipped study ``like``, for a copy of it) entered with ``changes``, and screened by the
    real evaluator; returns the participant's id."""

    def make(
        study: str,
        *,
        site: str = "TEH",
        who: Context | None = None,
        changes: Mapping[str, Mapping[str, str]] | None = None,
        like: str | None = None,
    ) -> str:
        actor = who or ctx
        code = register(db, actor, study, site).code
        consent(
            db, actor, study, code, on=actor.as_of.date(), form_version="2.1", obtained_by="dr.b"
        )
        for form_id, values in ELIGIBLE[like or study].items():
            given = {**values, **(changes or {}).get(form_id, {})}
            save_form(db, actor, study, code, visit="SCR", form_id=form_id, values=given)
        screen(db, actor, study, code)
        return code

    return make


# Fixtures of the oversight tests (queries, monitoring, signatures, locks).


@pytest.fixture
def sites(db: Database, ctx: Context) -> tuple[str, str]:
    """Participants at TEH and ISF of the open-label UCM study, SCREEN and VITALS entered at
    SCR (version 1 each, by the operator)."""
    add_site(db, ctx, UCM, "ISF", "Isfahan")
    codes = []
    for site in ("TEH", "ISF"):
        code = register(db, ctx, UCM, site).code
        save_form(db, ctx, UCM, code, visit="SCR", form_id="SCREEN", values=SCREEN_VALUES)
        save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS_VALUES)
        codes.append(code)
    return codes[0], codes[1]


@pytest.fixture
def soften_bp(db: Database, ctx: Context) -> Callable[[str], None]:
    """``soften_bp(code)``: amend UCM to 1.1 with the blood-pressure check BP1 soft and move the
    participant to it."""

    def soften(code: str) -> None:
        study = resolve_study(UCM)
        forms = [
            f.model_copy(
                update={"checks": [c.model_copy(update={"severity": "soft"}) for c in f.checks]}
            )
            for f in study.forms
        ]
        amended = study.model_copy(update={"protocol_version": "1.1", "forms": forms})
        amend(db, ctx, UCM, dump_study(amended), code, "re-consented to amendment 1")

    return soften
