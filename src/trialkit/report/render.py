"""The study report as one HTML document (inline SVG figures), and as PDF from the same HTML.

``render_html`` fills ``templates/report.html.j2`` (Jinja2, autoescaped) with
:class:`~trialkit.report.data.ReportData`; ``write_report`` writes ``.html`` or, through
weasyprint, ``.pdf``. Persian is right to left; the figures stay left to right.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from trialkit.errors import ValidationFailed
from trialkit.protocol.endpoints import (
    ChangeFromBaseline,
    DoseSelection,
    PercentImprovement,
    TimeToFirstEvent,
    WithinPatientDifference,
)
from trialkit.report import figures
from trialkit.report.consort import consort_diagram
from trialkit.report.data import ReportData
from trialkit.report.i18n import Text

__all__ = ["render_html", "write_report"]

_ENV = Environment(
    loader=PackageLoader("trialkit.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _endpoint_figures(data: ReportData, t: Text) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    study = data.study
    visits = [v.id for v in study.timeline.visits]
    specs = [ep for o in study.outcomes for ep in o.endpoints]
    drawn: set[str] = set()
    for spec, result in zip(specs, data.endpoints, strict=True):
        svg: str | None = None
        caption = ""
        if isinstance(spec, ChangeFromBaseline | PercentImprovement) and spec.item in (
            "pasi",
            "cdai",
        ):
            if spec.item in drawn:
                continue
            drawn.add(spec.item)
            svg = figures.trajectory_svg(data.tidy, spec.item, visits, data.arms)
            caption = t("{item} of each participant over the visits", item=spec.item.upper())
        elif isinstance(spec, WithinPatientDifference) and "lesion" not in drawn:
            drawn.add("lesion")
            svg = figures.lesion_svg(
                data.tidy, spec.item, visits, data.arms, ("treated", "control")
            )
            caption = t(
                "{item}: treated lesion (solid) against the untreated control (dashed), mean "
                "per visit",
                item=spec.item,
            )
        elif isinstance(spec, TimeToFirstEvent):
            svg = figures.first_event_svg(result, data.arms)
            caption = t("Kaplan–Meier estimate of the time to the first adverse event")
        elif isinstance(spec, DoseSelection):
            svg = figures.dose_selection_svg(result)
            caption = t(
                "Dose selection: posterior densities of the efficacy and toxicity "
                "probabilities, and the probability each dose is best"
            )
        if svg is not None:
            out.append((caption, svg))
    return out


def render_html(data: ReportData, language: str = "en") -> str:
    """The report as an HTML document."""
    t = Text(language)
    allocated = sum(a.allocated for a in data.flow.arms)
    completeness = sorted(data.completeness.items())
    return _ENV.get_template("report.html.j2").render(
        t=t,
        lang=language,
        study=data.study,
        data=data,
        allocated=allocated,
        consort=consort_diagram(data.flow, t),
        completeness=completeness,
        figures={
            "recruitment": figures.recruitment_svg(data.recruitment),
            "endpoints": _endpoint_figures(data, t),
        },
    )


def write_report(data: ReportData, out: Path, language: str = "en") -> Path:
    """Write the report to ``out`` (``.html`` or ``.pdf``); returns the path."""
    suffix = out.suffix.lower()
    if suffix not in (".html", ".pdf"):
        raise ValidationFailed(
            f"--out {out}: the report is written as .html or .pdf, not {suffix or 'no suffix'}",
            code="REPORT.E001",
            hint="name the file report.html or report.pdf",
        )
    html = render_html(data, language)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        out.write_text(html, encoding="utf-8")
        return out
    from weasyprint import HTML

    HTML(string=html, base_url=str(out.parent)).write_pdf(out)
    return out
