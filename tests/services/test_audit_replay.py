"""The audit trail proves the data: replaying it gives every audited table, and every unaudited
change to any of them is reported naming the table, the row, the field and both values."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trialkit
from trialkit.errors import AccessDenied
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    answer_query,
    authenticate,
    consent,
    create_user,
    enrol,
    issue_token,
    load_study,
    lock,
    mark_not_required,
    open_query,
    prepare_dose,
    record_dose,
    record_visit,
    register,
    revoke_token,
    save_form,
    set_active,
    set_password,
    sign,
    unlock,
)
from trialkit.services import verify as sdv
from trialkit.services.amendments import apply_version, approve_amendment
from trialkit.services.safety import lift_pause, safety_status
from trialkit.services.users import LOCKOUT, MAX_FAILED_LOGINS
from trialkit.store import AUDITED, NOT_AUDITED, Database, Verification, canonical, verify_all
from trialkit.store import tables as t
from trialkit.store.audited import Audited

from .conftest import PAE, PASSWORD, UCM, VITALS_VALUES, People, Screened

# These tests tamper on purpose and check the replay themselves.
pytestmark = pytest.mark.tampers

MEANING = "I confirm these data are accurate and complete"


def _check(db: Database) -> Verification:
    with db.read() as conn:
        return verify_all(conn)


def _tamper(db: Database, *statements: Any) -> None:
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def busy(
    db: Database, ctx: Context, person: People, sites: tuple[str, str], screened: Screened
) -> str:
    """A database in which every kind of oversight and lifecycle write has been made once."""
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    monitor = person("cra.teh", UCM, Role.MONITOR, site="TEH")
    dm = person("dm.teh", UCM, Role.DATA_MANAGER, site="TEH")
    token = issue_token(db, doctor, "script", expires_at=ctx.as_of + timedelta(days=30))
    revoke_token(db, doctor, token.id)
    q = open_query(
        db, doctor, UCM, teh, visit="SCR", form_id="VITALS", item="VS/heart_rate", text="sure?"
    )
    answer_query(db, ctx, UCM, q.id, text="re-measured", expected_version=q.version)
    sdv(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")
    sign(db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password=PASSWORD)
    save_form(
        db,
        ctx,
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS_VALUES, "heart_rate": "75"},
        expected_version=1,
        reason="transcription error",
    )
    lock(db, dm, UCM, scope="participant", participant=teh, reason="review")
    unlock(db, dm, UCM, scope="participant", participant=teh, reason="review done")
    consent(db, ctx, UCM, teh, on=date(2025, 3, 3), form_version="1.0", obtained_by="dr.teh")
    record_visit(db, ctx, UCM, teh, "SCR", date(2025, 3, 3))
    mark_not_required(db, ctx, UCM, teh, visit="SCR", form_id="LABS", reason="not drawn")
    set_active(db, ctx, "cra.teh", False, "left the study")
    # Allocation, a dose prepared and given, a serious adverse event that fires a stopping rule,
    # the board's decision.
    pae = screened(PAE)  # consented, the eligible screening values entered, screened
    enrol(db, ctx, PAE, pae, arm="G50")
    when = datetime(2025, 3, 10, 10, 0)
    # The dose's basis (3.2 cm² of treated plaque) is read from the lesions entered that day.
    lesions = [
        {
            "lesion_role": role,
            "lesion_site": "knee",
            "plaque_area": "3.2",
            "lesion_grade_v": "2",
            "erythema": "2",
            "scaling": "2",
            "induration": "2",
            "redness": "2",
            "pain_nrs": "0",
        }
        for role in ("treated", "control")
    ]
    save_form(db, ctx.at(when), PAE, pae, visit="D1", form_id="LESION", values={"LESIONS": lesions})
    prepare_dose(
        db,
        ctx.at(when),
        PAE,
        pae,
        event_id="INJ",
        kit="K-1",
        amount="160",
        unit="ug",
        product_lot="L-1",
    )
    record_dose(
        db,
        ctx.at(when),
        PAE,
        pae,
        event_id="INJ",
        given_at=when,
        kit="K-1",
        product_lot="L-1",
        vials=["L-1-01"],
    )
    event = {
        "ae_term": "cellulitis",
        "ae_onset": "2025-03-11",
        "ae_grade": "3",
        "ae_serious": "yes",  # a serious event: its report falls due
        "ae_aware_at": "2025-03-11T09:00",
        "ae_relation": "possible",
        "ae_outcome": "recovering",
        "ae_at_injection_site": "no",
    }
    save_form(db, ctx, PAE, pae, visit="D1", form_id="AE", values={"AE": [event]})
    pauses = safety_status(db, ctx, PAE).pauses
    assert len(pauses) == 2, pauses  # S1 (related, grade 3) pauses G50, S2 (serious) enrolment
    board = person("dsmb.chair", PAE, Role.SAFETY_BOARD)
    for pause in pauses:
        lift_pause(db, board, PAE, pause.id, "cellulitis resolved with antibiotics; resume dosing")
    # An amendment loaded, its approval recorded, a participant moved to it.
    amended = dict(shipped_studies())["psoriasis-ucmsc.yaml"].replace(
        'protocol_version: "1.0"', 'protocol_version: "1.1"', 1
    )
    load_study(db, ctx, amended)
    approve_amendment(
        db, ctx, UCM, "1.1", committee="TUMS REC", reference="IR.1", approved_on=date(2025, 3, 1)
    )
    apply_version(db, ctx, UCM, "1.1", teh, "re-consented to amendment 1.1")
    return teh


# -- the declaration --------------------------------------------------------------------------


def test_every_table_is_declared_audited_or_not_audited_once() -> None:
    names = set(t.metadata.tables)
    both = sorted(set(AUDITED) & set(NOT_AUDITED))
    undeclared = sorted(names - set(AUDITED) - set(NOT_AUDITED))
    assert not both, f"declared audited and not audited: {both}"
    assert not undeclared, (
        f"tables {undeclared} are not declared in trialkit/store/audited.py: add each to AUDITED "
        "(written through records.write) or NOT_AUDITED (with the reason)"
    )
    assert set(AUDITED) | set(NOT_AUDITED) <= names


def _tables_written_through_records_write() -> Iterator[tuple[str, int, str]]:
    """(file, line, table name) of every ``write(..., table=X, ...)`` call in the package."""
    root = Path(trialkit.__file__).parent
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name != "write":
                continue
            for kw in node.keywords:
                if kw.arg != "table":
                    continue
                where = f"{path.relative_to(root)}:{node.lineno}"
                value = kw.value
                target = value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")
                table = getattr(t, target, None)
                name = str(table.name) if isinstance(table, sa.Table) else f"<{target}>"
                yield where, node.lineno, name


def test_every_table_the_package_writes_through_records_write_is_declared_audited() -> None:
    found = list(_tables_written_through_records_write())
    assert len({name for _, _, name in found}) >= 15  # the scan sees the services' writes
    undeclared = [f"{where} writes {name}" for where, _, name in found if name not in AUDITED]
    assert not undeclared, (
        "declare these tables in trialkit/store/audited.py AUDITED (entity, JSON columns, "
        f"unaudited columns), or pass a table of trialkit.store.tables by name: {undeclared}"
    )


def _literal_union(node: ast.expr) -> set[str]:
    """The columns a ``json_columns=`` argument can name: a literal, or a conditional
    expression (``("inputs",) if "inputs" in changed else ()``) whose branches are each a
    literal or another conditional; the union of every branch."""
    if isinstance(node, ast.IfExp):
        return _literal_union(node.body) | _literal_union(node.orelse)
    return set(ast.literal_eval(node))


def test_the_json_columns_callers_pass_are_declared() -> None:
    """records.write decodes the declared JSON columns; a caller's own list must agree."""
    root = Path(trialkit.__file__).parent / "services"
    problems = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            kws = {kw.arg: kw.value for kw in node.keywords}
            if "table" not in kws or "json_columns" not in kws:
                continue
            table = getattr(t, getattr(kws["table"], "id", ""), None)
            spec = AUDITED.get(str(getattr(table, "name", "")))
            listed = _literal_union(kws["json_columns"])
            if spec is None or not listed <= set(spec.json_columns):
                problems.append(f"{path.name}:{node.lineno} {sorted(listed)}")
    assert not problems


