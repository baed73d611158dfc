"""Disclosure control on random tables: nothing small is published, nothing suppressed can be recomputed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kruispunt.warehouse.suppression import protect, recomputable, round_to_base, with_margins


def determined_by_equations(suppressed: npt.NDArray[np.bool_]) -> set[tuple[int, int]]:
    """Independent oracle: linear algebra on the row and column equations (with totals).

    A suppressed entry is recomputable exactly when every vector of the null space of the equations,
    restricted to the suppressed unknowns, is zero at that entry.
    """
    rows, cols = suppressed.shape
    unknowns = [tuple(map(int, p)) for p in np.argwhere(suppressed)]
    if not unknowns:
        return set()
    matrix = np.zeros((rows + cols, len(unknowns)))
    for k, (i, j) in enumerate(unknowns):
        matrix[i, k] = 1.0 if j < cols - 1 else -1.0
        matrix[rows + j, k] = 1.0 if i < rows - 1 else -1.0
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null = vt[rank:]
    return {unknowns[k] for k in range(len(unknowns)) if np.abs(null[:, k]).max(initial=0.0) < 1e-9}


tables = st.integers(1, 7).flatmap(
    lambda r: st.integers(1, 7).flatmap(
        lambda c: arrays(
            np.int64,
            (r, c),
            elements=st.one_of(st.integers(0, 12), st.integers(0, 200), st.just(0), st.integers(1, 9)),
        )
    )
)


@settings(max_examples=200, deadline=None)
@given(cells=tables, threshold=st.integers(1, 15))
def test_no_published_entry_is_below_the_threshold(cells: npt.NDArray[np.int64], threshold: int) -> None:
    result = protect(cells, threshold=threshold)
    full = with_margins(cells)
    published = full[~result.suppressed]
    assert ((published == 0) | (published >= threshold)).all()
    assert (result.values[~result.suppressed] == published).all()
    assert (result.primary <= result.suppressed).all()


@settings(max_examples=200, deadline=None)
@given(cells=tables, threshold=st.integers(2, 15))
def test_no_suppressed_entry_can_be_recomputed_from_rows_columns_or_totals(
    cells: npt.NDArray[np.int64], threshold: int
) -> None:
    result = protect(cells, threshold=threshold)
    per_row = result.suppressed.sum(axis=1)
    per_col = result.suppressed.sum(axis=0)
    assert not (per_row == 1).any() and not (per_col == 1).any()
    assert determined_by_equations(result.suppressed) == set()
    assert recomputable(result.suppressed) == []


@settings(max_examples=100, deadline=None)
@given(cells=tables)
def test_same_table_same_answer(cells: npt.NDArray[np.int64]) -> None:
    first, second = protect(cells), protect(cells.copy())
    assert (first.suppressed == second.suppressed).all() and (first.values == second.values).all()


@settings(max_examples=200, deadline=None)
@given(cells=tables, threshold=st.integers(1, 15))
def test_rounding_publishes_multiples_of_five_near_the_truth(
    cells: npt.NDArray[np.int64], threshold: int
) -> None:
    result = protect(cells, threshold=threshold, rounding_base=5)
    full = with_margins(cells)
    assert (result.values % 5 == 0).all()
    assert (np.abs(result.values - full) <= 2).all()
    published = result.values[~result.suppressed]
    assert ((published == 0) | (published >= min(threshold, 5))).all()


def test_oracle_agrees_that_a_lone_suppressed_cell_is_recomputable() -> None:
    lone = np.zeros((3, 3), dtype=bool)
    lone[0, 0] = True
    assert determined_by_equations(lone) == {(0, 0)}
    square = lone.copy()
    square[0, 1] = square[1, 0] = square[1, 1] = True
    assert determined_by_equations(square) == set()


def test_two_suppressed_cells_in_a_line_are_not_enough_when_they_form_a_bridge() -> None:
    """Two 4-cycles joined by one suppressed cell: every line has two, yet the joining cell is exposed."""
    mask = np.zeros((5, 5), dtype=bool)
    for i, j in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        mask[i, j] = True
    assert (1, 2) in determined_by_equations(mask)
    assert recomputable(mask) == [(1, 2)]


def test_round_to_base_halves_up() -> None:
    assert round_to_base(np.array([0, 2, 3, 7, 8, 12, 13], dtype=np.int64), 5).tolist() == [
        0,
        0,
        5,
        5,
        10,
        10,
        15,
    ]
