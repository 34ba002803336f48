"""The lean read (``Extract.records``) against the per-value read it replaced: the same values,
in the same order, on the filled study (repeating groups, derived scores, a form not required,
a correction read as of a past day), and on stored form data drawn by Hypothesis (every shape
the stored JSON can take: plain and repeating groups, text, numbers, booleans, missing-data
reasons, entries that are not item entries). Also: ``csv_text`` writes exactly what
``csv.writer`` writes, or declines."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.exports.conftest import CORRECTED, PAE

from trialkit.exports.csv_export import csv_text
from trialkit.services import Context
from trialkit.services.extract import Extract, Value, open_extract
from trialkit.services.safety import group_rows
from trialkit.store import Database, canonical


def _loads(text: Any) -> Any:
    if isinstance(text, dict):
        return text
    return canonical.loads(text) if text else None


def reference(
    extract: Extract, f: tuple[Any, ...], status: str, data: Any, derived: Any
) -> list[Value]:
    """The values of one stored form instance as ``Extract`` built them before the lean read
    (one ``Value`` per item, built value by value), kept here as the reference."""
    record, pid, visit, form_id, instance_no, version_id = f[:6]
    snap = extract._snap
    person = snap.people[pid]
    version = snap.versions[version_id][0]
    form, unit_of = extract._units(version_id, form_id)
    on = snap.visit_dates.get((pid, visit), "")
    code, site_code, arm = person.code, person.site, person.arm
    head = str(instance_no)
    out: list[Value] = []
    add = out.append
    if status == "not_required":
        why = ("not required: " + snap.reasons.get(record, "")).strip()
        for group in form.groups if form is not None else ():
            for item in group.items:
                add(Value(
                    code, site_code, arm, visit, on, form_id, head, group.id, item.name, "",
                    unit_of.get(item.name, ""), why, version, False, record,
                ))  # fmt: skip
        return out
    if status != "entered":
        return out
    for group, content in (_loads(data) or {}).items():
        for row_no, row in group_rows(content):
            instance = head if row_no is None else f"{head}.{row_no}"
            for name in sorted(row):
                entry = row[name]
                value = entry.get("value") if isinstance(entry, dict) else None
                if value is None:
                    missing = entry.get("missing") if isinstance(entry, dict) else None
                    if missing:
                        add(Value(
                            code, site_code, arm, visit, on, form_id, instance, group, name,
                            "", unit_of.get(name, ""), str(missing), version, False, record,
                        ))  # fmt: skip
                    continue
                if value is True or value is False:
                    value = "true" if value else "false"
                add(Value(
                    code, site_code, arm, visit, on, form_id, instance, group, name,
                    value if type(value) is str else str(value), unit_of.get(name, ""), "",
                    version, False, record,
                ))  # fmt: skip
    for name, d in sorted((_loads(derived) or {}).items()):
        if not isinstance(d, dict):
            continue
        text = "" if d.get("value") is None else str(d["value"])
        why = "" if text else f"not computed: {d.get('reason') or 'no score'}"
        add(Value(
            code, site_code, arm, visit, on, form_id, head, "", name, text,
            unit_of.get(name, ""), why, version, True, record,
        ))  # fmt: skip
    return out


def _stored(extract: Extract) -> list[tuple[Any, ...]]:
    """Every stored form instance the extract reads, in its order, as of its cut."""
    from trialkit.store.tables import form_instance, participant

    q = extract._forms().join(participant, participant.c.id == form_instance.c.participant_id)
    rows = list(
        extract._conn.execute(
            q.order_by(
                participant.c.code,
                form_instance.c.visit_key,
                form_instance.c.form_id,
                form_instance.c.instance_no,
            )
        )
    )
    past = extract._rebuild([r.id for r in rows]) if extract._cut is not None else {}
    return [(*r[:6], *past.get(r.id, tuple(r[6:9]))) for r in rows]


@pytest.mark.parametrize("as_of", [None, CORRECTED.replace(hour=0)])
def test_the_lean_read_gives_the_values_of_the_per_value_read(
    db: Database, ctx: Context, filled: tuple[str, str], as_of: datetime | None
) -> None:
    with open_extract(db, ctx, PAE, as_of=as_of) as extract:
        expected = [
            v for f in _stored(extract) for v in reference(extract, f[:6], f[6], f[7], f[8])
        ]
        assert expected  # the filled study has values
        assert {v.derived for v in expected} == {True, False}
        assert any("." in v.instance for v in expected)  # a repeating group's rows
        # marked not required after the past day's cut
        not_required = any(v.missing_reason.startswith("not required") for v in expected)
        assert not_required == (as_of is None)
        assert list(extract.values()) == expected
        assert [v for batch in extract.form_batches() for v in batch] == expected
        records = list(extract.records())
        assert [v for r in records for v in r.values()] == expected
        assert len(records) == extract.form_count()
        for r in records:
            assert all(len(c) == 6 for c in r.cells + r.derived)


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_VALUE = st.one_of(
    st.none(),
    _TEXT,
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)
_ENTRY = st.one_of(
    st.fixed_dictionaries(
        {"value": _VALUE, "raw": _TEXT},
        optional={"missing": st.sampled_from(["not_done", "unknown", "", None]), "pv": _TEXT},
    ),
    _TEXT,  # not an item entry: read as no value
    st.integers(0, 3),
)
_NAME = st.sampled_from(["trunk_erythema", "plaque_area", "lesion_role", "zz", "a b", "é"])
_ROW = st.dictionaries(_NAME, _ENTRY, max_size=5)
_GROUP = st.one_of(_ROW, st.lists(st.one_of(_ROW, st.just("x")), max_size=3), st.just(7))
_DATA = st.dictionaries(st.sampled_from(["PASI", "LESIONS", "G"]), _GROUP, max_size=3)
_DERIVED = st.dictionaries(
    st.sampled_from(["pasi", "bsa", "x"]),
    st.one_of(
        st.fixed_dictionaries(
            {"value": st.one_of(st.none(), _TEXT, st.integers())},
            optional={"reason": st.one_of(st.none(), _TEXT)},
        ),
        _TEXT,
    ),
    max_size=3,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(
    data=_DATA,
    derived=_DERIVED,
    status=st.sampled_from(["entered", "not_required", "draft"]),
    as_text=st.booleans(),
    form_id=st.sampled_from(["PASI", "LESION", "NOPE"]),
)
def test_the_lean_read_of_any_stored_data_is_the_per_value_read(
    db: Database,
    ctx: Context,
    filled: tuple[str, str],
    data: dict[str, Any],
    derived: dict[str, Any],
    status: str,
    as_text: bool,
    form_id: str,
) -> None:
    with open_extract(db, ctx, PAE) as extract:
        f = _stored(extract)[0]
        stored = (canonical.dumps(data), canonical.dumps(derived)) if as_text else (data, derived)
        head = (f[0], f[1], f[2], form_id, f[4], f[5])
        got = extract._record(*head, status, *stored)
        assert got.values() == reference(extract, head, status, *stored)
        assert (got.status, got.form, got.record) == (status, form_id, f[0])
        # read again: a shape seen before takes the shared layout (and its scanner)
        again = extract._record(*head, status, *stored)
        assert again.values() == got.values()


_FIELD = st.text(alphabet=st.sampled_from('ab ,"\r\n\x00é1'), max_size=4)


@given(
    rows=st.lists(st.lists(_FIELD, min_size=0, max_size=4), max_size=4),
    lead=st.lists(_FIELD, max_size=2),
    tail=st.lists(_FIELD, max_size=2),
)
def test_csv_text_is_what_csv_writer_writes_or_nothing(
    rows: list[list[str]], lead: list[str], tail: list[str]
) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([lead + r + tail for r in rows])
    text = csv_text(rows, lead, tail)
    assert text is None or text == buf.getvalue()
    if rows and all(rows) and len(lead) + len(tail) + min(map(len, rows)) >= 2:
        plain = all(c.isalnum() or c == " " for r in [*rows, lead, tail] for f in r for c in f)
        if plain:  # nothing to quote: the fast text is written
            assert text is not None
    widths = {len(r) for r in rows}
    if len(widths) == 1:
        assert csv_text(rows, lead, tail, width=widths.pop()) == text


def test_the_reads_bind_no_participant_ids(
    db: Database, ctx: Context, filled: tuple[str, str]
) -> None:
    """The form, visit and lifecycle reads filter by the snapshot's participant query, not by
    a bound list of ids: SQLite allows 32,766 parameters, fewer than a large study's
    participants."""
    with open_extract(db, ctx, PAE) as extract:
        assert len(extract.people) > 1
        params = extract._forms().compile().params
        ids = {p.code for p in extract.people}
        assert len(params) <= 4, params  # the study and the filters, whatever the count
        assert extract.events()
        assert {code for code, *_ in extract.events()} <= ids