def test_a_declaration_naming_a_missing_column_is_refused() -> None:
    with pytest.raises(ValueError, match="table study has no column"):
        Audited(t.study, json=("nonsense",))


# -- replay -----------------------------------------------------------------------------------


def test_a_busy_database_replays_to_exactly_its_tables(db: Database, busy: str) -> None:
    result = _check(db)
    assert result.ok, [d.detail for d in result.differences]
    assert result.replayed
    assert result.entries > 100
    with db.read() as conn:
        filled = {
            name
            for name, spec in AUDITED.items()
            if conn.execute(sa.select(sa.func.count()).select_from(spec.table)).scalar_one()
        }
    assert filled == set(AUDITED)  # every audited table took part


def _new_value(spec: Audited, column: str, value: Any) -> Any:
    col = spec.table.c[column]
    if column in spec.json:
        doc = canonical.loads(value)
        return canonical.dumps({"tampered": doc})
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000
    if isinstance(value, datetime):
        return value + timedelta(days=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if value is None:
        if isinstance(col.type, sa.DateTime):
            return datetime(2030, 1, 1)
        if isinstance(col.type, sa.Boolean):
            return True
        if isinstance(col.type, sa.Integer):
            return 1
        return "tampered"
    text = str(value)  # the same length: a column of bounded length still takes it
    return (text[:-1] + ("~" if text[-1] != "~" else "^")) if text else "~"


def _tamperable(spec: Audited) -> list[str]:
    """Audited columns that can be changed without breaking a key or a constraint."""
    out = []
    for name in spec.columns:
        col = spec.table.c[name]
        if col.foreign_keys or col.unique:
            continue
        if any(
            isinstance(c, sa.CheckConstraint) and name in str(c.sqltext)
            for c in spec.table.constraints
        ):
            continue
        if any(
            name in [c.name for c in u.columns]
            for u in spec.table.constraints
            if isinstance(u, sa.UniqueConstraint)
        ):
            continue
        out.append(name)
    return out


def test_an_unaudited_change_to_any_audited_column_is_reported_precisely(
    db: Database, busy: str
) -> None:
    assert _check(db).ok
    tried = 0
    for name, spec in AUDITED.items():
        with db.read() as conn:
            row = conn.execute(sa.select(spec.table).order_by(spec.table.c.id).limit(1)).first()
        if row is None:
            continue
        for column in _tamperable(spec):
            before = row._mapping[column]
            after = _new_value(spec, column, before)
            table = spec.table
            _tamper(db, table.update().where(table.c.id == row.id).values({column: after}))
            result = _check(db)
            assert result.problem is None  # the chain is intact: only the data differ
            assert [(d.table, d.row_id, d.field) for d in result.differences] == [
                (name, str(row.id), column)
            ], (name, column, [d.detail for d in result.differences])
            (d,) = result.differences
            assert d.stored != d.replayed
            assert d.seq is not None or column in spec.initial or before is None
            _tamper(db, table.update().where(table.c.id == row.id).values({column: before}))
            tried += 1
    assert tried > 60
    assert _check(db).ok


def test_each_column_recorded_at_creation_or_following_the_entries_is_proved(
    db: Database, ctx: Context, busy: str
) -> None:
    """Issue #12's last gap: a form's identity, times and protocol version, the allocation
    state's study, method, maker and time, a token's owner, study and time, and the login
    bookkeeping are recorded by the trail (their foreign keys and unique columns too, which the
    test above leaves out): one raw UPDATE of any of them is named with both values."""
    spare = register(db, ctx, UCM, "TEH").id  # a participant with no form: its id is free
    with db.read() as conn:

        def first(table: sa.Table, *where: Any) -> sa.Row[Any]:
            found = conn.execute(sa.select(table).where(*where).order_by(table.c.id)).first()
            assert found is not None, table.name
            return found

        form = first(t.form_instance)
        state = first(t.allocation_state)
        token = first(t.api_token)
        user = first(t.app_user, t.app_user.c.username == "dr.teh")
        other_user = first(t.app_user, t.app_user.c.username == "cra.teh").id
        free_study = first(t.study, t.study.c.id.not_in([state.study_id])).id
        other_version = first(
            t.protocol_version, t.protocol_version.c.id != form.protocol_version_id
        ).id
    later = timedelta(days=1, microseconds=7)
    cases: list[tuple[sa.Table, sa.Row[Any], str, Any]] = [
        (t.form_instance, form, "participant_id", spare),
        (t.form_instance, form, "visit_key", "W99"),
        (t.form_instance, form, "form_id", "OTHER"),
        (t.form_instance, form, "instance_no", 99),
        (t.form_instance, form, "protocol_version_id", other_version),
        (t.form_instance, form, "created_at", form.created_at - later),
        (t.form_instance, form, "updated_at", form.updated_at + later),
        (t.allocation_state, state, "study_id", free_study),
        (t.allocation_state, state, "method", "simple"),
        (t.allocation_state, state, "created_by", "someone.else"),
        (t.allocation_state, state, "created_at", state.created_at - later),
        (t.api_token, token, "user_id", other_user),
        (t.api_token, token, "study_id", free_study),
        (t.api_token, token, "created_at", token.created_at - later),
        (t.app_user, user, "failed_logins", 4),
        (t.app_user, user, "locked_until", datetime(2030, 1, 1)),
    ]
    for table, row, column, value in cases:
        before = row._mapping[column]
        where = table.update().where(table.c.id == row.id)
        _tamper(db, where.values({column: value}))
        result = _check(db)
        assert result.problem is None  # the chain is intact: only the data differ
        assert len(result.differences) == 1, (column, [d.detail for d in result.differences])
        (d,) = result.differences
        assert (d.table, d.row_id, d.field, d.stored, d.replayed) == (
            str(table.name),
            str(row.id),
            column,
            canonical.dumps(value),
            canonical.dumps(before),
        )
        assert d.seq is not None or before is None  # the entry that gives the replayed value
        assert f"{table.name} row {row.id} {column}: stored" in d.detail
        _tamper(db, where.values({column: before}))
    assert _check(db).ok


def test_login_bookkeeping_is_audited_and_an_unlock_behind_trialkits_back_is_seen(
    db: Database, ctx: Context
) -> None:
    """Failed logins already write an entry each (a security event), so the counter and the
    lockout are recorded whenever they change; clearing them by a password reset or a
    reactivation is recorded too."""
    create_user(db, ctx, "s.karimi", PASSWORD, display_name="Dr S. Karimi")
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AccessDenied):
            authenticate(db, "s.karimi", "not the password", ctx.as_of)
    assert _check(db).ok
    with db.read() as conn:
        user = conn.execute(sa.select(t.app_user).where(t.app_user.c.username == "s.karimi")).one()
    assert user.locked_until == ctx.as_of + LOCKOUT
    update = t.app_user.update().where(t.app_user.c.id == user.id)
    _tamper(db, update.values(failed_logins=0, locked_until=None))  # unlocked behind its back
    found = {(d.field, d.stored, d.replayed) for d in _check(db).differences}
    assert found == {
        ("failed_logins", "0", str(MAX_FAILED_LOGINS)),
        ("locked_until", "null", canonical.dumps(ctx.as_of + LOCKOUT)),
    }
    _tamper(db, update.values(failed_logins=user.failed_logins, locked_until=user.locked_until))
    set_password(db, ctx, "s.karimi", PASSWORD + " again")  # a reset clears both, audited
    assert _check(db).ok
    with pytest.raises(AccessDenied):
        authenticate(db, "s.karimi", "not the password", ctx.as_of)
    set_active(db, ctx, "s.karimi", False, "left")
    set_active(db, ctx, "s.karimi", True, "back")
    assert _check(db).ok
    with db.read() as conn:
        user = conn.execute(sa.select(t.app_user).where(t.app_user.c.id == user.id)).one()
        paths = conn.execute(
            sa.select(t.audit_log.c.path, t.audit_log.c.new)
            .where(t.audit_log.c.entity == "app_user", t.audit_log.c.entity_id == str(user.id))
            .where(t.audit_log.c.path.in_(["failed_logins", "locked_until"]))
            .order_by(t.audit_log.c.seq)
        ).all()
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert [p for p, _ in paths].count("locked_until") == 2  # locked, then cleared by the reset
    assert paths[-1] == ("failed_logins", "0")  # the reactivation cleared the one failure


