"""Disclosure control for a two-way frequency table with its margins.

The table is handled with its margins as one (R+1) x (C+1) array: the last row holds the column totals,
the last column the row totals, the corner the grand total. Each row and each column of that array is a
linear equation (the cells add up to the total), and every entry sits in exactly one row equation and one
column equation.

1. Primary suppression: every entry (cell or total) with 0 < value < threshold.
2. Secondary suppression, repeated until nothing changes:
   a. every line (row or column, totals included) with exactly one suppressed entry gets a complement:
      the entry of that line that costs least (non-zero before zero, inner cell before total, smaller
      value before larger, then first in reading order);
   b. exact audit: seen as a graph whose nodes are the lines and whose edges are the suppressed entries,
      a suppressed entry can be recomputed from the published figures exactly when its edge is a bridge
      (it lies on no cycle; the cycles span the null space of the equations). For the first bridge, the
      cheapest entry joining the two sides that removing the bridge would separate is suppressed too.
   At the end no line has exactly one suppressed entry, and no suppressed entry is determined by the
   published figures through the row and column equations.
3. Optional rounding of the published entries to a base (default 5), half up; totals are rounded
   independently, so rounded tables need not add up.

Zeros are published and never primarily suppressed: the figures cover the whole register, so a zero
describes an empty category, not a person. The rule is deterministic: the same table always gives the
same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import networkx as nx

Matrix = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Protection:
    """``values`` as published (rounded when asked); meaningless where ``suppressed``."""

    values: Matrix
    suppressed: Mask
    primary: Mask


def with_margins(cells: Matrix) -> Matrix:
    """The cells with a column of row totals, a row of column totals and the grand total."""
    full = np.zeros((cells.shape[0] + 1, cells.shape[1] + 1), dtype=np.int64)
    full[:-1, :-1] = cells
    full[:-1, -1] = cells.sum(axis=1)
    full[-1, :-1] = cells.sum(axis=0)
    full[-1, -1] = cells.sum()
    return full


def protect(cells: Matrix, *, threshold: int = 10, rounding_base: int | None = None) -> Protection:
    """Suppress and (optionally) round ``cells`` (R x C counts) with their margins; see the module doc."""
    if threshold < 1:
        raise ValueError("the threshold must be at least 1")
    full = with_margins(np.asarray(cells, dtype=np.int64))
    primary = (full > 0) & (full < threshold)
    suppressed = primary.copy()
    cost = _cost(full)
    while True:
        _complete_lines(suppressed, cost)
        if not _close_first_bridge(suppressed, cost):
            break
    published = full if rounding_base is None else round_to_base(full, rounding_base)
    return Protection(values=published, suppressed=suppressed, primary=primary)


def round_to_base(values: Matrix, base: int) -> Matrix:
    """Each value to the nearest multiple of ``base``, halves up (deterministic)."""
    if base < 2:
        raise ValueError("the rounding base must be at least 2")
    return ((values + base // 2) // base) * base


def _cost(full: Matrix) -> npt.NDArray[np.float64]:
    """Order of preference for complements; a strict total order (ties broken by position)."""
    rows, cols = full.shape
    margin = np.zeros(full.shape, dtype=bool)
    margin[-1, :] = True
    margin[:, -1] = True
    position = np.arange(rows * cols, dtype=np.float64).reshape(full.shape) / (rows * cols)
    largest = float(full.max()) + 1.0
    cost: npt.NDArray[np.float64] = (
        (full == 0) * 4.0 * largest + margin * 2.0 * largest + full.astype(np.float64) + position
    )
    return cost


def _complete_lines(suppressed: Mask, cost: npt.NDArray[np.float64]) -> None:
    """Give every line with exactly one suppressed entry a second one, until none is left."""
    while True:
        rows = np.flatnonzero(suppressed.sum(axis=1) == 1)
        if rows.size:
            row = int(rows[0])
            candidates = np.where(suppressed[row], np.inf, cost[row])
            suppressed[row, int(np.argmin(candidates))] = True
            continue
        cols = np.flatnonzero(suppressed.sum(axis=0) == 1)
        if cols.size:
            col = int(cols[0])
            candidates = np.where(suppressed[:, col], np.inf, cost[:, col])
            suppressed[int(np.argmin(candidates)), col] = True
            continue
        return


def _graph(suppressed: Mask) -> nx.Graph:
    """Lines as nodes, suppressed entries as edges (networkx is imported here: it is slow to import)."""
    import networkx as nx

    graph = nx.Graph()
    for row, col in zip(*np.nonzero(suppressed), strict=True):
        graph.add_edge(("r", int(row)), ("c", int(col)))
    return graph


def recomputable(suppressed: Mask) -> list[tuple[int, int]]:
    """Suppressed entries that the row and column equations determine exactly (bridges), sorted."""
    import networkx as nx

    found = []
    for u, v in nx.bridges(_graph(suppressed)):
        row, col = (u, v) if u[0] == "r" else (v, u)
        found.append((int(row[1]), int(col[1])))
    return sorted(found)


def _close_first_bridge(suppressed: Mask, cost: npt.NDArray[np.float64]) -> bool:
    """Suppress the cheapest entry that puts the first bridge on a cycle; False when there is none."""
    import networkx as nx

    bridges = recomputable(suppressed)
    if not bridges:
        return False
    row, col = bridges[0]
    graph = _graph(suppressed)
    graph.remove_edge(("r", row), ("c", col))
    side_a = nx.node_connected_component(graph, ("r", row))
    side_b = nx.node_connected_component(graph, ("c", col))
    in_a = _line_masks(side_a, suppressed.shape)
    in_b = _line_masks(side_b, suppressed.shape)
    joins = (np.outer(in_a[0], in_b[1]) | np.outer(in_b[0], in_a[1])) & ~suppressed
    if not joins.any():
        raise RuntimeError("secondary suppression found no complement; the table is inconsistent")
    choice = np.unravel_index(int(np.argmin(np.where(joins, cost, np.inf))), suppressed.shape)
    suppressed[choice] = True
    return True


def _line_masks(nodes: set[tuple[str, int]], shape: tuple[int, ...]) -> tuple[Mask, Mask]:
    rows = np.zeros(shape[0], dtype=bool)
    cols = np.zeros(shape[1], dtype=bool)
    for kind, index in nodes:
        (rows if kind == "r" else cols)[index] = True
    return rows, cols
