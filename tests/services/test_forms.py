"""Form saves: validation from item definitions, raw text kept, checks, scores, conflicts."""

from __future__ import annotations

import contextlib
import inspect
import sqlite3
import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from trialkit.errors import NotFound, ValidationFailed
from trialkit.protocol import EditCheck, dump_study, resolve_study
from trialkit.services import (
    Context,
    FormConflict,
    FormRefused,
    consent,
    read_form,
    register,
    save_form,
)
from trialkit.services.forms import SaveResult, save_in
from trialkit.store import Database, canonical, verify
from trialkit.store import direct as store_direct
from trialkit.store.tables import audit_log, data_query, form_instance

from .conftest import amend

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.60"}


PASI_VALUES = {
    **{
        f"{r}_{s}": "0"
        for r in ("upper_limbs", "lower_limbs")
        for s in ("erythema", "induration", "desquamation")
    },
    "upper_limbs_area_percent": "0",
    "lower_limbs_area_percent": "0",
    "head_erythema": "2",
    "head_induration": "2",
    "head_desquamation": "2",
    "head_area_percent": "20",
    "trunk_erythema": "1",
    "trunk_induration": "1",
    "trunk_desquamation": "1",
    "trunk_area_percent": "9.5",
}


@pytest.fixture
def code(db: Database, ctx: Context) -> str:
    p = register(db, ctx, UCM, "TEH")
    consent(db, ctx, UCM, p.code, on=date(2025, 3, 3), form_version="2.1", obtained_by="dr.b")
    return p.code


def test_values_keep_the_text_as_entered(db: Database, ctx: Context, code: str) -> None:
    r = save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    assert r.version == 1
    assert [(c.id, c.status) for c in r.checks] == [("BP1", "passed")]
    rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert rec.data["VS"]["temperature"] == {
        "raw": "36.60",
        "value": "36.60",
        "type": "decimal",
        "pv": "1.0",
    }
    assert rec.values()["temperature"] == Decimal("36.60")
    assert rec.values()["heart_rate"] == 72
    with db.read() as conn:
        assert verify(conn).ok
        paths = conn.execute(
            sa.select(audit_log.c.path).where(audit_log.c.entity == "form_instance")
        ).scalars()
        items = sorted(p for p in paths if "/" in p)
    # CONSENT: the consent's form; each new instance's first entries record what it is.
    vitals = [p for p in items if not p.startswith("CONSENT/")]
    assert vitals == sorted(f"VS/{k}" for k in VITALS)


@pytest.mark.parametrize(
    ("item", "raw", "message"),
    [
        ("heart_rate", "72.5", "is not a whole number"),
        ("heart_rate", "251", "out of range 20..250"),
        ("heart_rate", "19", "out of range 20..250"),
        ("temperature", "warm", "is not a number; enter e.g. 3.2"),
        ("temperature", "36,6", "is not a number; write the decimal with a point: 36.6"),
        ("temperature", "1,000,5", "is not a number; enter e.g. 3.2"),
        ("heart_rate", "7,2", "is not a whole number"),
        ("temperature", "43.01", "out of range 30..43"),
        ("systolic_bp", "", "is required"),
    ],
)
def test_item_rules(
    db: Database, ctx: Context, code: str, item: str, raw: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values={**VITALS, item: raw})
    assert message in " ".join(err.value.errors[f"VS/{item}"])


@pytest.mark.parametrize(("item", "raw"), [("heart_rate", "250"), ("temperature", "43.00")])
def test_bounds_are_inclusive(db: Database, ctx: Context, code: str, item: str, raw: str) -> None:
    r = save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values={**VITALS, item: raw})
    assert (r.version, f"VS/{item}" in r.changed) == (1, True)
    rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert rec.data["VS"][item]["raw"] == raw
    assert rec.values()[item] == Decimal(raw)


