"""The generator: plans chunks of whole municipalities, runs them (in parallel at scale), writes the feeds.

Chunks are generated in two passes. The first draws each chunk's people and reports how many INSZ serials
it uses per birth date and sex; the second, knowing the serials used by all chunks before it, numbers the
chunk, builds its register rows and status periods and hands them to the writers in chunk order. Each chunk
and pass has its own random stream derived from the seed, so the output depends on the arguments only, not
on how many processes ran: the same arguments give byte-identical files.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from kruispunt import __version__
from kruispunt.feeds import file_sha256
from kruispunt.identity import REGISTER_COLUMNS
from kruispunt.synth import defects as defect_rules
from kruispunt.synth.households import DECEASED, draw_households
from kruispunt.synth.output import FORMATS, FeedWriter, Format
from kruispunt.synth.people import SLOTS, Chunk, make_chunk, read_yaml, register_frame, slot_counts
from kruispunt.synth.populations import SynthError, persons_per_municipality
from kruispunt.synth.statuses import STATUS_SOURCES, status_frame, status_text
from kruispunt.synth.targets import DEFAULT_AS_OF

STATUS_COLUMNS = ("insz", "status", "start_date", "end_date", "source")
#: Changes whenever the same arguments would give different files.
GENERATOR_VERSION = "1"
CHUNK_PERSONS = 400_000
PARALLEL_FROM = 1_500_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ChunkPlan:
    index: int
    municipalities: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def persons(self) -> int:
        return sum(self.counts)


@dataclass
class Manifest:
    """What was generated: arguments, counts, and a checksum per file (``manifest.json``)."""

    generator: str
    generator_version: str
    seed: int
    persons: int
    municipalities: list[str] | None
    format: str
    as_of: str
    defects_rate: float
    counts: dict[str, Any] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def plan_chunks(table: pl.DataFrame, size: int = CHUNK_PERSONS) -> list[ChunkPlan]:
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


def _rng(seed: int, chunk: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, chunk, stream])


def _people(seed: int, plan: ChunkPlan, as_of: date) -> Chunk:
    rng = _rng(seed, plan.index, 1)
    households = draw_households(rng, plan.persons)
    return make_chunk(rng, households, plan.municipalities, plan.counts, as_of)


def _serials_used(args: tuple[int, ChunkPlan, date]) -> np.ndarray:
    """First pass: how many serials the chunk's people use per slot."""
    seed, plan, as_of = args
    return slot_counts(_people(seed, plan, as_of).slots)


@dataclass(frozen=True)
class ChunkResult:
    register: pl.DataFrame
    statuses: pl.DataFrame
    counts: dict[str, int]


def _build(args: tuple[int, ChunkPlan, date, np.ndarray, float]) -> ChunkResult:
    """Second pass: the chunk's register rows and status rows, as text."""
    seed, plan, as_of, first_pairs, rate = args
    chunk = _people(seed, plan, as_of).numbered(first_pairs)
    rng = _rng(seed, plan.index, 2)
    register = register_frame(rng, chunk)
    statuses = status_text(status_frame(rng, chunk, as_of), chunk)
    counts = _chunk_counts(chunk, statuses)
    if rate > 0:
        damage = _rng(seed, plan.index, 3)
        register, register_defects = defect_rules.damage_register(damage, register, rate)
        statuses, status_defects = defect_rules.damage_statuses(damage, statuses, rate)
        for kind, number in register_defects.items():
            counts[f"defects.register.{kind}"] = number
        for kind, number in status_defects.items():
            counts[f"defects.statuses.{kind}"] = number
    return ChunkResult(register, statuses, counts)


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


def check_catalogue() -> None:
    """Fail early if the status catalogue no longer allows a status or source this generator emits."""
    text = resources.files("kruispunt").joinpath("statuses").joinpath("catalogue.yaml").read_text("utf-8")
    allowed = {entry["code"]: set(entry["sources"]) for entry in read_yaml(text)["statuses"]}
    for status, sources in STATUS_SOURCES.items():
        if status not in allowed or not set(sources) <= allowed[status]:
            raise SynthError(f"the status catalogue does not allow {status} from {', '.join(sources)}")


