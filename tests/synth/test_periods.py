"""Period careers: whatever the parameters, periods stay in the window and never overlap nor touch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kruispunt.synth.periods import OPEN, Careers, active_on, draw_periods, weighted_sample


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    careers=st.integers(0, 300),
    mean_duration=st.floats(1, 4_000),
    mean_gap=st.floats(0, 2_000),
    renewal=st.floats(0, 0.95),
)
def test_periods_stay_in_window_and_apart(
    seed: int, careers: int, mean_duration: float, mean_gap: float, renewal: float
) -> None:
    rng = np.random.default_rng(seed)
    active = rng.random(careers) < 0.5
    window = (16_436, 20_089)  # 2015-01-01 .. 2025-01-01
    periods = draw_periods(rng, active, Careers(mean_duration, mean_gap=mean_gap, renewal=renewal), window)
    assert np.all(periods.start >= window[0]) and np.all(periods.start <= window[1])
    assert np.all(periods.end >= periods.start)
    closed = periods.end != OPEN
    assert np.all(periods.end[closed] < window[1])
    order = np.lexsort((periods.start, periods.career))
    career, start, end = periods.career[order], periods.start[order], periods.end[order]
    same = career[1:] == career[:-1]
    assert np.all(start[1:][same] > end[:-1][same] + 1)  # a gap of at least one whole day
    running = active_on(periods, window[1], careers)
    assert np.array_equal(running, active)


@given(st.integers(0, 2**32 - 1), st.lists(st.floats(0, 10), min_size=1, max_size=200), st.integers(0, 250))
def test_weighted_sample_draws_distinct_indices_with_positive_weight(
    seed: int, weights: list[float], k: int
) -> None:
    w = np.asarray(weights)
    chosen = weighted_sample(np.random.default_rng(seed), w, k)
    assert len(np.unique(chosen)) == len(chosen) == min(k, int((w > 0).sum()))
    assert np.all(w[chosen] > 0)
