"""``trialkit safety overdue|report`` on real databases, with the clock frozen, as a real user."""

from __future__ import annotations

import json
from datetime import date, datetime

import time_machine
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    add_membership,
    add_site,
    consent,
    create_user,
    enrol,
    load_study,
    register,
    save_form,
    screen,
)
from trialkit.simulate.eligible import eligible_values
from trialkit.store import Database, upgrade

PAE = "psoriasis-adipose-exosomes"
PASSWORD = "a passphrase long enough"
# Every form of the screening visit, entered at SCR: together they make the participant
# eligible under the study's own criteria, so the real evaluator lets them be enrolled.
SCREENING = eligible_values(PAE)


def _serious_event(url: str) -> str:
    db = Database.from_url(url)
    try:
        upgrade(db.engine)
        ctx = Context.operator("dr.demo", datetime(2025, 3, 12, 15))
        load_study(db, ctx, dict(shipped_studies())[f"{PAE}.yaml"], source=PAE)
        for site, name in (("TEH", "Tehran"), ("ISF", "Isfahan")):
            add_site(db, ctx, PAE, site, name)
        create_user(db, ctx, "dr.pi", PASSWORD, display_name="Dr PI")
        add_membership(db, ctx, "dr.pi", PAE, "investigator")  # every site
        create_user(db, ctx, "dr.isf", PASSWORD, display_name="Dr Isfahan")
        add_membership(db, ctx, "dr.isf", PAE, "investigator", site_code="ISF")
        code = register(db, ctx, PAE, "TEH").code
        consent(db, ctx, PAE, code, on=date(2025, 3, 3), form_version="1", obtained_by="dr")
        for form_id, values in SCREENING.items():
            save_form(db, ctx, PAE, code, visit="SCR", form_id=form_id, values=values)
        verdict = screen(db, ctx, PAE, code).eligibility
        assert verdict["eligible"] is True, verdict
        enrol(db, ctx, PAE, code, arm="G50")
        row = {
            "ae_term": "Cellulitis",
            "ae_onset": "2025-03-11",
            "ae_grade": "3",
            "ae_serious": "yes",
            "ae_aware_at": "2025-03-12T08:30",
            "ae_relation": "not_related",
            "ae_outcome": "recovering",
            "ae_at_injection_site": "no",
        }
        save_form(db, ctx, PAE, code, visit="D1", form_id="AE", values={"AE": [row]})
        return code
    finally:
        db.dispose()


def _cli(*args: str, user: str = "dr.pi") -> tuple[int, str]:
    env = {"TRIALKIT_PASSWORD": PASSWORD, "TRIALKIT_TOKEN": None}
    result = CliRunner().invoke(app, [*args, "--user", user], env=env)
    return result.exit_code, result.output


def test_overdue_and_report(database_url: str) -> None:
    code = _serious_event(database_url)
    url = ["--url", database_url]
    with time_machine.travel(datetime(2025, 3, 13, 8, 30), tick=False):
        assert _cli("safety", "overdue", PAE, *url) == (
            0,
            f"{PAE}: no serious-event report is overdue\n",
        )
    with time_machine.travel(datetime(2025, 3, 13, 10, 30), tick=False):
        status, out = _cli("safety", "overdue", PAE, *url, "--json")
        assert status == 0, out
        (item,) = json.loads(out)
        assert (item["participant"], item["site"], item["due_at"]) == (
            code,
            "TEH",
            "2025-03-13T08:30:00",
        )
        assert item["hours_overdue"] == 2.0
        status, out = _cli("safety", "overdue", PAE, "--site", "ISF", *url)
        assert (status, "no serious-event report is overdue at site ISF" in out) == (0, True)
        status, out = _cli("safety", "overdue", PAE, *url, user="dr.isf")
        assert (status, "no serious-event report is overdue" in out) == (0, True)
        status, out = _cli("safety", "overdue", PAE, "--site", "TEH", *url, user="dr.isf")
        assert status == 1  # another site's reports are not the Isfahan investigator's to read
        status, out = _cli("safety", "overdue", PAE, *url)
        assert "Cellulitis" in out
        assert "2.0 h" in out
        status, out = _cli(
            "safety", "report", PAE, str(item["id"]), "--at", "2025-03-13T10:00",
            "--reference", "sponsor SAE 2025-014", *url,
        )  # fmt: skip
        assert status == 0, out
        assert "reported 2025-03-13 10:00, due 2025-03-13 08:30 (late)" in out
        assert _cli("safety", "overdue", PAE, *url)[0] == 0
        status, out = _cli(
            "safety", "report", PAE, str(item["id"]), "--at", "yesterday",
            "--reference", "x", *url,
        )  # fmt: skip
        assert status == 1
        assert "CLI.E030" in out
        status, out = _cli(
            "safety", "report", PAE, "999", "--at", "2025-03-13T10:00", "--reference", "x", *url
        )
        assert status == 1
        assert "SAFETY.E031" in out


def test_the_safety_commands_need_a_user(database_url: str) -> None:
    _serious_event(database_url)
    result = CliRunner().invoke(
        app,
        ["safety", "overdue", PAE, "--url", database_url],
        env={"TRIALKIT_PASSWORD": None, "TRIALKIT_TOKEN": None},
    )
    assert result.exit_code == 1
    assert "CLI.E020" in result.output
    status, out = _cli("safety", "overdue", PAE, "--url", database_url, user="nobody")
    assert status == 1
    assert "AUTH.E020" in out
