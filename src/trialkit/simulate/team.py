"""The synthetic study team: one login per role, used by the demos and the simulation.

The same people in ``trialkit demo``, ``trialkit serve --demo`` and ``trialkit simulate``: a
coordinator and an investigator at each site (TEH and ISF), a data manager, a monitor, the
safety board chair, a statistician and a pharmacist. They are real users (argon2 passwords,
memberships granted by the local operator, listed by ``trialkit user list``); every one has
the password :data:`DEMO_PASSWORD`, so a simulation belongs in a database made for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.errors import NotFound
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    authenticate,
    create_user,
    get_user,
    list_memberships,
    list_sites,
)
from trialkit.store import Database

__all__ = ["DEMO_PASSWORD", "SITES", "TEAM", "DemoLogin", "ensure_sites", "ensure_team"]

#: Every synthetic user's password (printed by ``trialkit serve --demo``).
DEMO_PASSWORD = "demo passphrase, not for real use"

#: The sites of the demos and of the simulation's default scenarios.
SITES = (("TEH", "Tehran"), ("ISF", "Isfahan"))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    site: str | None
    unblinded: bool = False
    note: str = ""


#: The team: one login per role of :mod:`trialkit.services.access` but read-only (the
#: pharmacist, who prepares blinded doses, always sees allocations; the study administrator
#: loads and applies amendments).
TEAM = (
    DemoLogin("n.rahimi", "N. Rahimi (coordinator)", Role.COORDINATOR, "TEH"),
    DemoLogin("dr.amini", "Dr A. Amini", Role.PRINCIPAL_INVESTIGATOR, "TEH"),
    DemoLogin("dr.kazemi", "Dr R. Kazemi", Role.INVESTIGATOR, "ISF"),
    DemoLogin("s.ahmadi", "S. Ahmadi (coordinator)", Role.COORDINATOR, "ISF"),
    DemoLogin("dm.karimi", "M. Karimi (data manager)", Role.DATA_MANAGER, None),
    DemoLogin("mon.hosseini", "L. Hosseini (monitor)", Role.MONITOR, "TEH"),
    DemoLogin("dsmb.safavi", "Prof D. Safavi (safety board)", Role.SAFETY_BOARD, None),
    DemoLogin("stat.moradi", "F. Moradi (statistician)", Role.STATISTICIAN, None),
    DemoLogin("pharm.jafari", "H. Jafari (pharmacist)", Role.PHARMACIST, None),
    DemoLogin("adm.tehrani", "S. Tehrani (study administrator)", Role.ADMINISTRATOR, None),
)


def ensure_sites(db: Database, operator: Context, study: str, codes: list[str]) -> None:
    """Add the sites of ``codes`` the study does not have yet (named from :data:`SITES`)."""
    names = dict(SITES)
    have = {s.code for s in list_sites(db, operator, study)}
    for code in codes:
        if code not in have:
            add_site(db, operator, study, code, names.get(code, code))


def ensure_team(db: Database, operator: Context, studies: list[str]) -> dict[str, Context]:
    """Create the team's users that are missing, grant each its role in ``studies`` where it
    has none, and return everyone logged in (at the operator's time)."""
    for person in TEAM:
        try:
            get_user(db, person.username)
        except NotFound:
            create_user(
                db, operator, person.username, DEMO_PASSWORD, display_name=person.display_name
            )
    for study in studies:
        held = {m.username for m in list_memberships(db, operator, study)}
        for person in TEAM:
            if person.username not in held:
                add_membership(
                    db,
                    operator,
                    person.username,
                    study,
                    person.role,
                    site_code=person.site,
                    unblinded=person.unblinded,
                )
    return {p.username: authenticate(db, p.username, DEMO_PASSWORD, operator.as_of) for p in TEAM}
