"""The report's charts, drawn with matplotlib: the same figures serve the HTML page (inline SVG) and the PDF.

Three charts a council member reads at a glance: cost by ground, persons reached by age band and by household
type, and the variants' cost and reach next to the baseline.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.figure import Figure

BLUE, ORANGE, GREY = "#1f5f8b", "#d9822b", "#8a8a8a"


def _bars(ax: Any, labels: list[str], values: list[float], color: str, money: bool) -> None:
    ax.barh(labels[::-1], values[::-1], color=color)
    ax.spines[["top", "right"]].set_visible(False)
    top = max(values, default=0) or 1
    for index, value in enumerate(values[::-1]):
        text = f"€ {value:,.0f}" if money else f"{value:,.0f}"
        ax.text(value + top * 0.01, index, text, va="center", fontsize=8)
    ax.set_xlim(0, top * 1.25)
    ax.tick_params(labelsize=8)


def cost_by_ground(figures: dict[str, Any]) -> Figure:
    rows = figures["baseline"]["by_ground"]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * max(len(rows), 2) + 0.9))
    _bars(ax, [r["ground"] for r in rows], [float(Decimal(r["cost"])) for r in rows], BLUE, money=True)
    ax.set_title("Cost by ground (€)", fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def reach(figures: dict[str, Any]) -> Figure:
    ages = figures["baseline"]["by_age_band"]
    kinds = figures["baseline"]["by_household_type"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 0.4 * max(len(ages), len(kinds), 2) + 1.1))
    _bars(left, [r["age_band"] for r in ages], [r["persons"] for r in ages], BLUE, money=False)
    left.set_title("Persons reached by age band", fontsize=10, loc="left")
    _bars(
        right, [r["household_type"] for r in kinds], [r["beneficiaries"] for r in kinds], ORANGE, money=False
    )
    right.set_title("Beneficiaries by household type", fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def variants(figures: dict[str, Any]) -> Figure | None:
    """Cost and beneficiaries of each variant beside the baseline; None when there is no variant."""
    if not figures["variants"]:
        return None
    runs = [figures["baseline"], *figures["variants"]]
    labels = [r["name"] for r in runs]
    colors = [GREY] + [BLUE] * (len(runs) - 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 0.45 * len(runs) + 1.1))
    left.barh(labels[::-1], [float(Decimal(r["cost"])) for r in runs][::-1], color=colors[::-1])
    left.set_title("Cost (€)", fontsize=10, loc="left")
    right.barh(labels[::-1], [r["beneficiaries"] for r in runs][::-1], color=colors[::-1])
    right.set_title("Beneficiaries", fontsize=10, loc="left")
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def all_charts(figures: dict[str, Any]) -> list[tuple[str, Figure]]:
    """The charts in report order, with their titles."""
    charts = [("Cost by ground", cost_by_ground(figures)), ("Reach", reach(figures))]
    compared = variants(figures)
    if compared is not None:
        charts.append(("Variants compared", compared))
    return charts


def svg(fig: Figure, salt: str) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no external reference), then closed.

    Text stays text (readable, searchable, small) and ``salt`` keeps element ids unique on a page with
    several charts.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return re.sub(r"^.*?(<svg)", r"\1", text, count=1, flags=re.DOTALL)