def test_code_lists_dates_and_unknown_items(db: Database, ctx: Context, code: str) -> None:
    bad = {"screening_date": "3/3/2025", "age": "44", "sex": "f", "weight": "70", "bogus": "1"}
    with pytest.raises(ValidationFailed) as err:
        save_form(db, ctx, UCM, code, visit="SCR", form_id="SCREEN", values=bad)
    e = err.value.errors
    assert "YYYY-MM-DD" in e["DEMOG/screening_date"][0]
    assert "female, male" in e["DEMOG/sex"][0]
    assert "no such item" in e["bogus"][0]


def test_derived_items_are_never_entered(db: Database, ctx: Context, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        save_form(
            db, ctx, UCM, code, visit="SCR", form_id="PASI", values={**PASI_VALUES, "pasi": "12"}
        )
    assert "computed from pasi, never entered" in err.value.errors["PASI_SCORE/pasi"][0]
    r = save_form(db, ctx, UCM, code, visit="SCR", form_id="PASI", values=PASI_VALUES)
    assert (r.derived["pasi"]["value"], r.derived["pasi"]["reason"]) == ("2.1", None)


def test_hard_check_refuses_and_soft_check_opens_a_query(
    db: Database, ctx: Context, code: str
) -> None:
    bad = {**VITALS, "systolic_bp": "80", "diastolic_bp": "90"}
    with pytest.raises(ValidationFailed) as err:
        save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=bad)
    assert err.value.code == "FORM.E011"
    assert err.value.errors == {"BP1": [resolve_study(UCM).form("VITALS").checks[0].message]}
    # The same rule as a soft check (an amended protocol) saves and opens a query.
    study = resolve_study(UCM)
    forms = [
        f.model_copy(
            update={"checks": [c.model_copy(update={"severity": "soft"}) for c in f.checks]}
        )
        for f in study.forms
    ]
    text = dump_study(study.model_copy(update={"protocol_version": "1.1", "forms": forms}))
    amend(db, ctx, UCM, text, code, "re-consented to amendment 1")
    r = save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=bad)
    assert [(c.id, c.status) for c in r.checks] == [("BP1", "failed")]
    assert len(r.queries_opened) == 1
    with db.read() as conn:
        q = conn.execute(sa.select(data_query)).mappings().one()
    assert (q["status"], q["check_id"], q["opened_by"]) == ("open", "BP1", "dr.amini")


def test_checks_and_scores_cannot_be_left_out_by_the_caller() -> None:
    params = inspect.signature(save_form).parameters
    assert not {"rules", "scorer"} & params.keys()


def test_a_check_with_a_missing_input_says_which(db: Database, ctx: Context, code: str) -> None:
    # An amendment adds a check on the vital signs' optional weight; without a weight the check
    # is not evaluated, and says so.
    study = resolve_study(UCM)
    vitals = next(f for f in study.forms if f.id == "VITALS")
    assert any(i.name == "weight" and not i.required for g in vitals.groups for i in g.items)
    extra = EditCheck(id="WT1", expression="weight > 30", message="Weight looks wrong.")
    forms = [
        f.model_copy(update={"checks": [*f.checks, extra]}) if f.id == "VITALS" else f
        for f in study.forms
    ]
    amended = study.model_copy(update={"protocol_version": "1.2", "forms": forms})
    amend(db, ctx, UCM, dump_study(amended), code, "re-consented to amendment 2")
    r = save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    by_id = {c.id: c for c in r.checks}
    assert by_id["BP1"].status == "passed"
    assert (by_id["WT1"].status, by_id["WT1"].missing) == ("not_evaluated", ("weight",))
    assert by_id["WT1"].message == "not evaluated: weight missing (Weight looks wrong.)"
    r = save_form(
        db,
        ctx,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "weight": "70"},
        expected_version=1,
        reason="weighed",
    )
    assert {c.id: c.status for c in r.checks} == {"BP1": "passed", "WT1": "passed"}