def test_one_unaudited_update_of_form_data_is_reported_with_both_values(
    db: Database, busy: str
) -> None:
    with db.read() as conn:
        row = conn.execute(
            sa.select(t.form_instance.c.id, t.form_instance.c.data)
            .where(t.form_instance.c.form_id == "VITALS")
            .order_by(t.form_instance.c.id)
        ).first()
    assert row is not None
    data = canonical.loads(row.data)
    data["VS"]["heart_rate"] = {**data["VS"]["heart_rate"], "raw": "99", "value": 99}
    _tamper(
        db,
        t.form_instance.update()
        .where(t.form_instance.c.id == row.id)
        .values(data=canonical.dumps(data)),
    )
    result = _check(db)
    assert result.problem is None
    assert not result.ok
    (d,) = result.differences
    assert (d.table, d.row_id, d.field) == ("form_instance", str(row.id), "VS/heart_rate")
    assert d.stored is not None
    assert '"raw":"99"' in d.stored
    assert d.replayed is not None
    assert '"raw":"75"' in d.replayed
    assert d.seq is not None
    assert "changed without an audit entry" in d.detail


def test_an_unaudited_change_later_overwritten_through_trialkit_is_still_seen(
    db: Database, ctx: Context, busy: str
) -> None:
    teh = busy
    with db.read() as conn:
        row = conn.execute(
            sa.select(t.participant.c.id, t.participant.c.status).where(t.participant.c.code == teh)
        ).one()
    # Someone sets the status behind trialkit's back; a later audited step overwrites it.
    _tamper(db, t.participant.update().where(t.participant.c.id == row.id).values(status="x"))
    _tamper(
        db, t.participant.update().where(t.participant.c.id == row.id).values(status=row.status)
    )
    assert _check(db).ok  # put back exactly: nothing differs
    _tamper(
        db, t.participant.update().where(t.participant.c.id == row.id).values(status="screening")
    )
    result = _check(db)
    assert [(d.table, d.field) for d in result.differences] == [("participant", "status")]


