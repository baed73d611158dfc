"""The generator: plans chunks of whole municipalities, makes them (in worker processes at scale), writes
the feeds and the manifest.

How chunks are made, and why the files depend on the arguments only: :mod:`kruispunt.synth.chunks`; how
the work is shared between processes: :mod:`kruispunt.synth.workers`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from kruispunt import __version__
from kruispunt.feeds import file_sha256
from kruispunt.synth import workers as worker_processes
from kruispunt.synth.chunks import Built, ChunkMaker, ChunkPlan, Job, first_serials, plan_chunks
from kruispunt.synth.output import FEED_COLUMNS, FORMATS, STATUS_COLUMNS, STATUSES, FeedWriter, Format
from kruispunt.synth.people import read_yaml
from kruispunt.synth.populations import SynthError, persons_per_municipality
from kruispunt.synth.statuses import STATUS_SOURCES
from kruispunt.synth.targets import DEFAULT_AS_OF

__all__ = ["STATUS_COLUMNS", "Manifest", "generate", "plan_chunks"]

#: Changes whenever the same arguments would give different files.
GENERATOR_VERSION = "1"
CHUNK_PERSONS = 400_000
PARALLEL_FROM = 1_500_000
Progress = Callable[[int, int], None]


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


def check_catalogue() -> None:
    """Fail early if the status catalogue no longer allows a status or source this generator emits."""
    text = resources.files("kruispunt").joinpath("statuses").joinpath("catalogue.yaml").read_text("utf-8")
    allowed = {entry["code"]: set(entry["sources"]) for entry in read_yaml(text)["statuses"]}
    for status, sources in STATUS_SOURCES.items():
        if status not in allowed or not set(sources) <= allowed[status]:
            raise SynthError(f"the status catalogue does not allow {status} from {', '.join(sources)}")


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
    job = Job(seed, as_of, defects, fmt)
    manifest.counts = _run(plans, job, workers, out, _Progress(progress, 2 * total))
    for name in (f"register.{fmt}", f"statuses.{fmt}"):
        path = out / name
        manifest.files[name] = {
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
            "rows": manifest.counts["persons" if name.startswith("register") else "status_rows_written"],
        }
    (out / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest


class _Progress:
    """Persons done, counted once per pass, reported to the caller's ``progress(done, total)``."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.report = progress or (lambda done, whole: None)
        self.done = 0
        self.total = total

    def __call__(self, plan: ChunkPlan) -> None:
        self.done += plan.persons
        self.report(self.done, self.total)


class _Feeds:
    """The two feed files being written, chunk after chunk, and the manifest's counts."""

    def __init__(self, writers: dict[str, FeedWriter]) -> None:
        self.writers = writers
        self.totals: dict[str, Any] = {}

    def write(self, built: Built) -> None:
        for feed, writer in self.writers.items():
            if built.parts is not None:
                writer.append_part(built.parts[feed], built.rows[feed])
            elif built.frames is not None:
                writer.write(built.frames[feed])
        for key, value in built.counts.items():
            self.totals[key] = self.totals.get(key, 0) + value

    def counts(self) -> dict[str, Any]:
        return dict(sorted({**self.totals, "status_rows_written": self.writers[STATUSES].rows}.items()))


def _run(plans: list[ChunkPlan], job: Job, workers: int, out: Path, progress: _Progress) -> dict[str, Any]:
    with ExitStack() as files:
        feeds = _Feeds(
            {
                feed: files.enter_context(FeedWriter(out / f"{feed}.{job.fmt}", columns, job.fmt))
                for feed, columns in FEED_COLUMNS.items()
            }
        )
        if workers <= 1:
            _run_here(plans, job, feeds.write, progress)
        else:
            parts = files.enter_context(tempfile.TemporaryDirectory(prefix=".synth-parts-", dir=out))
            worker_processes.run(plans, job, workers, Path(parts), feeds.write, progress)
    return feeds.counts()


def _run_here(plans: list[ChunkPlan], job: Job, write: Callable[[Built], None], progress: _Progress) -> None:
    """Make every chunk in this process: the same chunks, rows and files as worker processes make."""
    maker = ChunkMaker(job)
    used = []
    for plan in plans:
        used.append(maker.count(plan))
        progress(plan)
    firsts = first_serials(used)
    used.clear()
    for plan in plans:
        write(maker.build(plan, firsts[plan.index]))
        progress(plan)
