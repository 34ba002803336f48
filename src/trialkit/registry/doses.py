"""Read a dose, a route and a product from a registry's intervention text.

Only what the text states is read: an amount with a unit (``50 µg``), what it is given per
(``per cm² of plaque`` -> basis item ``plaque_area``), the volume and diluent (``into 0.5 ml of
normal saline``), or an explicit count (``one vial``, ``a single injection``). Ranges
(``250-300 micrograms``) and parenthesised equivalents are not doses and are skipped. Amounts are
exact decimals read from the text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from trialkit.protocol import DoseRule, Product, Quantity, QuantityRange

__all__ = [
    "Route",
    "find_dose",
    "find_doses",
    "find_infusion_duration",
    "find_product",
    "find_route",
]

Route = Literal["intradermal", "intravenous", "subcutaneous", "oral", "topical", "other"]
ProductKind = Literal["cells", "exosomes", "drug", "biological", "device", "other"]

_UNIT = {
    "µg": "ug",
    "μg": "ug",
    "ug": "ug",
    "mcg": "ug",
    "microgram": "ug",
    "micrograms": "ug",
    "mg": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "g": "g",
    "gram": "g",
    "grams": "g",
    "ml": "mL",
    "mL": "mL",
    "cells": "cells",
    "particles": "particles",
}
_PER = {"cm²": "cm2", "cm2": "cm2", "kg": "kg", "m²": "m2", "m2": "m2"}
_BASIS = {"cm2": "area", "kg": "weight", "m2": "body_surface_area"}

_AMOUNT = re.compile(
    r"(?<![\d.\-–/])(?P<amount>\d+(?:\.\d+)?)(?!\s*(?:-|–|to)\s*\d)\s*"
    r"(?P<unit>µg|μg|ug|mcg|micrograms?|milligrams?|mg|grams?|g|mL|ml)\b",
)
_PER_RE = re.compile(r"\bper\s+(?P<per>cm²|cm2|kg|m²|m2)(?:\s+of\s+(?P<of>[a-z]+))?", re.I)
_SLASH_PER = re.compile(r"\s*/\s*(?P<per>cm²|cm2|kg|m²|m2)\b(?P<of>)")
_VOLUME = re.compile(
    r"\b(?:into|in)\s+(?P<v>\d+(?:\.\d+)?)\s*(?P<u>ml|mL)\s+of\s+(?P<diluent>[a-z][a-z ]*?)"
    r"(?=\s+and\b|\s+over\b|[,.;)]|$)",
)
_COUNT = re.compile(
    r"\b(?P<n>one|a single|single|1)\s+(?:[a-z]+\s+){0,2}?(?P<unit>vial|injection)s?\b", re.I
)
#: A loading dose given as several injections at once (``two subcutaneous injections``).
_LOADING_COUNT = re.compile(
    r"\b(?P<n>two|three|four|[2-4])\s+(?:[a-z]+\s+){0,2}?(?P<unit>injection|tablet|capsule)s\b",
    re.I,
)
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4}
_PARENS = re.compile(r"\([^()]*\)")


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;])\s+", text) if s.strip()]


_MULTIPLIERS = {"thousand": 3, "million": 6, "billion": 9}
_CELLS = re.compile(
    r"(?<![\d.\-–/])(?P<amount>\d+(?:\.\d+)?)\s*"
    r"(?:(?P<word>thousand|million|billion)|[x×\*]\s*10\s*(?:\^|\*\*|e)?\s*\(?(?P<exp>\d{1,2})\)?)?"
    r"\s*(?:(?:viable|living|total)\s+)?(?:mesenchymal\s+)?"
    r"(?:cells?|MSCs?|stem\s+cells|stromal\s+cells)\b",
    re.IGNORECASE,
)


def _cells(plain: str, sentence: str) -> DoseRule | None:
    """``1 million MSC/kg``, ``2 x 10^6 cells per kg`` -> an exact number of cells."""
    m = _CELLS.search(plain)
    if m is None or not (m.group("word") or m.group("exp")):
        return None
    exp = _MULTIPLIERS[m.group("word").lower()] if m.group("word") else int(m.group("exp"))
    amount = Decimal(m.group("amount")).scaleb(exp)
    per_m = _SLASH_PER.match(plain, m.end()) or _PER_RE.match(plain, m.end() + 1)
    per = _PER[per_m.group("per").lower()] if per_m else None
    return DoseRule(
        amount=amount,
        unit="cells",
        per=per,
        basis_item=_BASIS[per] if per else None,
        text=sentence.strip(),
    )


def find_dose(text: str) -> DoseRule | None:
    """The dose one administration gives, as ``text`` states it, or ``None``."""
    for sentence in _sentences(text):
        plain = _PARENS.sub(" ", sentence)
        cells = _cells(plain, sentence)
        if cells is not None:
            return cells
        m = _AMOUNT.search(plain)
        if m:
            unit = _UNIT[m.group("unit")]
            per_m = _SLASH_PER.match(plain, m.end()) or _PER_RE.search(plain, m.end())
            per = _PER[per_m.group("per").lower()] if per_m else None
            basis: str | None = None
            if per_m and per:
                of = (per_m.group("of") or "").lower()
                basis = f"{of}_{_BASIS[per]}" if of and per == "cm2" else _BASIS[per]
            vol = _VOLUME.search(plain, m.end())
            return DoseRule(
                amount=Decimal(m.group("amount")),
                unit=unit,
                per=per,
                basis_item=basis,
                volume=Quantity(amount=Decimal(vol.group("v")), unit="mL") if vol else None,
                diluent=vol.group("diluent").strip() if vol else None,
                text=sentence.strip(),
            )
    for sentence in _sentences(text):
        c = _COUNT.search(_PARENS.sub(" ", sentence))
        if c:
            return DoseRule(amount=Decimal(1), unit=c.group("unit").lower(), text=sentence.strip())
    return None


_LOADING = re.compile(
    r"\b(?:loading|induction|initial|first|conditioning)\s+(?:[a-z]+\s+)?doses?\b", re.I
)
_MAINTENANCE = re.compile(
    r"\bmaintenance\b|\bfollowed\s+by\b|\bthen\b|\bthereafter\b|\bsubsequent(?:ly)?\b", re.I
)
_TOTAL = re.compile(
    r"\(\s*(?:for\s+)?(?:a\s+)?total\s+(?:of\s+)?(?P<amount>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>µg|μg|ug|mcg|micrograms?|milligrams?|mg|grams?|g|mL|ml)\b[^)]*\)"
)


def _loading_dose(clause: str) -> DoseRule | None:
    total = _TOTAL.search(clause)
    if total:
        return DoseRule(
            amount=Decimal(total.group("amount")),
            unit=_UNIT[total.group("unit")],
            text=clause.strip(),
        )
    dose = find_dose(clause)
    if dose is None:
        c = _LOADING_COUNT.search(_PARENS.sub(" ", clause))
        if c:
            word = c.group("n").lower()
            return DoseRule(
                amount=Decimal(_COUNT_WORDS.get(word) or int(word)),
                unit=c.group("unit").lower(),
                text=clause.strip(),
            )
    return dose


def find_doses(text: str) -> list[tuple[str | None, DoseRule]]:
    """The doses ``text`` states: a loading dose and a maintenance dose are two doses
    (``("loading dose", 600 mg)``, ``("maintenance dose", 300 mg)``); otherwise the one dose
    :func:`find_dose` reads, labelled ``None``; empty when none is stated.

    A loading dose's amount is its stated total (``two injections of 300 mg (for a total of
    600 mg)`` -> 600 mg) where one is given."""
    loading = _LOADING.search(text)
    if loading:
        after = _MAINTENANCE.search(text, loading.end())
        if after is None:
            before = [m for m in _MAINTENANCE.finditer(text) if m.end() <= loading.start()]
            after = before[-1] if before else None
        if after is not None and after.start() > loading.start():
            first, second = text[: after.start()], text[after.start() :]
        elif after is not None:
            first, second = text[after.end() :], text[: after.start()]
        else:
            first, second = text, ""
        dose_1 = _loading_dose(first.rstrip(" ,;"))
        dose_2 = find_dose(second) if second else None
        if dose_1 is not None and dose_2 is not None:
            return [("loading dose", dose_1), ("maintenance dose", dose_2)]
    dose = find_dose(text)
    return [(None, dose)] if dose is not None else []


_ROUTES: tuple[tuple[str, Route, str | None], ...] = (
    (r"intra-?dermal", "intradermal", None),
    (r"central vein", "intravenous", "central vein"),
    (r"intra-?venous|\binfusion\b|\bIV\b", "intravenous", None),
    (r"sub-?cutaneous", "subcutaneous", None),
    (r"\borally\b|\boral\b|tablet|capsule", "oral", None),
    (r"topical|ointment|cream", "topical", None),
)


def find_route(text: str) -> tuple[Route, str | None] | None:
    """The route (and site, where stated) of administration, or ``None``."""
    for pattern, route, site in _ROUTES:
        if re.search(pattern, text, re.I):
            if site is None and route == "intradermal" and re.search(r"\bplaque", text, re.I):
                site = "plaque"
            return route, site
    return None


_DURATION = re.compile(
    r"\((?P<lo>\d+)\s*(?:to|-|–)\s*(?P<hi>\d+)\s*(?P<u>minutes|min|hours)\)", re.IGNORECASE
)


def find_infusion_duration(text: str) -> QuantityRange | None:
    """An administration's duration stated as a range, e.g. ``slowly (5 to 10 minutes)``."""
    m = _DURATION.search(text)
    if not m:
        return None
    unit = "h" if m.group("u").lower() == "hours" else "min"
    lo, hi = Decimal(m.group("lo")), Decimal(m.group("hi"))
    return QuantityRange(low=lo, high=hi, unit=unit) if lo <= hi else None


