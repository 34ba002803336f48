"""The report's figures, drawn with matplotlib as inline SVG.

Each function takes the numbers the report already holds (the analysis tables, the endpoint
results) and returns an ``<svg>`` string, or None when there is nothing to draw. Axis labels
are visit ids, item names and arm ids (the same in every language); the translated caption is
the report's. Text stays text in the SVG (``svg.fonttype: none``) and ids are fixed
(``svg.hashsalt``), so the same data draws the same figure.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from scipy.stats import beta

from trialkit.analysis import EndpointResult, TidyData

__all__ = [
    "dose_selection_svg",
    "first_event_svg",
    "lesion_svg",
    "recruitment_svg",
    "trajectory_svg",
]

_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "trialkit-report",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _colour(arms: Sequence[str], arm: str) -> str:
    return _COLOURS[list(arms).index(arm) % len(_COLOURS)] if arm in arms else "#555555"


def _number(text: str) -> float | None:
    try:
        return float(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def _float(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float | str) else default


def recruitment_svg(events: Sequence[tuple[date, str]]) -> str | None:
    """Cumulative candidates screened (consented) and participants enrolled over time."""
    if not events:
        return None
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 2.6))
        for kind, colour in (("screened", "#7f8c8d"), ("enrolled", "#1f77b4")):
            days = sorted(d for d, k in events if k == kind)
            if days:
                xs: Any = days
                ax.step(xs, range(1, len(days) + 1), where="post", label=kind, color=colour)
        ax.set_ylabel("participants")
        ax.legend(frameon=False)
        fig.autofmt_xdate()
        return _svg(fig)


def trajectory_svg(
    tidy: TidyData, item: str, visits: Sequence[str], arms: Sequence[str]
) -> str | None:
    """``item`` (PASI, CDAI ...) of each participant over the visits, coloured by arm."""
    series: dict[str, dict[str, float]] = defaultdict(dict)
    arm_of: dict[str, str] = {}
    for o in tidy.observations:
        if o.item == item and o.visit in visits and not o.instance:
            value = _number(o.value)
            if value is not None:
                series[o.participant][o.visit] = value
                arm_of[o.participant] = o.arm
    if not series:
        return None
    order = {v: i for i, v in enumerate(visits)}
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.0))
        seen: set[str] = set()
        for participant in sorted(series):
            points = sorted(series[participant].items(), key=lambda kv: order[kv[0]])
            arm = arm_of[participant]
            ax.plot(
                [order[v] for v, _ in points],
                [y for _, y in points],
                marker="o",
                markersize=3,
                linewidth=1,
                alpha=0.8,
                color=_colour(arms, arm),
                label=arm if arm not in seen else None,
            )
            seen.add(arm)
        ax.set_xticks(range(len(visits)), list(visits))
        ax.set_ylabel(item)
        ax.legend(frameon=False, fontsize=8)
        return _svg(fig)


def lesion_svg(
    tidy: TidyData, item: str, visits: Sequence[str], arms: Sequence[str], roles: tuple[str, str]
) -> str | None:
    """The mean of ``item`` per visit, the treated lesion (solid) against the untreated
    control (dashed), one colour per arm."""
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for o in tidy.observations:
        if o.item == item and o.visit in visits and o.role in roles:
            value = _number(o.value)
            if value is not None:
                sums[(o.arm, o.role or "", o.visit)].append(value)
    if not sums:
        return None
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.0))
        for arm in arms:
            for role, style in zip(roles, ("-", "--"), strict=True):
                xs, ys = [], []
                for i, v in enumerate(visits):
                    got = sums.get((arm, role, v))
                    if got:
                        xs.append(i)
                        ys.append(sum(got) / len(got))
                if xs:
                    ax.plot(
                        xs,
                        ys,
                        style,
                        marker="o",
                        markersize=3,
                        color=_colour(arms, arm),
                        label=f"{arm} {role}",
                    )
        ax.set_xticks(range(len(visits)), list(visits))
        ax.set_ylabel(f"mean {item}")
        ax.legend(frameon=False, fontsize=7, ncol=2)
        return _svg(fig)


def first_event_svg(result: EndpointResult, arms: Sequence[str]) -> str | None:
    """The Kaplan–Meier curves of the analysis's time-to-first-event table (with its
    pointwise interval as a band)."""
    if result.status != "computed" or not result.rows:
        return None
    col = {c: i for i, c in enumerate(result.columns)}
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.0))
        by_arm: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
        for row in result.rows:
            arm = str(row[col["arm"]])
            by_arm[arm].append(
                (
                    _float(row[col["days"]], 0.0),
                    _float(row[col["survival"]], 0.0),
                    _float(row[col["lower"]], 0.0),
                    _float(row[col["upper"]], 1.0),
                )
            )
        for arm, rows in by_arm.items():
            xs = [0.0] + [r[0] for r in rows]
            ys = [1.0] + [r[1] for r in rows]
            colour = _colour(arms, arm)
            ax.step(xs, ys, where="post", color=colour, label=arm)
            ax.fill_between(
                xs,
                [1.0] + [r[2] for r in rows],
                [1.0] + [r[3] for r in rows],
                step="post",
                alpha=0.12,
                color=colour,
            )
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("days since the first dose")
        ax.set_ylabel("free of adverse events")
        ax.legend(frameon=False, fontsize=8)
        return _svg(fig)


def dose_selection_svg(result: EndpointResult) -> str | None:
    """Per dose, the posterior densities of the efficacy and toxicity probabilities (the
    marginal Beta of the analysis's Dirichlet(1/2, 1/2, 1/2, 1/2) over the four outcome
    categories), and Pr(best) as the analysis computed it."""
    if result.status != "computed" or not result.rows:
        return None
    col = {c: i for i, c in enumerate(result.columns)}
    doses = [r for r in result.rows if r[col["n"]] is not None]
    if not doses:
        return None
    grid = [i / 200 for i in range(1, 200)]
    with plt.rc_context(_RC):
        fig, (eff, tox, best) = plt.subplots(1, 3, figsize=(7.6, 2.6))
        names = [str(r[col["dose"]]) for r in doses]
        for r in doses:
            dose = str(r[col["dose"]])
            et, net, etx, netx = (int(_float(r[col[c]], 0.0)) for c in ("E¬T", "¬E¬T", "ET", "¬ET"))
            colour = _colour(names, dose)
            # Dirichlet(1/2 x 4) + counts, marginal of (E¬T + ET) and of (ET + ¬ET)
            eff.plot(grid, beta.pdf(grid, 1 + et + etx, 1 + net + netx), color=colour, label=dose)
            tox.plot(grid, beta.pdf(grid, 1 + etx + netx, 1 + et + net), color=colour, label=dose)
        eff.set_xlabel("Pr(efficacy)")
        tox.set_xlabel("Pr(toxicity)")
        eff.set_yticks([])
        tox.set_yticks([])
        eff.legend(frameon=False, fontsize=7)
        prs = [_float(r[col["Pr(best)"]], 0.0) for r in result.rows]
        labels = [str(r[col["dose"]]) for r in result.rows]
        best.bar(labels, prs, color=[_colour(names, n) for n in labels])
        best.set_ylim(0, 1)
        best.set_ylabel("Pr(best)")
        fig.tight_layout()
        return _svg(fig)