def test_rows_inserted_or_deleted_behind_trialkits_back_are_reported(
    db: Database, busy: str
) -> None:
    with db.read() as conn:
        event = conn.execute(
            sa.select(t.participant_event).order_by(t.participant_event.c.id.desc()).limit(1)
        ).one()
        query_event = conn.execute(
            sa.select(t.query_event).order_by(t.query_event.c.id.desc()).limit(1)
        ).one()
    copy = {k: v for k, v in event._mapping.items() if k != "id"}
    _tamper(
        db,
        t.participant_event.insert().values(copy),
        t.query_event.delete().where(t.query_event.c.id == query_event.id),
    )
    result = _check(db)
    assert result.problem is None
    found = {(d.table, d.field, d.stored is None) for d in result.differences}
    assert found == {("participant_event", "*", False), ("query_event", "*", True)}
    details = " ".join(d.detail for d in result.differences)
    assert "has no audit entry" in details
    assert f"query_event row {query_event.id} is gone" in details


@pytest.mark.parametrize("edited", ['"tampered"', "not JSON at all"])
def test_an_edited_entry_shows_in_the_chain_and_in_the_data(
    db: Database, busy: str, edited: str
) -> None:
    with db.read() as conn:
        seq = conn.execute(
            sa.select(sa.func.max(t.audit_log.c.seq)).where(t.audit_log.c.path == "VS/heart_rate")
        ).scalar_one()
    _tamper(db, t.audit_log.update().where(t.audit_log.c.seq == seq).values(new=edited))
    result = _check(db)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (seq, "edited")
    assert [d.field for d in result.differences] == ["VS/heart_rate"]


