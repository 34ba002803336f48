"""Synthetic trials run through the services, and the demo built on them (an edge: it calls
the services as the web application and the CLI do). See docs/simulate.md."""

from trialkit.simulate.run import SimulationResult, simulate
from trialkit.simulate.scenario import Scenario, default_scenario, load_scenario
from trialkit.simulate.team import DEMO_PASSWORD, SITES, TEAM, DemoLogin, ensure_sites, ensure_team

__all__ = [
    "DEMO_PASSWORD",
    "SITES",
    "TEAM",
    "DemoLogin",
    "Scenario",
    "SimulationResult",
    "default_scenario",
    "ensure_sites",
    "ensure_team",
    "load_scenario",
    "simulate",
]