def test_scores_are_computed_on_save_with_their_version(
    db: Database, ctx: Context, code: str
) -> None:
    r = save_form(
        db,
        ctx,
        UCM,
        code,
        visit="SCR",
        form_id="PASI",
        values=PASI_VALUES,
    )
    # head (2+2+2) x area 2 (20 %) x 0.1 = 1.2; trunk (1+1+1) x area 1 (9.5 %) x 0.3 = 0.9
    assert r.derived["pasi"] == {
        "value": "2.1",
        "instrument": "pasi",
        "version": "PASI 1978",
        "reason": None,
    }
    rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="PASI")
    assert rec.data["PASI"]["trunk_area_percent"]["raw"] == "9.5"


def test_instrument_items_are_validated(db: Database, ctx: Context, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="PASI",
            values={**PASI_VALUES, "head_erythema": "5"},
        )
    assert any("head_erythema" in path for path in info.value.errors)


def test_a_missing_required_instrument_item_is_refused(
    db: Database, ctx: Context, code: str
) -> None:
    values = {k: v for k, v in PASI_VALUES.items() if k != "trunk_area_percent"}
    with pytest.raises(ValidationFailed) as info:
        save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="PASI",
            values=values,
        )
    assert any("trunk_area_percent" in path for path in info.value.errors)


def test_repeating_groups_one_row_per_lesion(db: Database, ctx: Context) -> None:
    p = register(db, ctx, PAE, "TEH")
    consent(db, ctx, PAE, p.code, on=date(2025, 3, 3), form_version="1", obtained_by="dr.b")
    row = {
        "lesion_site": "elbow",
        "plaque_area": "3.20",
        "lesion_grade_v": "2",
        "erythema": "3",
        "scaling": "2",
        "induration": "2",
        "redness": "3",
        "pain_nrs": "1",
    }
    lesions = [{**row, "lesion_role": "treated"}, {**row, "lesion_role": "control"}]
    with pytest.raises(ValidationFailed) as err:
        save_form(
            db, ctx, PAE, p.code, visit="D1", form_id="LESION", values={"LESIONS": lesions[:1]}
        )
    assert "at least 2 needed" in err.value.errors["LESIONS"][0]
    bad = [lesions[0], {**lesions[1], "plaque_area": "0"}]
    with pytest.raises(ValidationFailed) as err:
        save_form(db, ctx, PAE, p.code, visit="D1", form_id="LESION", values={"LESIONS": bad})
    assert "out of range" in err.value.errors["LESIONS[2]/plaque_area"][0]
    r = save_form(db, ctx, PAE, p.code, visit="D1", form_id="LESION", values={"LESIONS": lesions})
    rec = read_form(db, ctx, PAE, p.code, visit="D1", form_id="LESION")
    assert [x["lesion_role"] for x in rec.values()["LESIONS"]] == ["treated", "control"]
    assert rec.values()["LESIONS"][0]["plaque_area"] == Decimal("3.20")
    assert "LESIONS[2]/lesion_role" in r.changed


def test_the_lesion_group_keeps_one_treated_and_one_control_lesion(
    db: Database, ctx: Context
) -> None:
    p = register(db, ctx, PAE, "TEH")
    consent(db, ctx, PAE, p.code, on=date(2025, 3, 3), form_version="1", obtained_by="dr.b")
    row = {
        "lesion_site": "elbow",
        "plaque_area": "3.20",
        "lesion_grade_v": "2",
        "erythema": "3",
        "scaling": "2",
        "induration": "2",
        "redness": "3",
        "pain_nrs": "1",
    }
    typed = {"LESIONS": [{**row, "lesion_role": "treated"}, {**row, "lesion_role": "treated"}]}
    with pytest.raises(FormRefused) as err:
        save_form(db, ctx, PAE, p.code, visit="D1", form_id="LESION", values=typed)
    assert err.value.code == "FORM.E010"
    assert err.value.errors == {
        "LESIONS": [
            "Lesions: exactly one row may have lesion_role treated, but rows 1 and 2 have it; "
            "correct lesion_role on all but one of them",
            "Lesions: exactly one row must have lesion_role control, none has; add that row, or "
            "set lesion_role to control on the row it belongs to",
            "Lesions: rows 1 and 2 share lesion_role treated; each row needs its own lesion_role: "
            "correct one of them or remove the duplicate",
        ]
    }
    assert err.value.submitted == typed  # what was typed comes back whole
    assert err.value.message.startswith("form LESION: nothing was saved, 3 problem(s): LESIONS: ")
    assert "rows 1 and 2 have it" in err.value.message
    with db.read() as conn:
        saved = conn.execute(sa.select(form_instance.c.form_id)).scalars().all()
    assert saved == ["CONSENT"]  # filled by the consent; no lesion row was written


