"""Bar charts drawn on the server as SVG (matplotlib, no pyplot state), embedded as data URIs.

The chart repeats a table printed next to it, so screen-reader users lose nothing; the image's alt text
names what it shows.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from io import StringIO

from matplotlib.figure import Figure

_COLOUR = "#0b4f8a"


def bar_chart(labels: Sequence[str], values: Sequence[float]) -> str:
    """A horizontal bar chart as a ``data:image/svg+xml`` URI."""
    height = 0.8 + 0.45 * max(len(labels), 1)
    figure = Figure(figsize=(7.0, height), layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    axes.barh(positions, list(values), color=_COLOUR)
    axes.set_yticks(positions, labels=list(labels))
    axes.invert_yaxis()
    axes.spines[["top", "right"]].set_visible(False)
    for position, value in zip(positions, values, strict=True):
        axes.annotate(
            f"{value:,.0f}", (value, position), xytext=(4, 0), textcoords="offset points", va="center"
        )
    buffer = StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
