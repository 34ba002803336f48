"""The audit trail's pages over HTTP: a participant's (by role and site: another site's reads
as not found), the study's (paged; every site), and proving the trail from the page (data
managers), with the first broken entry once an entry was edited behind trialkit's back."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from tests.web.conftest import Login, form_token

from trialkit.store import Database
from trialkit.store.tables import audit_log

PAE = "psoriasis-adipose-exosomes"
FIRST = "PAE-TEH-001"
TRAIL = f"/studies/{PAE}/participants/{FIRST}/audit"
STUDY = f"/studies/{PAE}/audit"


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("n.rahimi", 200),  # coordinator at TEH
        ("mon.hosseini", 200),  # monitor at TEH
        ("dm.karimi", 200),  # data manager, every site
        ("s.ahmadi", 404),  # coordinator at ISF: not found, like no participant
    ],
)
def test_a_participants_trail_by_role_and_site(login: Login, username: str, status: int) -> None:
    client = login(username)
    r = client.get(TRAIL)
    assert r.status_code == status
    if status == 404:
        missing = client.get(f"/studies/{PAE}/participants/PAE-TEH-999/audit")
        assert missing.status_code == 404
        assert "PART.E003" in r.text
        assert r.text.replace(FIRST, "X") == missing.text.replace("PAE-TEH-999", "X")
        return
    shown = text_of(r.text)
    assert "Every change to this participant's records, newest first." in shown
    assert "form_instance #" in shown
    assert "Field" in shown
    assert "INJ/vial_number" in shown  # an item of the injection form, with its value
    assert "EX-0311-07" in shown
    assert "Verify the audit trail" not in shown  # from the study's page only


def test_the_study_trail_is_paged_and_for_every_site(login: Login) -> None:
    dm = login("dm.karimi")
    first = text_of(dm.get(STUDY).text)
    m = re.search(r"Page 1 of (\d+)", first)
    assert m
    pages = int(m.group(1))
    assert pages > 1
    assert "Verify the audit trail" in first
    last = dm.get(f"{STUDY}?page={pages}").text
    assert f"Page {pages} of {pages}" in text_of(last)
    assert "Older entries" not in last
    assert 'id="entry-1"' not in first  # newest first: the oldest entries on the last page
    stat = text_of(login("stat.moradi").get(STUDY).text)
    assert "Verify the audit trail" not in stat  # reads, does not verify
    r = login("mon.hosseini").get(STUDY)
    assert r.status_code == 403  # a monitor at one site: the study's trail is every site's
    assert "AUTH.E010" in r.text


def test_verifying_from_the_page(login: Login, web_db: Database) -> None:
    stat = login("stat.moradi")
    r = stat.post(f"{STUDY}/verify", data={"csrftoken": form_token(stat.get(STUDY).text)})
    assert r.status_code == 403
    dm = login("dm.karimi")
    r = dm.post(f"{STUDY}/verify", data={"csrftoken": form_token(dm.get(STUDY).text)})
    assert r.status_code == 200
    assert "The audit trail is intact: the database's" in text_of(r.text)
    assert "entries (every study's)" in text_of(r.text)  # not to be read as this page's count
    with web_db.write() as conn:  # behind trialkit's back (the last test of the module)
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 7).values(actor="someone"))
    r = dm.post(f"{STUDY}/verify", data={"csrftoken": form_token(dm.get(STUDY).text)})
    shown = text_of(r.text)
    assert "The audit trail is broken." in shown
    assert "First broken entry: 7 · edited" in shown


def test_persian(login: Login) -> None:
    r = login("dm.karimi", language="fa").get(TRAIL)
    assert r.status_code == 200
    assert "ردپای ممیزی" in r.text


def test_each_change_names_its_action_in_words_with_its_code_beside(login: Login) -> None:
    shown = text_of(login("dm.karimi").get(TRAIL).text)
    assert re.search(r"Form entered enter · form_instance #\d+", shown)
    fa = text_of(login("dm.karimi", language="fa").get(TRAIL).text)
    assert re.search(r"فرم وارد شد enter · form_instance #\d+", fa)


def _written_actions() -> set[str]:
    """Every audit action the services write: the literal ``action="..."`` arguments, the
    participant's steps, the visit records' states and the sign-in attempts."""
    from pathlib import Path

    from trialkit.services import queries
    from trialkit.services.lifecycle import Step

    src = Path(__file__).resolve().parents[2] / "src" / "trialkit"
    written = (
        r'\baction="([a-z_]+)"',  # records.write(..., action="...")
        r'\b_event\(conn, ctx, \w+, "([a-z_]+)"',  # a query's event
        r'\b_audit\(conn, [^()]*"([a-z_]+)"\)',  # a web session's sign-in and sign-out
    )
    found = {
        m.group(1)
        for path in src.rglob("*.py")
        for pattern in written
        for m in re.finditer(pattern, path.read_text(encoding="utf-8"))
    }
    found |= set(queries._VERBS)
    attempts = {"login", "password_confirmed"}
    return (
        found
        | {s.value for s in Step}
        | {"insert", "update", "done", "missed"}
        | attempts
        | {f"{a}_failed" for a in attempts}
    )


def test_every_audit_action_has_its_words(web_db: Database) -> None:
    """A test fails when an action is written to the trail without words for the page (and,
    through the catalogue test, without their Persian)."""
    from trialkit.web.labels import AUDIT_ACTIONS

    with web_db.engine.connect() as conn:
        stored = set(conn.execute(sa.select(audit_log.c.action).distinct()).scalars())
    actions = _written_actions() | stored
    assert "enter" in actions
    assert "administer" in actions
    assert sorted(actions - set(AUDIT_ACTIONS)) == []