def test_every_problem_is_in_the_message(db: Database, ctx: Context, code: str) -> None:
    with pytest.raises(FormRefused) as err:
        save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            values={**VITALS, "heart_rate": "251", "temperature": "warm"},
        )
    message = err.value.message
    assert message.startswith("form VITALS: nothing was saved, 2 problem(s): ")
    for path, problems in err.value.errors.items():
        for problem in problems:
            assert f"{path}: {problem}" in message
    assert set(err.value.errors) == {"VS/heart_rate", "VS/temperature"}


def test_changes_need_the_version_and_a_reason(db: Database, ctx: Context, code: str) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    later = Context.operator("nurse.b", ctx.as_of + timedelta(hours=2))
    changed = {**VITALS, "heart_rate": "75"}
    with pytest.raises(ValidationFailed, match="needs a reason"):
        save_form(
            db, later, UCM, code, visit="SCR", form_id="VITALS", values=changed, expected_version=1
        )
    r = save_form(
        db,
        later,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values=changed,
        expected_version=1,
        reason="transcription error",
    )
    assert (r.version, r.changed) == (2, ["VS/heart_rate"])
    with db.read() as conn:
        last = (
            conn.execute(sa.select(audit_log).order_by(audit_log.c.seq.desc())).mappings().first()
        )
    assert last is not None
    assert (last["actor"], last["reason"], last["protocol_version"]) == (
        "nurse.b",
        "transcription error",
        "1.0",
    )
    assert canonical.loads(last["old"])["raw"] == "72"
    assert canonical.loads(last["new"])["raw"] == "75"
    with pytest.raises(NotFound):
        save_form(
            db, ctx, UCM, code, visit="V_W0", form_id="VITALS", values=VITALS, expected_version=3
        )


def test_stale_save_is_refused_with_both_values(db: Database, ctx: Context, code: str) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    mine = {**VITALS, "heart_rate": "80"}
    save_form(
        db,
        ctx,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "heart_rate": "90"},
        expected_version=1,
        reason="recheck",
    )
    with pytest.raises(FormConflict) as err:
        save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            values=mine,
            expected_version=1,
            reason="recheck",
        )
    assert err.value.current_version == 2
    assert err.value.current["data"]["VS"]["heart_rate"]["raw"] == "90"
    assert err.value.submitted == mine


