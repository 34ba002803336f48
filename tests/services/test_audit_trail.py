"""The audit trail as its readers see it (:mod:`trialkit.services.audit_trail`): a
participant's entries and a study's, newest first and paged, nothing of another study or site,
refused to blinded readers of a masked study; proving the trail (data managers), and its first
broken entry when an entry was edited behind trialkit's back. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tests.services.conftest import UCM, People, Screened

from trialkit.errors import AccessDenied, NotFound, ValidationFailed
from trialkit.services import Context, Role
from trialkit.services.audit_trail import participant_trail, study_trail, verify_trail
from trialkit.store import Database
from trialkit.store.tables import audit_log

PAE = "psoriasis-adipose-exosomes"


@pytest.mark.tampers
def test_the_trail_by_participant_and_study_and_its_proof(
    db: Database, ctx: Context, screened: Screened, person: People, masked: str
) -> None:
    mine = screened(UCM)
    elsewhere = screened(PAE)
    dm = person("dm", UCM, Role.DATA_MANAGER)
    trail = participant_trail(db, dm, UCM, mine, per_page=5)
    assert trail.total > 5
    assert trail.pages == -(-trail.total // 5)
    seqs = [e.seq for e in trail.entries]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    everything = participant_trail(db, dm, UCM, mine, per_page=500)
    assert {"participant", "form_instance", "participant_event"} <= {
        e.entity for e in everything.entries
    }
    ages = [
        e for e in everything.entries if e.entity == "form_instance" and e.path.endswith("/age")
    ]
    assert ages[0].old is None
    assert ages[0].new["value"] == "44"  # as entered at screening
    last = participant_trail(db, dm, UCM, mine, page=trail.pages, per_page=5)
    assert last.entries[-1].seq == everything.entries[-1].seq
    grouped = everything.changes()
    assert sum(len(c.entries) for c in grouped) == everything.total
    assert len(grouped) < everything.total  # one write, several fields
    assert all(len({(e.entity, e.entity_id) for e in c.entries}) == 1 for c in grouped)
    with pytest.raises(ValidationFailed):
        participant_trail(db, dm, UCM, mine, page=0)

    study = study_trail(db, dm, UCM, per_page=500)
    ids = {e.seq for e in study.entries}
    assert {e.seq for e in everything.entries} <= ids
    pae = study_trail(db, ctx, PAE, per_page=500)
    assert not ids & {e.seq for e in pae.entries}  # nothing of another study
    assert any(e.entity == "study" for e in study.entries)
    with pytest.raises(NotFound):
        participant_trail(db, dm, UCM, elsewhere)  # not a participant of this study

    nurse = person("nurse", UCM, Role.COORDINATOR, site="TEH")
    assert participant_trail(db, nurse, UCM, mine).total == trail.total
    with pytest.raises(AccessDenied):
        study_trail(db, nurse, UCM)  # the study's trail: every site
    blind = person("blind.dm", masked, Role.DATA_MANAGER)
    with pytest.raises(AccessDenied) as refused:
        study_trail(db, blind, masked)
    assert refused.value.code == "AUDIT.E010"
    assert study_trail(db, person("open.dm", masked, Role.DATA_MANAGER, unblinded=True), masked)

    with pytest.raises(AccessDenied):
        verify_trail(db, person("stat", UCM, Role.STATISTICIAN), UCM)
    assert verify_trail(db, dm, UCM).ok
    target = everything.entries[-1].seq
    with db.write() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == target).values(reason="x"))
    broken = verify_trail(db, dm, UCM)
    assert not broken.ok
    assert broken.problem is not None
    assert (broken.problem.seq, broken.problem.kind) == (target, "edited")