_SOURCES = (
    ("adipose", "adipose tissue"),
    ("placenta", "placental"),
    ("umbilical cord", "umbilical cord"),
    ("wharton", "umbilical cord (Wharton's jelly)"),
    ("bone marrow", "bone marrow"),
)


#: Words that name a biological product when the registry gives no intervention type.
_BIOLOGICAL = re.compile(
    r"\b(?:monoclonal|antibod(?:y|ies)|MAbs?|vaccines?|[a-z]+(?:xi|zu|u|o|ci)mab|biologic(?:al)?s?)\b",
    re.IGNORECASE,
)


def find_product(name: str, text: str, registry_type: str | None = None) -> Product:
    """The product an intervention gives: kind and source read from its words."""
    low = text.lower()
    kind: ProductKind
    if "exosome" in low or "extracellular vesicle" in low:
        kind = "exosomes"
    elif re.search(r"stem cells?|stromal cells?|\bmscs?\b", low):
        kind = "cells"
    elif registry_type in ("BIOLOGICAL", "BIOLOGIC") or (
        registry_type is None and _BIOLOGICAL.search(f"{name} {text}")
    ):
        kind = "biological"
    elif registry_type in ("DRUG", "COMBINATION_PRODUCT"):
        kind = "drug"
    elif registry_type == "DEVICE":
        kind = "device"
    else:
        kind = "other"
    source = next((label for key, label in _SOURCES if key in low), None)
    return Product(name=name, kind=kind, source=source, description=text)
