"""The study report (an edge): protocol, CONSORT flow, recruitment, baseline, exposure, every
endpoint as the analysis computes it, adverse events, completeness, queries and the audit
verification, as HTML with inline SVG figures or PDF, in English or Persian. See
docs/report.md."""

from trialkit.report.consort import consort_diagram
from trialkit.report.data import AdverseEventRow, ArmFlow, BaselineRow, Flow, ReportData, collect
from trialkit.report.i18n import LANGUAGES, Text
from trialkit.report.render import render_html, write_report

__all__ = [
    "LANGUAGES",
    "AdverseEventRow",
    "ArmFlow",
    "BaselineRow",
    "Flow",
    "ReportData",
    "Text",
    "collect",
    "consort_diagram",
    "render_html",
    "write_report",
]
