"""``studies.definition``: a member reads any loaded protocol version; others are refused."""

from __future__ import annotations

import pytest
from tests.services.conftest import People

from trialkit.errors import AccessDenied, NotFound
from trialkit.services import Context, Role
from trialkit.services.studies import definition
from trialkit.store import Database

UCM = "psoriasis-ucmsc"


def test_a_member_reads_the_definition_and_an_outsider_does_not(
    db: Database, ctx: Context, person: People
) -> None:
    nurse = person("n.rahimi", UCM, Role.COORDINATOR, site="TEH")
    study = definition(db, nurse, UCM)
    assert (study.id, study.protocol_version) == (UCM, "1.0")
    assert definition(db, nurse, UCM, "1.0") == study
    with pytest.raises(NotFound) as missing:
        definition(db, nurse, UCM, "9.9")
    assert missing.value.code == "STUDY.E003"
    with pytest.raises(AccessDenied) as refused:
        definition(db, nurse, "psoriasis-adipose-exosomes")
    assert refused.value.code == "AUTH.E010"