@cache
def _spawn_context() -> Any:
    return multiprocessing.get_context("spawn")


def _executor(workers: int) -> Executor | None:
    if workers <= 1:
        return None
    return ProcessPoolExecutor(max_workers=workers, mp_context=_spawn_context())


def _map(executor: Executor | None, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
    if executor is None:
        return map(function, items)
    return executor.map(function, items)


def generate(
    persons: int | None,
    seed: int,
    municipalities: Sequence[str] | None = None,
    fmt: Format = "parquet",
    out: Path = Path("."),
    defects: float = 0.0,
    progress: Progress | None = None,
    *,
    as_of: date = DEFAULT_AS_OF,
    workers: int | None = None,
) -> Manifest:
    """Write ``register.<fmt>``, ``statuses.<fmt>`` and ``manifest.json`` into ``out``; return the manifest.

    ``persons`` may be None when ``municipalities`` is given: each then gets its real population.
    ``progress(done, total)`` is called as work completes (units: persons, counted once per pass).
    """
    if fmt not in FORMATS:
        raise SynthError(f"unknown format {fmt!r}; use parquet or csv")
    if not 0.0 <= defects <= 1.0:
        raise SynthError("--defects must be a rate between 0 and 1")
    check_catalogue()
    table = persons_per_municipality(persons, municipalities)
    plans = plan_chunks(table, CHUNK_PERSONS)
    total = sum(plan.persons for plan in plans)
    workers = (
        workers if workers is not None else (min(2, os.cpu_count() or 1) if total >= PARALLEL_FROM else 1)
    )
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(
        generator="kruispunt.synth",
        generator_version=f"{GENERATOR_VERSION} (kruispunt {__version__})",
        seed=seed,
        persons=total,
        municipalities=sorted(table["municipality_nis"].to_list()) if municipalities is not None else None,
        format=fmt,
        as_of=as_of.isoformat(),
        defects_rate=defects,
    )
    report = progress or (lambda done, whole: None)
    executor = _executor(workers)
    try:
        manifest.counts = _run(executor, plans, seed, as_of, defects, out, fmt, report, 2 * total)
    finally:
        if executor is not None:
            executor.shutdown()
    for name in (f"register.{fmt}", f"statuses.{fmt}"):
        path = out / name
        manifest.files[name] = {
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
            "rows": manifest.counts["persons" if name.startswith("register") else "status_rows_written"],
        }
    (out / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _run(
    executor: Executor | None,
    plans: list[ChunkPlan],
    seed: int,
    as_of: date,
    rate: float,
    out: Path,
    fmt: Format,
    report: Progress,
    total: int,
) -> dict[str, Any]:
    done = 0
    used = np.zeros(SLOTS, dtype=np.int64)
    first_pairs: list[np.ndarray] = []
    for plan, counts in zip(
        plans, _map(executor, _serials_used, [(seed, p, as_of) for p in plans]), strict=True
    ):
        first_pairs.append(used.copy())
        used += counts
        done += plan.persons
        report(done, total)
    if used.size and used.max() > 499:
        raise SynthError("more than 499 persons of one sex share a birth date; ask for fewer persons")
    totals: dict[str, Any] = {}
    jobs = [(seed, plan, as_of, first_pairs[plan.index], rate) for plan in plans]
    first_pairs.clear()
    with (
        FeedWriter(out / f"register.{fmt}", REGISTER_COLUMNS, fmt) as register,
        FeedWriter(out / f"statuses.{fmt}", STATUS_COLUMNS, fmt) as statuses,
    ):
        for plan, result in zip(plans, _map(executor, _build, jobs), strict=True):
            register.write(result.register)
            statuses.write(result.statuses)
            for key, value in result.counts.items():
                totals[key] = totals.get(key, 0) + value
            done += plan.persons
            report(done, total)
        totals["status_rows_written"] = statuses.rows
    return dict(sorted(totals.items()))
