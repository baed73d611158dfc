"""Households and the ages and sexes of their members, drawn so that Belgium's figures come out.

Ages are drawn first, from the age pyramid, so that the pyramid holds by construction; households are drawn
from the size distribution; then people are placed in households: the youngest (with some noise above 18)
become the children, and adults are matched by rank to the age each adult slot "wants" (parents some 22 to
38 years older than their eldest child, partners close to each other, people living alone young or old).
Rank matching keeps both the pyramid and plausible ages within a household. Everything is numpy; no loop
runs per person or per household.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kruispunt.synth.populations import SynthError
from kruispunt.synth.targets import (
    AGE_BAND_SHARES,
    DEATH_AGE_BANDS,
    DEATH_AGE_SHARES,
    DEATH_RATE,
    HOUSEHOLD_SIZE_SHARES,
    age_band_edges,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Roles, in the order of identity.HOUSEHOLD_ROLES.
HEAD, PARTNER, CHILD, OTHER = 0, 1, 2, 3
# Household kinds.
SINGLE, COUPLE, PARENT, PAIR, COUPLE_KIDS_OTHER, DECEASED = 0, 1, 2, 3, 4, 5
_MAX_ATTEMPTS = 200


@dataclass(frozen=True)
class Households:
    """Persons (one entry each, grouped by household, in household order) and their households."""

    household: IntArray  # household index of each person, 0..H-1, non-decreasing
    role: IntArray
    age_years: FloatArray  # exact age in years (on the reference day, or at death for the deceased)
    male: BoolArray
    dead: BoolArray
    kind: IntArray  # per household
    size: IntArray  # per household (number of persons listed)

    @property
    def persons(self) -> int:
        return len(self.household)


def draw_households(rng: np.random.Generator, persons: int) -> Households:
    """``persons`` people in households; about :data:`DEATH_RATE` of them died in the past year."""
    for _ in range(_MAX_ATTEMPTS):
        drawn = _attempt(rng, persons)
        if drawn is not None:
            return drawn
    raise SynthError(f"could not form households for {persons} persons; ask for more persons")


def _attempt(rng: np.random.Generator, persons: int) -> Households | None:
    dead = round(persons * DEATH_RATE)
    living = persons - dead
    sizes = _sizes(rng, living)
    kinds = _kinds(rng, sizes)
    household = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    position = np.arange(living) - starts[household]
    role = _roles(kinds[household], position, sizes[household])
    ages = _pyramid_ages(rng, living)
    placed = _place(rng, ages, role, household, kinds, starts)
    if placed is None:
        return None
    male = _sexes(rng, placed, role, kinds[household])
    return _with_deceased(rng, household, role, placed, male, kinds, sizes, dead)


def _sizes(rng: np.random.Generator, living: int) -> IntArray:
    if living == 0:
        return np.zeros(0, dtype=np.int64)
    mean = float(np.dot(np.arange(1, len(HOUSEHOLD_SIZE_SHARES) + 1), HOUSEHOLD_SIZE_SHARES))
    count = int(living / mean * 1.1) + 16
    sizes = rng.choice(np.arange(1, len(HOUSEHOLD_SIZE_SHARES) + 1), size=count, p=HOUSEHOLD_SIZE_SHARES)
    while sizes.sum() < living:
        sizes = np.concatenate([sizes, sizes])
    total = np.cumsum(sizes)
    last = int(np.searchsorted(total, living))
    sizes = sizes[: last + 1].astype(np.int64)
    sizes[-1] -= int(total[last] - living)
    return sizes


def _kinds(rng: np.random.Generator, sizes: IntArray) -> IntArray:
    u = rng.random(len(sizes))
    two = np.select([u < 0.70, u < 0.94], [COUPLE, PARENT], PAIR)
    more = np.select([u < 0.80, u < 0.94], [COUPLE, PARENT], COUPLE_KIDS_OTHER)
    return np.select([sizes == 1, sizes == 2], [SINGLE, two], more).astype(np.int64)


def _roles(kind: IntArray, position: IntArray, size: IntArray) -> IntArray:
    couple = (kind == COUPLE) | (kind == COUPLE_KIDS_OTHER)
    second = np.select([couple, kind == PARENT], [PARTNER, CHILD], OTHER)
    later = np.where((kind == COUPLE_KIDS_OTHER) & (position == size - 1), OTHER, CHILD)
    return np.select([position == 0, position == 1], [HEAD, second], later).astype(np.int64)


def _pyramid_ages(rng: np.random.Generator, count: int) -> FloatArray:
    band = rng.choice(len(AGE_BAND_SHARES), size=count, p=AGE_BAND_SHARES)
    return age_band_edges()[band] + rng.random(count) * 5.0


def _place(
    rng: np.random.Generator,
    ages: FloatArray,
    role: IntArray,
    household: IntArray,
    kinds: IntArray,
    starts: IntArray,
) -> FloatArray | None:
    """The age of each slot, or None when there are fewer child slots than minors."""
    is_child = role == CHILD
    children = int(is_child.sum())
    minors = int((ages < 18).sum())
    if children < minors:
        return None
    score = np.where(ages < 18, ages - 100.0, ages + rng.normal(0.0, 5.0, len(ages)))
    order = np.argsort(score)
    child_ages, adult_ages = ages[order[:children]], ages[order[children:]]

    placed = np.empty(len(ages))
    hh_key = rng.random(len(starts))
    child_slots = np.flatnonzero(is_child)
    slot_order = child_slots[np.lexsort((child_slots, hh_key[household[child_slots]]))]
    noisy = np.argsort(child_ages + rng.normal(0.0, 4.0, children))
    placed[slot_order] = child_ages[noisy]

    eldest = np.full(len(starts), -1.0)
    np.maximum.at(eldest, household[child_slots], placed[child_slots])
    target = _adult_targets(rng, role, household, kinds, eldest)
    adult_slots = np.flatnonzero(~is_child)
    by_target = adult_slots[np.argsort(target[adult_slots] + rng.random(len(adult_slots)) * 1e-3)]
    placed[by_target] = np.sort(adult_ages)
    return placed


def _adult_targets(
    rng: np.random.Generator, role: IntArray, household: IntArray, kinds: IntArray, eldest: FloatArray
) -> FloatArray:
    """The age each adult slot would ideally have; only the ranking matters."""
    h = len(kinds)
    mixture = rng.random(h)
    free = np.select(
        [mixture < 0.3, mixture < 0.6],
        [rng.uniform(20, 36, h), rng.uniform(62, 92, h)],
        rng.uniform(30, 70, h),
    )
    head = np.where(eldest >= 0, eldest + rng.uniform(12, 26, h), free)
    n = len(role)
    partner = head[household] + rng.normal(-2.0, 3.0, n)
    grandparent = head[household] + rng.uniform(22, 32, n)
    pair_other = rng.uniform(20, 80, n)
    other = np.where(kinds[household] == PAIR, pair_other, grandparent)
    return np.select([role == HEAD, role == PARTNER], [head[household], partner], other)


def _sexes(rng: np.random.Generator, ages: FloatArray, role: IntArray, kind: IntArray) -> BoolArray:
    n = len(ages)
    u = rng.random(n)
    head_male = np.select(
        [kind == SINGLE, kind == PARENT],
        [u >= np.clip(0.40 + (ages - 60.0) * 0.012, 0.40, 0.72), u < 0.20],
        u < 0.62,
    )
    male = np.select([role == HEAD, role == CHILD], [head_male, u < 0.512], u < 0.5)
    # A partner is mostly of the other sex than the head just before them.
    previous_head = np.r_[False, male[:-1]]
    same_sex = rng.random(n) < 0.015
    return np.where(role == PARTNER, previous_head ^ ~same_sex, male).astype(bool)


def _with_deceased(
    rng: np.random.Generator,
    household: IntArray,
    role: IntArray,
    ages: FloatArray,
    male: BoolArray,
    kinds: IntArray,
    sizes: IntArray,
    dead: int,
) -> Households:
    """Append those who died, each the last member of a one-person household, then shuffle households."""
    band = rng.choice(len(DEATH_AGE_SHARES), size=dead, p=DEATH_AGE_SHARES)
    width = np.diff(np.r_[DEATH_AGE_BANDS, 105])
    death_ages = DEATH_AGE_BANDS[band] + rng.random(dead) * width[band]
    h = len(sizes)
    all_household = np.concatenate([household, h + np.arange(dead)])
    all_kinds = np.concatenate([kinds, np.full(dead, DECEASED)])
    all_sizes = np.concatenate([sizes, np.ones(dead, dtype=np.int64)])
    new_index = np.empty(h + dead, dtype=np.int64)
    new_index[rng.permutation(h + dead)] = np.arange(h + dead)
    perm_kinds = np.empty_like(all_kinds)
    perm_kinds[new_index] = all_kinds
    perm_sizes = np.empty_like(all_sizes)
    perm_sizes[new_index] = all_sizes
    # Person i goes to the start of its household's new place plus its position within the household.
    old_starts = np.cumsum(all_sizes) - all_sizes
    new_starts = np.cumsum(perm_sizes) - perm_sizes
    relabelled = new_index[all_household]
    destination = new_starts[relabelled] + np.arange(len(all_household)) - old_starts[all_household]
    order = np.empty_like(destination)
    order[destination] = np.arange(len(destination))
    return Households(
        household=relabelled[order],
        role=np.concatenate([role, np.full(dead, HEAD)])[order],
        age_years=np.concatenate([ages, death_ages])[order],
        male=np.concatenate([male, rng.random(dead) < 0.49])[order],
        dead=np.concatenate([np.zeros(len(ages), dtype=bool), np.ones(dead, dtype=bool)])[order],
        kind=perm_kinds,
        size=perm_sizes,
    )
