"""The CONSORT 2025 flow diagram, drawn by the project (no drawing library): the boxes and
arrows as SVG, each box's text as HTML laid over it (so Persian is shaped and right to left in
a browser and in the PDF alike; weasyprint does not shape Arabic-script text inside SVG).

Boxes top to bottom: assessed for eligibility; excluded, with the reasons; then one column per
arm: allocated (received the allocated intervention, did not receive it), lost to follow-up and
discontinued (withdrew), still in follow-up, analysed. The counts come from
:class:`trialkit.report.data.Flow`; the labels are the report's translated messages.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import escape

from trialkit.report.data import ArmFlow, Flow

__all__ = ["consort_diagram"]

_W = 270  # arm column width
_LEFT = 80  # the stage labels' column
_GAP = 20
_LINE = 15


def _box(
    x: int, y: int, w: int, lines: list[str], labels: list[str], *, bold_first: bool = True
) -> tuple[str, int]:
    """The box's rectangle (SVG); its lines go to ``labels`` (HTML, placed over it)."""
    h = 12 + _LINE * len(lines)
    rows = "".join(
        f'<div class="{"head" if bold_first and i == 0 else "line"}">{escape(line)}</div>'
        for i, line in enumerate(lines)
    )
    labels.append(
        f'<div class="label" style="left:{x + 6}px;top:{y + 6}px;width:{w - 12}px">{rows}</div>'
    )
    return f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4" class="box"/>', h


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="flow" marker-end="url(#arrow)"/>'


def consort_diagram(flow: Flow, t: Callable[..., str]) -> str:
    """The diagram as one HTML block (an ``<svg>`` of boxes and arrows, the labels over it);
    ``t(msgid, **values)`` translates the labels."""
    labels: list[str] = []
    columns = max(1, len(flow.arms))
    width = _LEFT + max(columns * (_W + _GAP) + _GAP, 2 * (_W + _GAP) + 260)
    parts: list[str] = []
    top_w = 300
    top_x = _LEFT + _GAP
    box, h = _box(
        top_x, 10, top_w, [t("Assessed for eligibility (n = {n})", n=flow.assessed)], labels
    )
    parts.append(box)
    y = 10 + h
    reasons = [
        f"• {reason} (n = {n})"
        for reason, n in sorted(flow.excluded.items(), key=lambda kv: -kv[1])
    ]
    if flow.in_screening:
        reasons.append("• " + t("still in screening (n = {n})", n=flow.in_screening))
    ex_lines = [t("Excluded (n = {n})", n=flow.excluded_total + flow.in_screening), *reasons]
    ex_x = top_x + top_w + 30
    ex_w = width - ex_x - 10
    mid_x = top_x + top_w // 2
    ex_box, ex_h = _box(ex_x, y + 14, ex_w, ex_lines, labels)
    parts.append(ex_box)
    parts.append(f'<line x1="{mid_x}" y1="{y}" x2="{mid_x}" y2="{y + 30 + ex_h}" class="flow"/>')
    parts.append(_arrow(mid_x, y + 14 + ex_h // 2, ex_x, y + 14 + ex_h // 2))
    y = y + 30 + ex_h
    stages: tuple[tuple[str, Callable[[ArmFlow], list[str]]], ...] = (
        (
            "Allocation",
            lambda a: [
                t("Allocated to {arm} (n = {n})", arm=a.arm, n=a.allocated),
                t("received the allocated intervention (n = {n})", n=a.received),
                t("did not receive it (n = {n})", n=a.not_received),
            ],
        ),
        (
            "Follow-up",
            lambda a: [
                t("Follow-up of {arm}", arm=a.arm),
                t("lost to follow-up (n = {n})", n=a.lost),
                t("discontinued, withdrew (n = {n})", n=a.withdrawn),
                t("completed (n = {n})", n=a.completed),
                t("still in follow-up (n = {n})", n=a.ongoing),
            ],
        ),
        (
            "Analysis",
            lambda a: [
                t("Analysed in {arm} (n = {n})", arm=a.arm, n=a.analysed),
                t("excluded from analysis (n = {n})", n=a.allocated - a.analysed),
            ],
        ),
    )
    xs = [_LEFT + _GAP + i * (_W + _GAP) for i in range(columns)]
    centres = [x + _W // 2 for x in xs]
    if flow.arms:
        parts.append(
            f'<line x1="{min(centres)}" y1="{y}" x2="{max(centres)}" y2="{y}" class="flow"/>'
        )
        if not min(centres) <= mid_x <= max(centres):
            parts.append(f'<line x1="{mid_x}" y1="{y}" x2="{centres[0]}" y2="{y}" class="flow"/>')
    for stage, lines in stages:
        heights = []
        for x, c, arm in zip(xs, centres, flow.arms, strict=False):
            parts.append(_arrow(c, y, c, y + 14))
            box, h = _box(x, y + 14, _W, lines(arm), labels)
            parts.append(box)
            heights.append(h)
        label = t(stage)
        labels.append(
            f'<div class="label stage" style="left:2px;top:{y + 20}px;width:{_LEFT - 4}px">'
            f"{escape(label)}</div>"
        )
        y = y + 14 + (max(heights) if heights else 0)
        for c in centres:
            parts.append(f'<line x1="{c}" y1="{y}" x2="{c}" y2="{y + 6}" class="flow"/>')
        y += 6
    height = y + 10
    marker = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#34495e"/></marker>'
        "</defs>"
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-hidden="true">'
        "<style>.box{fill:#f7f9fc;stroke:#34495e;stroke-width:1}"
        ".flow{stroke:#34495e;stroke-width:1.2;fill:none}</style>"
        f"{marker}" + "\n".join(parts) + "</svg>"
    )
    return (
        f'<div class="consort" role="img" aria-label="{escape(t("CONSORT flow diagram"))}" '
        f'style="width:{width}px;height:{height}px">{svg}{"".join(labels)}</div>'
    )
