"""Checks of what a draft imported from a registry record may lack, each with a stable code.

A draft (``trialkit study import``) is a valid study that may miss what its record did not state.
These checks name the gaps a person must fill before the study can run, and the one place where
the record contradicts itself about its size. They apply to every study (a runnable study has
inclusion criteria and outcomes too); ``trialkit.checks.check_full`` composes them with the
other checks. Every code is documented in docs/checks.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from trialkit.protocol.check import Diagnostic, Severity
from trialkit.protocol.study import Study

__all__ = ["DRAFT_CODES", "check_draft", "stated_sample_sizes"]

#: Every code this module emits, with a one-line meaning (documented in docs/checks.md).
DRAFT_CODES: dict[str, str] = {
    "DRAFT.W001": "the study has no inclusion criterion",
    "DRAFT.W002": "the study has no outcome",
    "DRAFT.W003": "the target sample size differs from the size the record's own text states",
}

_PEOPLE = (
    r"(?:patients|participants|subjects|volunteers|individuals|people|persons|women|men|"
    r"children|adults|cases|infants|neonates|pregnant\s+women)"
)
_QUALIFIER = r"(?:(?:adult|eligible|evaluable|healthy|consecutive|male|female|new)\s+)*"
_VERB = (
    r"(?:will\s+be|are\s+to\s+be|shall\s+be|were|are|have\s+been|was|is)\s+(?:\w+\s+)?"
    r"(?:enrol+ed|recruited|included|randomi[sz]ed|treated|studied|allocated|entered|"
    r"assigned|selected|required|needed|planned)"
)
#: Phrases that state the whole study's size: "a total of 30 patients", "sample size of 30",
#: "30 patients will be enrolled", "we will recruit 30 participants".
_TOTAL = re.compile(
    rf"\b(?:a\s+)?total\s+(?:of\s+)?(?P<a>\d{{1,6}})\s+{_QUALIFIER}{_PEOPLE}\b"
    rf"|\bsample\s+size\s+(?:of|is|was|will\s+be|=|:)\s*(?:n\s*=\s*)?(?P<b>\d{{1,6}})\b"
    rf"|\b(?P<c>\d{{1,6}})\s+{_QUALIFIER}{_PEOPLE}\s+{_VERB}\b(?!\s+(?:in|to|per)\s+(?:each|every))"
    rf"|\b(?:enrol+|recruit|include|randomi[sz]e)(?:s|d|ing)?\s+(?:a\s+total\s+of\s+)?"
    rf"(?P<d>\d{{1,6}})\s+{_QUALIFIER}{_PEOPLE}\b(?!\s+(?:in|to|per)\s+(?:each|every))",
    re.IGNORECASE,
)
#: "10 patients in each group", "15 participants per arm".
_PER_GROUP = re.compile(
    rf"\b(?P<n>\d{{1,5}})\s+{_QUALIFIER}{_PEOPLE}\s+(?:\w+\s+){{0,3}}?(?:in|to|per)\s+"
    r"(?:each|every|per)?\s*(?:group|arm|cohort)s?\b",
    re.IGNORECASE,
)


#: "3 groups of 4 patients": the study size is their product.
_GROUPS_OF = re.compile(
    rf"\b(?P<g>\d{{1,3}})\s+(?:\w+\s+)?(?:groups|arms|cohorts)\s+of\s+(?P<n>\d{{1,5}})\s+"
    rf"{_QUALIFIER}{_PEOPLE}\b",
    re.IGNORECASE,
)


def _texts(study: Study) -> Iterator[tuple[str, str]]:
    """The record's own prose a draft keeps, with its path."""
    for path, text in (
        ("identity.brief_summary", study.identity.brief_summary),
        ("identity.aim", study.identity.aim),
        ("design.description", study.design.description),
        ("design.masking.description", study.design.masking.description),
    ):
        if text:
            yield path, text
    for arm in study.arms:
        if arm.description:
            yield f"arms.{arm.id}.description", arm.description


def stated_sample_sizes(text: str, arms: int) -> list[tuple[int, str]]:
    """The study sizes ``text`` states, each with the words that state it (a size per group is
    multiplied by ``arms``)."""
    out: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for m in _GROUPS_OF.finditer(text):
        out.append((int(m.group("g")) * int(m.group("n")), m.group(0)))
        spans.append(m.span())
    for m in _TOTAL.finditer(text):
        if any(a < m.end() and m.start() < b for a, b in spans):
            continue
        n = next(g for g in m.groups() if g is not None)
        out.append((int(n), m.group(0)))
    if arms > 1:
        for m in _PER_GROUP.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in spans):
                continue
            out.append((int(m.group("n")) * arms, m.group(0)))
    return out


def _d(code: str, path: str, message: str, hint: str, cites: tuple[str, ...] = ()) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, path, message, hint, cites)


def check_draft(study: Study) -> Iterable[Diagnostic]:
    """The gaps of a draft study (``DRAFT.*``)."""
    if not any(c.kind == "inclusion" for c in study.eligibility):
        yield _d(
            "DRAFT.W001",
            "eligibility",
            "the study has no inclusion criterion"
            + (
                f" (it has {len(study.eligibility)} exclusion criteria)"
                if study.eligibility
                else " (it has no criteria at all)"
            ),
            "add the inclusion criteria from the protocol (the registry record stated none "
            "the importer could read)",
        )
    if not study.outcomes:
        yield _d(
            "DRAFT.W002",
            "outcomes",
            "the study has no outcome",
            "add the primary and secondary outcomes from the protocol, each with its endpoint",
        )
    size = study.design.sample_size
    allowed = {size.target} | ({size.with_attrition} if size.with_attrition else set())
    arms = len(study.arms)
    for path, text in _texts(study):
        for n, words in stated_sample_sizes(text, arms):
            if n in allowed:
                continue
            yield _d(
                "DRAFT.W003",
                "design.sample_size.target",
                f"the target sample size is {size.target}"
                + (f" ({size.with_attrition} with attrition)" if size.with_attrition else "")
                + f", but {path} states {n} ({words.strip()!r})",
                "decide which the study follows, set design.sample_size and record the "
                "decision in assumptions",
                cites=(f"{path}: {text}",),
            )
            allowed.add(n)  # one warning per stated size
