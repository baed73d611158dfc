"""Chunks: runs of whole municipalities, generated in two passes with a random stream each.

The first pass draws a chunk's people and counts the INSZ serials they use per birth date and sex; the
second, given the serials all earlier chunks used, numbers the people and builds their register rows and
status periods. Each chunk and pass has its own random stream derived from the seed, so a chunk's rows
depend on the arguments only, never on which process made them or when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from kruispunt.synth import defects as defect_rules
from kruispunt.synth.households import DECEASED, draw_households
from kruispunt.synth.output import REGISTER, STATUSES, Format, write_part
from kruispunt.synth.people import SLOTS, Chunk, SlotCounts, make_chunk, register_frame, slot_counts
from kruispunt.synth.populations import SynthError
from kruispunt.synth.statuses import status_frame, status_text


@dataclass(frozen=True)
class ChunkPlan:
    index: int
    municipalities: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def persons(self) -> int:
        return sum(self.counts)


def plan_chunks(table: pl.DataFrame, size: int) -> list[ChunkPlan]:
    """Consecutive municipalities (in NIS order) grouped into chunks of about ``size`` persons."""
    plans: list[ChunkPlan] = []
    names: list[str] = []
    counts: list[int] = []
    for nis, persons in table.sort("municipality_nis").iter_rows():
        if names and sum(counts) + persons > size:
            plans.append(ChunkPlan(len(plans), tuple(names), tuple(counts)))
            names, counts = [], []
        if persons > 0:
            names.append(nis)
            counts.append(persons)
    if names:
        plans.append(ChunkPlan(len(plans), tuple(names), tuple(counts)))
    return plans


def first_serials(used: list[SlotCounts]) -> list[SlotCounts]:
    """Per chunk, the serials all chunks before it used per slot; raises when a slot runs out."""
    total = np.zeros(SLOTS, dtype=np.int32)
    firsts: list[SlotCounts] = []
    for counts in used:
        firsts.append(total.copy())
        total += counts
    if total.size and total.max() > 499:
        raise SynthError("more than 499 persons of one sex share a birth date; ask for fewer persons")
    return firsts


@dataclass(frozen=True)
class Job:
    """What every chunk of one run shares."""

    seed: int
    as_of: date
    defects: float
    fmt: Format


@dataclass(frozen=True)
class Built:
    """A chunk's rows: frames, or (from a worker process) files holding them, with their counts."""

    index: int
    counts: dict[str, int]
    rows: dict[str, int]
    frames: dict[str, pl.DataFrame] | None = None
    parts: dict[str, Path] | None = None


def _rng(seed: int, chunk: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, chunk, stream])


class ChunkMaker:
    """Makes chunks, keeping each chunk's people from the first pass for the second (no drawing twice)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._people: dict[int, Chunk] = {}

    def count(self, plan: ChunkPlan) -> SlotCounts:
        """First pass: draw the chunk's people; return how many serials they use per slot."""
        rng = _rng(self.job.seed, plan.index, 1)
        households = draw_households(rng, plan.persons)
        people = make_chunk(rng, households, plan.municipalities, plan.counts, self.job.as_of)
        self._people[plan.index] = people
        return slot_counts(people.slots)

    def build(self, plan: ChunkPlan, first_pairs: SlotCounts) -> Built:
        """Second pass: the chunk's register rows and status rows, as text frames."""
        frames, counts = self._frames(plan, first_pairs)
        return Built(plan.index, counts, _rows(frames), frames=frames)

    def build_parts(self, plan: ChunkPlan, first_pairs: SlotCounts, folder: Path) -> Built:
        """:meth:`build`, with the rows encoded into files in ``folder`` for the process that writes."""
        frames, counts = self._frames(plan, first_pairs)
        parts = {feed: folder / f"{feed}-{plan.index:05d}.part" for feed in frames}
        for feed, frame in frames.items():
            write_part(frame, feed, self.job.fmt, parts[feed])
        return Built(plan.index, counts, _rows(frames), parts=parts)

    def _frames(
        self, plan: ChunkPlan, first_pairs: SlotCounts
    ) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
        seed = self.job.seed
        chunk = self._people.pop(plan.index).numbered(first_pairs)
        rng = _rng(seed, plan.index, 2)
        register = register_frame(rng, chunk)
        statuses = status_text(status_frame(rng, chunk, self.job.as_of), chunk)
        counts = _chunk_counts(chunk, statuses)
        if self.job.defects > 0:
            damage = _rng(seed, plan.index, 3)
            register, register_defects = defect_rules.damage_register(damage, register, self.job.defects)
            statuses, status_defects = defect_rules.damage_statuses(damage, statuses, self.job.defects)
            for kind, number in register_defects.items():
                counts[f"defects.register.{kind}"] = number
            for kind, number in status_defects.items():
                counts[f"defects.statuses.{kind}"] = number
        return {REGISTER: register, STATUSES: statuses}, counts


def _rows(frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    return {feed: frame.height for feed, frame in frames.items()}


def _chunk_counts(chunk: Chunk, statuses: pl.DataFrame) -> dict[str, int]:
    hh = chunk.households
    counts = {
        "persons": hh.persons,
        "households": int((hh.kind != DECEASED).sum()),
        "deceased": int(hh.dead.sum()),
        "bis_numbers": int(chunk.bis.sum()),
        "status_rows": statuses.height,
    }
    for status, number in statuses.group_by("status").len().iter_rows():
        counts[f"status_rows.{status}"] = int(number)
    return counts
