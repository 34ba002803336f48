"""The instruments trialkit knows, by name: one immutable mapping, built once."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from trialkit.errors import NotFound
from trialkit.instruments.base import Instrument
from trialkit.instruments.cdai import CDAI
from trialkit.instruments.ctcae_labs import CTCAE_LAB_INSTRUMENTS
from trialkit.instruments.ctcae_selectable import CTCAE_SELECTABLE_INSTRUMENTS
from trialkit.instruments.ctcae_vitals import CTCAE_VITAL_INSTRUMENTS
from trialkit.instruments.lesion import LESION_GRADE, TLSS
from trialkit.instruments.mayo import MAYO, MODIFIED_MAYO, PARTIAL_MAYO
from trialkit.instruments.pasi import PASI
from trialkit.instruments.sescd import SESCD
from trialkit.instruments.sf36 import (
    RAND36,
    SF36_MCS,
    SF36_MCS_SCALES,
    SF36_PCS,
    SF36_PCS_SCALES,
)
from trialkit.instruments.simple import BSA, IGA, PAIN_NRS, PAIN_VAS, REDNESS, SPGA

__all__ = ["INSTRUMENTS", "get_instrument"]


def _build() -> Mapping[str, Instrument]:
    table: dict[str, Instrument] = {}
    for inst in (
        PASI,
        BSA,
        SPGA,
        IGA,
        TLSS,
        LESION_GRADE,
        PAIN_NRS,
        PAIN_VAS,
        REDNESS,
        CDAI,
        MAYO,
        PARTIAL_MAYO,
        MODIFIED_MAYO,
        SESCD,
        RAND36,
        SF36_PCS,
        SF36_MCS,
        SF36_PCS_SCALES,
        SF36_MCS_SCALES,
        *CTCAE_LAB_INSTRUMENTS,
        *CTCAE_SELECTABLE_INSTRUMENTS,
        *CTCAE_VITAL_INSTRUMENTS,
    ):
        if inst.name in table:
            raise RuntimeError(f"duplicate instrument name {inst.name!r}")
        table[inst.name] = inst
    return MappingProxyType(table)


#: Every instrument by its stable name (read-only).
INSTRUMENTS: Mapping[str, Instrument] = _build()


def get_instrument(name: str) -> Instrument:
    """The instrument called ``name``; NotFound lists the known names."""
    try:
        return INSTRUMENTS[name.strip().lower()]
    except KeyError:
        raise NotFound(
            f"no instrument named {name!r}; known instruments: {', '.join(INSTRUMENTS)}",
            code="INSTR.E404",
            hint="run `trialkit score --list`",
        ) from None
