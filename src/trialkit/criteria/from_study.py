"""The criteria inputs of a study definition, and the study checks this layer adds.

:func:`study_criteria` adapts a :class:`~trialkit.protocol.Study` onto the plain inputs of the
language (items, criteria, reference ranges). :func:`check_study_expressions` is a
:data:`~trialkit.protocol.Checker`: it type-checks every eligibility criterion and every form
edit check against the study's items, reporting the language's ``EXPR`` codes.
"""

from __future__ import annotations

import re

from trialkit.criteria.checker import check
from trialkit.criteria.diagnostics import Diagnostic as ExprDiagnostic
from trialkit.criteria.screening import check_criteria
from trialkit.criteria.spec import ItemSpec, ReferenceRanges
from trialkit.criteria.studyfile import StudyCriteria
from trialkit.protocol import Diagnostic, Severity, Study

__all__ = ["check_study_expressions", "study_criteria", "study_items", "study_ranges"]

_WORD = re.compile(r"[a-z][a-z0-9_]*")


def study_items(study: Study) -> dict[str, ItemSpec]:
    """Every item of the study as the language sees it (code lists resolved)."""
    out: dict[str, ItemSpec] = {}
    for name, item in study.items().items():
        codes = None
        if item.codelist is not None:
            codelist = study.codelist(item.codelist)
            codes = tuple(codelist.codes()) if codelist else ()
        out[name] = ItemSpec(
            name,
            item.data_type.value,
            item.unit,
            codes,
            minimum=item.min,
            maximum=item.max,
            label=item.label,
        )
    return out


def study_ranges(study: Study) -> ReferenceRanges:
    """The study's default reference ranges (sex-specific ranges are not used by ``uln()``)."""
    return ReferenceRanges.of(
        {r.item: (r.lower, r.upper) for r in study.reference_ranges if r.sex is None}
    )


def _read_by_criteria(study: Study) -> set[str]:
    names: set[str] = set()
    for crit in study.eligibility:
        if crit.judgement_item:
            names.add(crit.judgement_item)
        if crit.expression:
            names |= set(_WORD.findall(crit.expression))
    return names


def study_criteria(study: Study) -> StudyCriteria:
    """The criteria of ``study`` with just the items they read (what a candidate file needs)."""
    read = _read_by_criteria(study)
    items = {name: spec for name, spec in study_items(study).items() if name in read}
    return StudyCriteria(items, tuple(study.eligibility), study_ranges(study))


def _convert(d: ExprDiagnostic, path: str) -> Diagnostic:
    severity = Severity.ERROR if d.severity == "error" else Severity.WARNING
    message = d.message
    if d.source is not None and d.column > 0:
        message += f" (column {d.column} of `{d.source}`)"
    return Diagnostic(d.code, severity, path, message)


def check_study_expressions(study: Study) -> list[Diagnostic]:
    """Type-check the eligibility criteria and the forms' edit checks."""
    items = study_items(study)
    ranges = study_ranges(study)
    found = [
        _convert(d, f"eligibility.{d.criterion}")
        for d in check_criteria(study.eligibility, items, ranges)
    ]
    for form in study.forms:
        for edit in form.checks:
            path = f"forms.{form.id}.checks.{edit.id}"
            found += [_convert(d, path) for d in check(edit.expression, items, ranges)]
    return found