def test_the_cli_names_each_difference_and_exits_1(db: Database, busy: str) -> None:
    from typer import Typer
    from typer.testing import CliRunner

    from trialkit.cli import audit as audit_cli

    with db.read() as conn:
        sid = conn.execute(sa.select(sa.func.min(t.signature.c.id))).scalar_one()
    _tamper(db, t.signature.update().where(t.signature.c.id == sid).values(meaning="nothing"))
    app = Typer()
    audit_cli.register(app)
    url = db.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(app, ["audit", "verify", "--url", url])
    assert out.exit_code == 1
    assert f'signature row {sid} meaning: stored "nothing"' in out.output
    assert "the data were changed outside trialkit" in out.output


_rates = st.lists(st.integers(min_value=40, max_value=180), min_size=1, max_size=4)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rates=_rates, which=st.sampled_from(sorted(VITALS_VALUES)))
def test_any_sequence_of_saves_replays_and_any_item_tamper_is_named(
    db: Database, ctx: Context, rates: list[int], which: str
) -> None:
    code = register(db, ctx, UCM, "TEH").code
    version = None
    for rate in rates:
        version = save_form(
            db,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            values={**VITALS_VALUES, "heart_rate": str(rate)},
            expected_version=version,
            reason=None if version is None else "re-measured",
        ).version
    assert _check(db).ok
    with db.read() as conn:
        row = conn.execute(
            sa.select(t.form_instance.c.id, t.form_instance.c.data)
            .join(t.participant, t.participant.c.id == t.form_instance.c.participant_id)
            .where(t.participant.c.code == code)
        ).one()
    data = canonical.loads(row.data)
    data["VS"][which] = {**data["VS"][which], "raw": "1"}
    update = t.form_instance.update().where(t.form_instance.c.id == row.id)
    _tamper(db, update.values(data=canonical.dumps(data)))
    result = _check(db)
    assert [(d.row_id, d.field) for d in result.differences] == [(str(row.id), f"VS/{which}")]
    _tamper(db, update.values(data=row.data))
    assert _check(db).ok


def test_records_write_refuses_an_undeclared_table_or_another_entity(
    db: Database, ctx: Context
) -> None:
    from trialkit.errors import StorageError
    from trialkit.services import write

    stray = sa.Table("web_notes", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(StorageError) as undeclared, db.write() as conn:
        write(conn, ctx, table=stray, values={})
    assert undeclared.value.code == "STORE.E040"
    assert "web_notes is not declared in trialkit.store.audited" in undeclared.value.message
    with pytest.raises(StorageError) as other, db.write() as conn:
        write(conn, ctx, table=t.study, entity="trial", values={"code": "x"})
    assert other.value.code == "STORE.E044"
    assert _check(db).ok  # nothing of either was written
