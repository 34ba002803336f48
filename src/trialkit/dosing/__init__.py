"""Dose arithmetic with units and the deviations of an administration (pure core)."""

from trialkit.dosing.compute import ComputedDose, compute_dose, in_unit
from trialkit.dosing.deviations import Deviation, deviations, dose_deviation, time_deviation

__all__ = [
    "ComputedDose",
    "Deviation",
    "compute_dose",
    "deviations",
    "dose_deviation",
    "in_unit",
    "time_deviation",
]
