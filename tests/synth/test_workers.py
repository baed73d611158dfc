"""Worker processes: a failure in one reaches the caller, and no process or part file is left behind."""

from __future__ import annotations

import multiprocessing
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from kruispunt.synth import SynthError, workers
from kruispunt.synth.chunks import Built, ChunkPlan, Job, first_serials
from kruispunt.synth.people import SLOTS


def test_a_failing_worker_stops_the_run_with_its_reason(tmp_path: Path) -> None:
    plans = [
        ChunkPlan(0, ("61031",), (2_000,)),
        ChunkPlan(1, ("99999",), (2_000,)),  # no such municipality: the worker making it fails
    ]
    written: list[Built] = []
    with pytest.raises(RuntimeError, match="99999"):
        workers.run(
            plans,
            Job(1, date(2025, 1, 1), 0.0, "parquet"),
            2,
            tmp_path,
            written.append,
            lambda plan: None,
        )
    assert multiprocessing.active_children() == []
    assert len(written) <= 1


def test_serials_of_earlier_chunks_offset_the_later_ones_and_run_out_at_499() -> None:
    first = np.zeros(SLOTS, dtype=np.int32)
    first[7] = 300
    second = np.zeros(SLOTS, dtype=np.int32)
    second[7] = 150
    offsets = first_serials([first, second])
    assert offsets[0][7] == 0 and offsets[1][7] == 300
    second[7] = 200
    with pytest.raises(SynthError, match="499"):
        first_serials([first, second])
