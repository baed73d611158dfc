"""Careers of status periods: durations, gaps and renewals, vectorised.

A *career* is one person's history with one status. Each career has one to a few periods, built backwards
from its last period: an active career's last period is still running on the reference day, a former
career's ended some time before. Between two periods lies a gap of at least one whole day, so periods of
one career never overlap nor touch (the status feed contract).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
OPEN = np.iinfo(np.int64).max  # end of a period still running


@dataclass(frozen=True)
class Careers:
    """How periods of a status come and go (all in days)."""

    mean_duration: float
    min_duration: int = 30
    mean_gap: float = 365.0
    renewal: float = 0.3  # chance that a period was preceded by an earlier one


@dataclass(frozen=True)
class Periods:
    """Flat list of periods: ``career`` indexes the careers asked for; ``end`` is OPEN while running."""

    career: IntArray
    start: IntArray
    end: IntArray

    def __len__(self) -> int:
        return len(self.career)

    def take(self, mask: npt.NDArray[np.bool_]) -> Periods:
        return Periods(self.career[mask], self.start[mask], self.end[mask])


def draw_periods(
    rng: np.random.Generator,
    active: npt.NDArray[np.bool_],
    model: Careers,
    window: tuple[int, int],
    max_periods: int = 4,
) -> Periods:
    """Periods for each career; ``active[i]`` says whether career i is still running on ``window[1]``.

    Periods ending before ``window[0]`` are dropped and starts are clipped to it, so a career may be left
    with no period at all when it ended before the window.
    """
    first_day, reference = window
    n = len(active)
    count = 1 + np.minimum(rng.geometric(1.0 - model.renewal, n) - 1, max_periods - 1)
    career = np.repeat(np.arange(n), count)
    first = np.cumsum(count) - count
    rank = np.arange(len(career)) - first[career]  # 0 = the last period, 1 = the one before, ...
    duration = model.min_duration + rng.exponential(model.mean_duration, len(career)).astype(np.int64)
    gap = 2 + rng.exponential(model.mean_gap, len(career)).astype(np.int64)
    since_end = rng.integers(1, max(2, reference - first_day), n)
    last_end = np.where(active, reference, reference - since_end)
    step = duration + gap  # from the end of this period back to the end of the one before
    back = np.cumsum(step) - step
    end = last_end[career] - (back - back[first[career]])
    start = end - duration + 1
    end = np.where(active[career] & (rank == 0), OPEN, end)
    keep = (end >= first_day) & (start <= reference)
    return Periods(career[keep], np.maximum(start[keep], first_day), end[keep])


def clip(periods: Periods, earliest: IntArray, latest: IntArray) -> Periods:
    """Clip each period to [earliest, latest] of its career (latest OPEN = no limit); drop empty ones.

    An open period whose career has a ``latest`` day is closed on that day (e.g. a death, a 65th birthday).
    """
    low = earliest[periods.career]
    high = latest[periods.career]
    start = np.maximum(periods.start, low)
    end = np.minimum(periods.end, high)
    keep = start <= end
    return Periods(periods.career[keep], start[keep], end[keep])


def active_on(periods: Periods, day: int, careers: int) -> npt.NDArray[np.bool_]:
    """Per career, whether one of its periods covers ``day``."""
    covering = (periods.start <= day) & (periods.end >= day)
    return np.bincount(periods.career[covering], minlength=careers) > 0


def weighted_sample(rng: np.random.Generator, weights: npt.NDArray[np.float64], k: int) -> IntArray:
    """``k`` distinct indices drawn with probability proportional to ``weights`` (Efraimidis-Spirakis)."""
    eligible = np.flatnonzero(weights > 0)
    k = min(k, len(eligible))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(
        over="ignore", divide="ignore"
    ):  # tiny weights give -inf keys: drawn last, as they should
        keys = np.log(rng.random(len(eligible))) / weights[eligible]
    chosen = np.argpartition(-keys, k - 1)[:k]
    return np.sort(eligible[chosen])
