"""SDV progress per site, form and monitor, the counts of a query list, and what a signature
covers, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction

from tests.services.conftest import PASSWORD

from trialkit.services import (
    Context,
    Role,
    list_queries,
    open_query,
    sdv_status,
    sign,
    signatures,
    verify,
)
from trialkit.services.monitoring import sdv_progress
from trialkit.services.queries import summarise_queries
from trialkit.store import Database

UCM = "psoriasis-ucmsc"
People = Callable[..., Context]


def test_progress_counts_items_forms_queries_and_monitors(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    teh_monitor = person("monitor.teh", UCM, Role.MONITOR, site="TEH")
    vitals = len(sdv_status(db, monitor, UCM, teh, visit="SCR", form_id="VITALS").items)
    screen = len(sdv_status(db, monitor, UCM, teh, visit="SCR", form_id="SCREEN").items)
    verify(db, monitor, UCM, teh, visit="SCR", form_id="VITALS")  # the whole form
    verify(db, teh_monitor, UCM, teh, visit="SCR", form_id="SCREEN", items=["DEMOG/age"])
    open_query(
        db, monitor, UCM, isf, visit="SCR", form_id="VITALS", item="VS/weight", text="weight?"
    )
    later = monitor.at(monitor.as_of + timedelta(days=9))
    p = sdv_progress(db, later, UCM)
    assert p.total.forms_entered == 4
    assert p.total.items == 2 * (vitals + screen)
    assert p.total.items_verified == vitals + 1
    assert p.total.forms_not_reviewed == 2  # ISF's two forms
    assert (p.total.open_queries, p.total.oldest_query_days) == (1, 9)
    by_site = {r.key: r for r in p.by_site}
    assert by_site["TEH"].share_verified == Fraction(vitals + 1, vitals + screen)
    assert (by_site["ISF"].items_verified, by_site["ISF"].open_queries) == (0, 1)
    by_form = {r.key: r for r in p.by_form}
    assert (by_form["VITALS"].items_verified, by_form["VITALS"].forms_not_reviewed) == (vitals, 1)
    assert [(m.monitor, m.forms, m.items_verified) for m in p.by_monitor] == [
        ("monitor.all", 1, vitals),
        ("monitor.teh", 1, 1),
    ]
    # a monitor of one site sees that site only
    own = sdv_progress(db, teh_monitor.at(later.as_of), UCM)
    assert [r.key for r in own.by_site] == ["TEH"]
    assert (own.total.forms_entered, own.total.open_queries) == (2, 0)
    # a signature says which forms it covers, with their versions
    pi = person("pi.teh", UCM, Role.PRINCIPAL_INVESTIGATOR, site="TEH")
    meaning = "I confirm that I reviewed these data and they are accurate"
    sign(db, pi, UCM, teh, scope="visit", visit="SCR", meaning=meaning, password=PASSWORD)
    (s,) = signatures(db, pi, UCM, teh)
    assert (s.forms, s.covered) == (2, ("SCR/SCREEN v1", "SCR/VITALS v1"))


def test_query_counts_by_state_site_form_participant_and_age(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    monitor = person("monitor.all", UCM, Role.MONITOR)
    for code, item, days in (
        (teh, "VS/weight", 0),
        (teh, "VS/heart_rate", 10),
        (isf, "VS/weight", 40),
    ):
        open_query(
            db,
            monitor.at(monitor.as_of + timedelta(days=40 - days)),
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            item=item,
            text="check",
        )
    found = list_queries(db, monitor, UCM, status=None, form_id="VITALS")
    assert len(found) == 3
    assert list_queries(db, monitor, UCM, status=None, form_id="SCREEN") == []
    s = summarise_queries(found, monitor.as_of + timedelta(days=40))
    assert s.total == 3
    assert s.by_status == {"open": 3, "answered": 0, "closed": 0}
    assert s.by_site == {"ISF": 1, "TEH": 2}
    assert s.by_participant == {isf: 1, teh: 2}
    assert s.by_form == {"VITALS": 3}
    # boundaries: 7 days is the first band, 8 the second, 31 the third
    assert s.by_age == {"0-7 days": 1, "8-30 days": 1, "over 30 days": 1}
    assert s.oldest_days == 40
    assert summarise_queries([], monitor.as_of).oldest_days is None
