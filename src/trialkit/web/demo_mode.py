"""Demo mode: a local database with the three shipped studies, two sites, a study team with
logins, a few hand-made participants and simulated ones, so the web application can be tried
at once.

The seeding is the demos' one seeding, :func:`trialkit.simulate.demo.seed_demo`: everything
goes through the services' public API, as the local operator (``demo.setup``) for what an
operator does (loading studies, adding sites and users, granting memberships) and as the team's
own users for the trial work. Dates are relative to the day the database is made, so its
calendars show visits done, due, overdue and to come. A database that already has studies is
used as it is: demo mode never seeds twice.
"""

from __future__ import annotations

from datetime import date

from trialkit.simulate.demo import seed_demo
from trialkit.simulate.team import DEMO_PASSWORD, TEAM, DemoLogin
from trialkit.store import Database

__all__ = ["DEMO_PASSWORD", "TEAM", "DemoLogin", "ensure_demo_database"]


def ensure_demo_database(db: Database, today: date) -> bool:
    """Create the schema and seed the demo on an empty database; returns whether it seeded."""
    return seed_demo(db, today) is not None