def test_two_real_concurrent_writers(db: Database, ctx: Context, code: str) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    url = db.engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def writer(name: str, rate: str) -> None:
        other = Database.from_url(url)
        try:
            barrier.wait()
            r = save_form(
                other,
                Context.operator(name, ctx.as_of),
                UCM,
                code,
                visit="SCR",
                form_id="VITALS",
                values={**VITALS, "heart_rate": rate},
                expected_version=1,
                reason="re-measured",
            )
            outcome[name] = r.version
        except FormConflict as exc:
            outcome[name] = exc
        finally:
            other.dispose()

    threads = [threading.Thread(target=writer, args=(n, r)) for n, r in (("a", "81"), ("b", "82"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [n for n, v in outcome.items() if v == 2]
    losses = [v for v in outcome.values() if isinstance(v, FormConflict)]
    assert len(wins) == 1
    assert len(losses) == 1
    winner_rate = {"a": "81", "b": "82"}[wins[0]]
    assert losses[0].current["data"]["VS"]["heart_rate"]["raw"] == winner_rate
    assert losses[0].submitted["heart_rate"] != winner_rate
    with db.read() as conn:
        assert verify(conn).ok


def test_values_under_an_old_version_stay_readable(db: Database, ctx: Context, code: str) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    study = resolve_study(UCM)
    text = dump_study(study.model_copy(update={"protocol_version": "2.0"}))
    amend(db, ctx, UCM, text, code, "re-consented")
    r = save_form(
        db,
        ctx,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "heart_rate": "70"},
        expected_version=1,
        reason="re-measured",
    )
    assert r.protocol_version == "2.0"
    rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert rec.protocol_version == "2.0"  # the row moved to the new version with the save
    assert rec.data["VS"]["systolic_bp"]["pv"] == "1.0"
    assert rec.data["VS"]["heart_rate"]["pv"] == "2.0"


def test_floats_are_refused(db: Database, ctx: Context, code: str) -> None:
    with pytest.raises(ValidationFailed, match="binary float"):
        save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            values={**VITALS, "temperature": 36.6},
        )


def test_forms_only_at_their_visits(db: Database, ctx: Context, code: str) -> None:
    with pytest.raises(ValidationFailed, match="not collected at visit"):
        save_form(db, ctx, UCM, code, visit="SCR", form_id="INFUSION", values={})
    with pytest.raises(NotFound):
        save_form(db, ctx, UCM, code, visit="NOPE", form_id="VITALS", values=VITALS)


class _DriverStatements:
    """Counts the statements the driver runs, below SQLAlchemy: on SQLite through the
    connection's trace callback, on PostgreSQL through a counting cursor class. Neither is a
    SQLAlchemy event, so the save keeps its direct path (``store.Prepared``) while counted."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[str] = []
        self.texts: list[str] = []

    def _note(self, statement: str) -> None:
        self.seen.append(statement.split()[0].upper())
        self.texts.append(statement)

    def install(self, dbapi_connection: Any, *_record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(self._note)
            return
        note = self._note

        class Counting(psycopg.Cursor[Any]):
            def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
                note(str(query))
                return super().execute(query, *args, **kwargs)

            def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
                note(str(query))  # one statement, its rows sent in one pipeline
                return super().executemany(query, *args, **kwargs)

        dbapi_connection.cursor_factory = Counting

    def remove(self, dbapi_connection: Any, *_record: Any) -> None:
        if dbapi_connection is None:
            return
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(None)
        else:
            dbapi_connection.cursor_factory = psycopg.Cursor

    def __enter__(self) -> _DriverStatements:
        sa.event.listen(self.db.engine, "checkout", self.install)
        sa.event.listen(self.db.engine, "checkin", self.remove)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.db.engine, "checkout", self.install)
        sa.event.remove(self.db.engine, "checkin", self.remove)


def test_a_save_is_few_statements_on_the_direct_path_and_chains_exactly(
    db: Database, ctx: Context, code: str
) -> None:
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    direct: list[bool] = []
    original = store_direct._direct

    def spy(conn: sa.Connection) -> bool:
        direct.append(original(conn))
        return direct[-1]

    with _DriverStatements(db) as driver:
        store_direct._direct = spy
        try:
            r = save_form(
                db,
                ctx,
                UCM,
                code,
                visit="SCR",
                form_id="VITALS",
                values={**VITALS, "heart_rate": "73", "temperature": "36.7"},
                expected_version=1,
                reason="re-measured",
            )
        finally:
            store_direct._direct = original
    seen = [s for s in driver.seen if s not in ("BEGIN", "COMMIT")]
    assert direct  # the save ran prepared statements...
    assert all(direct)  # ...and every one of them on the driver's cursor
    # lock + head, one joined look-up, then on SQLite the guarded update, the head move and
    # the audit entries in one executemany (SQLite's trace shows each row's step of it); on
    # PostgreSQL the BEGIN, the lock and the look-up travel together ("BEGIN; SELECT ... FOR
    # UPDATE; EXECUTE trialkit_...(...)", one simple query; the look-up prepared on the
    # connection by the first save) and the last three are one statement (data-modifying
    # CTEs): two round trips
    if db.engine.dialect.name == "sqlite":
        assert seen == ["SELECT", "SELECT", "UPDATE", "UPDATE", "INSERT", "INSERT"]
    else:
        assert seen == ["BEGIN;", "WITH"]
        (first,) = [t for t in driver.texts if t.startswith("BEGIN;")]
        assert first.endswith(")")
        assert "; EXECUTE trialkit_" in first
        assert "PREPARE" not in first  # prepared once per connection, by the first save
    assert r.changed == ["VS/heart_rate", "VS/temperature"]
    with db.read() as conn:
        assert verify(conn).ok
        rows = conn.execute(
            sa.select(audit_log.c.path, audit_log.c.prev_hash, audit_log.c.hash)
            .order_by(audit_log.c.seq.desc())
            .limit(2)
        ).all()
    assert [p for p, _, _ in rows] == ["VS/temperature", "VS/heart_rate"]
    assert rows[0].prev_hash == rows[1].hash


def test_saves_store_the_same_run_direct_or_through_core(
    db: Database, ctx: Context, code: str
) -> None:
    # A listener on the engine makes the prepared statements go through Core; without one they
    # run on the driver's cursor. Either way the rows, the entries and the chain are the same.
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)

    def listen(*_a: Any) -> None:
        pass

    texts: dict[str, tuple[Any, ...]] = {}
    for version, (how, rate) in enumerate([("direct", "70"), ("core", "71")], start=1):
        if how == "core":
            sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            save_form(
                db,
                ctx,
                UCM,
                code,
                visit="SCR",
                form_id="VITALS",
                values={**VITALS, "heart_rate": rate},
                expected_version=version,
                reason="re-measured",
            )
        finally:
            if how == "core":
                sa.event.remove(db.engine, "before_cursor_execute", listen)
        with db.read() as conn:
            entry = conn.execute(
                sa.select(audit_log.c.at, audit_log.c.entity, audit_log.c.new)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).one()
            updated = conn.execute(
                sa.text(
                    "SELECT CAST(updated_at AS VARCHAR(40)) FROM form_instance "
                    "WHERE form_id = 'VITALS'"
                )
            ).scalar_one()
        texts[how] = (entry.at, entry.entity, canonical.loads(entry.new)["raw"], updated)
    assert texts["direct"] == (texts["core"][0], "form_instance", "70", texts["core"][3])
    assert texts["core"][2] == "71"
    with db.read() as conn:
        assert verify(conn).ok


def test_unknown_participant_or_study_is_not_found(db: Database, ctx: Context, code: str) -> None:
    with pytest.raises(NotFound, match="no participant 'NOPE'") as exc:
        save_form(db, ctx, UCM, "NOPE", visit="SCR", form_id="VITALS", values=VITALS)
    assert exc.value.code == "PART.E003"
    with pytest.raises(NotFound) as exc:
        save_form(db, ctx, "no-such-study", code, visit="SCR", form_id="VITALS", values=VITALS)
    assert exc.value.code == "PART.E003"
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() > 0
        assert verify(conn).ok


def test_a_stale_update_keeps_nothing_even_if_the_caller_goes_on(
    db: Database, ctx: Context, code: str
) -> None:
    """A stale guarded update raises StaleVersion before anything else is sent: a caller that
    went on as if nothing had happened commits no audit entry and no head move."""
    from trialkit.services.records import StaleVersion, write

    saved = save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    with db.read() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()

    def swallow() -> None:
        with db.write() as conn, contextlib.suppress(StaleVersion):  # a careless caller
            write(
                conn,
                ctx,
                table=form_instance,
                row_id=saved.form_instance_id,
                action="change",
                values={"status": "entered", "updated_at": ctx.as_of + timedelta(days=1)},
                reason="stale",
                expected_version=saved.version + 5,
            )

    swallow()
    with db.read() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == before
        )
        assert verify(conn).ok


def _waits_for_a_lock(db: Database) -> bool:
    """Whether a connection of ``db`` (another than the caller's) waits for a lock now."""
    if db.dialect == "sqlite":
        return True  # BEGIN IMMEDIATE waits in the driver (busy timeout): nothing to see
    with db.engine.connect() as conn:
        found = conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        return bool(found.scalar_one())


def test_a_save_waiting_for_the_lock_reads_what_the_writer_before_it_committed(
    db: Database, ctx: Context, code: str
) -> None:
    # On PostgreSQL the look-up travels with the BEGIN and the ledger lock: it must take its
    # snapshot after the lock is granted, so it sees the version the lock holder committed.
    # A stale read would find version 1 and refuse the save as a conflict.
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            outcome["r"] = save_form(
                db,
                ctx,
                UCM,
                code,
                visit="SCR",
                form_id="VITALS",
                values={**VITALS, "heart_rate": "90"},
                expected_version=2,
                reason="third look",
            )
        except Exception as exc:  # pragma: no cover - the failure this test is for
            outcome["r"] = exc

    waiting = threading.Thread(target=second)
    with db.write() as conn:
        first = save_in(
            conn,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            values={**VITALS, "heart_rate": "81"},
            expected_version=1,
            reason="re-measured",
        )
        assert first.version == 2
        waiting.start()
        for _ in range(200):
            if _waits_for_a_lock(db):
                break
            threading.Event().wait(0.05)
        else:  # pragma: no cover
            raise AssertionError("the second save never waited for the lock")
        threading.Event().wait(0.2)
    waiting.join(30)
    result = outcome["r"]
    assert isinstance(result, SaveResult), result
    assert result.version == 3
    assert result.changed == ["VS/heart_rate"]
    with db.read() as conn:
        assert verify(conn).ok


@pytest.mark.parametrize("lost", ["server", "record", "rollback"])
def test_a_connection_whose_prepared_look_up_is_lost_or_unrecorded_still_saves(
    db: Database, ctx: Context, code: str, lost: str
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the look-up is prepared on the server only on PostgreSQL")
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    with db.engine.connect() as conn:
        if lost == "server":
            conn.exec_driver_sql("DEALLOCATE ALL")  # e.g. a pooler's DISCARD ALL
            conn.commit()
        elif lost == "record":
            conn.info.pop("trialkit.prepared")  # the server has it, the record does not
    if lost == "rollback":  # a refused save rolls back (psycopg may DEALLOCATE ALL then)
        with pytest.raises(FormRefused):
            save_form(
                db,
                ctx,
                UCM,
                code,
                visit="SCR",
                form_id="VITALS",
                values={**VITALS, "heart_rate": "lots"},
                expected_version=1,
                reason="typo",
            )
    r = save_form(
        db,
        ctx,
        UCM,
        code,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "heart_rate": "75"},
        expected_version=1,
        reason="re-measured",
    )
    assert r.version == 2
    assert r.changed == ["VS/heart_rate"]
    stored = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
    assert stored.version == 2
    with db.read() as conn:
        assert verify(conn).ok


def test_a_look_up_value_no_literal_can_carry_takes_the_ordinary_path(
    db: Database, ctx: Context, code: str
) -> None:
    # A text with NUL cannot be a literal; PostgreSQL refuses it as before (the driver's
    # DataError), SQLite finds no such participant.
    with pytest.raises((NotFound, sa.exc.DataError, ValueError, psycopg.DataError)):
        save_form(db, ctx, UCM, code + "\x00x", visit="SCR", form_id="VITALS", values=VITALS)
    quoted = "O'Brien\\; DROP TABLE audit_log; --"
    with pytest.raises(NotFound):
        save_form(db, ctx, UCM, quoted, visit="SCR", form_id="VITALS", values=VITALS)
    with pytest.raises(NotFound):
        save_form(db, ctx, quoted, code, visit="SCR", form_id="VITALS", values=VITALS)
    r = save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    assert r.version == 1
    with db.read() as conn:
        assert verify(conn).ok
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
