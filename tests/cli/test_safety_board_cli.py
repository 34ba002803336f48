"""``trialkit safety status|lift|review``: the safety board's work from the command line, as a
real user, on real databases with the clock frozen."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import time_machine
from tests.cli.test_safety import PAE, PASSWORD, SCREENING, _cli

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
from trialkit.store import Database, upgrade


def _fired(url: str) -> str:
    """A G50 participant with a related grade-3 event: S1 pauses G50 (not serious: S2 quiet)."""
    db = Database.from_url(url)
    try:
        upgrade(db.engine)
        ctx = Context.operator("dr.demo", datetime(2025, 3, 12, 15))
        load_study(db, ctx, dict(shipped_studies())[f"{PAE}.yaml"], source=PAE)
        add_site(db, ctx, PAE, "TEH", "Tehran")
        create_user(db, ctx, "dsmb", PASSWORD, display_name="Prof Board")
        add_membership(db, ctx, "dsmb", PAE, "safety_board")
        create_user(db, ctx, "dr.pi", PASSWORD, display_name="Dr PI")
        add_membership(db, ctx, "dr.pi", PAE, "investigator")
        code = register(db, ctx, PAE, "TEH").code
        consent(db, ctx, PAE, code, on=date(2025, 3, 3), form_version="1", obtained_by="dr")
        for form_id, values in SCREENING.items():
            save_form(db, ctx, PAE, code, visit="SCR", form_id=form_id, values=values)
        screen(db, ctx, PAE, code)
        enrol(db, ctx, PAE, code, arm="G50")
        row = {
            "ae_term": "Injection site ulceration",
            "ae_onset": "2025-03-11",
            "ae_grade": "3",
            "ae_serious": "no",
            "ae_relation": "probable",
            "ae_outcome": "recovering",
            "ae_at_injection_site": "yes",
        }
        save_form(db, ctx, PAE, code, visit="D1", form_id="AE", values={"AE": [row]})
        return code
    finally:
        db.dispose()


def test_status_lift_and_review(tmp_path: Path) -> None:
    # SQLite only: the services these commands call are tested on both databases.
    database_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    code = _fired(database_url)
    url = ["--url", database_url]
    with time_machine.travel(datetime(2025, 3, 13, 9, 0), tick=False):
        status, out = _cli("safety", "status", PAE, *url, user="dsmb")
        assert status == 0, out
        assert "dose groups paused: G50" in out
        assert "rule S1 (active)" in out
        assert "rule S2 (not fired)" in out
        assert f"{code}: Injection site ulceration, grade 3" in out
        status, out = _cli("safety", "status", PAE, *url, "--json", user="dsmb")
        data = json.loads(out)
        (s1,) = [r for r in data["rules"] if r["id"] == "S1"]
        pause = s1["firings"][0]["pause"]
        assert s1["firings"][0]["target"] == "G50"

        status, out = _cli("safety", "lift", PAE, str(pause), "--reason", "x", *url)
        assert status == 1  # the investigator does not decide for the board
        assert "AUTH.E010" in out
        status, out = _cli("safety", "lift", PAE, str(pause), "--reason", " ", *url, user="dsmb")
        assert (status, "SAFETY.E020" in out) == (1, True)
        why = "local ulceration, resolving; resume G50"
        status, out = _cli("safety", "lift", PAE, str(pause), "--reason", why, *url, user="dsmb")
        assert (status, out) == (0, f"{PAE}: pause {pause} lifted\n")
        status, out = _cli("safety", "status", PAE, *url, user="dsmb")
        assert "rule S1 (lifted)" in out
        assert f"decision lift_pause G50 by dsmb 2025-03-13 09:00: {why}" in out

        status, out = _cli("safety", "review", PAE, *url, user="dsmb")
        assert status == 0, out
        assert "cohort G50: open, 1 of 4 allocated, 0 dosed" in out
        status, out = _cli("safety", "review", PAE, "--open", "G100", *url, user="dsmb")
        assert (status, "CLI.E031" in out) == (1, True)
        status, out = _cli(
            "safety", "review", PAE, "--open", "G100", "--reason", "ok", *url, user="dsmb"
        )
        assert (status, "ALLOC.E059" in out) == (1, True)  # G50's review is not due
