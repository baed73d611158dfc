"""Benchmark of synthetic Belgium: one municipality, and a population of a chosen size.

Runs ``kruispunt synth`` as a user does (a fresh process, so start-up counts), measures the wall time, the
CPU time (user + system, the worker processes included) and the peak resident memory of the whole process
tree, and prints them. CPU time tells what the run costs whatever else the machine is doing; on 2 idle
cores the wall time is about half of it. The single municipality is also timed in-process (the
``synth.generate`` call alone, without Python's start-up and imports). National scale:
``python -m bench.bench_synth --persons 11700000``.

Python's bytecode cache goes to a private folder (``PYTHONPYCACHEPREFIX``), written even where the
environment turns it off: the first run compiles every imported module (about a second for ``synth``;
reported as "first run"), later runs start the way they do after any normal installation.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _tree_rss(root: int) -> int:
    """Resident memory, in bytes, of ``root`` and all its descendants (read from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    tree, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


def run(arguments: list[str], bytecode: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak tree RSS (bytes) of ``kruispunt synth ARGUMENTS``."""
    environment = {**os.environ, "PYTHONPYCACHEPREFIX": str(bytecode)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "kruispunt", "synth", *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(process.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"kruispunt synth failed: {errors.decode()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, peak


def in_process(municipality: str, seed: int, out: Path) -> float:
    """Wall seconds of ``synth.generate`` for one municipality, imports already done."""
    from kruispunt import synth

    synth.generate(None, seed, [municipality], out=out / "warm-up")
    started = time.perf_counter()
    synth.generate(None, seed, [municipality], out=out / "timed")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000, help="persons for the scale run")
    parser.add_argument("--municipality", default="61031", help="NIS code for the single-municipality run")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as folder:
        out = Path(folder)
        one = ["--municipalities", args.municipality, "--seed", str(args.seed)]
        for label in ("first run, compiling", "whole command"):
            seconds, cpu, peak = run([*one, "--out", str(out / "one")], out / "bytecode")
            print(
                f"one municipality ({args.municipality}), {label}: {seconds:.2f} s wall, {cpu:.2f} s CPU, "
                f"peak {peak / 2**30:.2f} GB"
            )
        alone = in_process(args.municipality, args.seed, out)
        print(f"one municipality ({args.municipality}), generation alone: {alone:.2f} s")
        seconds, cpu, peak = run(
            [
                "--persons",
                str(args.persons),
                "--seed",
                str(args.seed),
                "--format",
                args.format,
                "--out",
                str(out / "scale"),
            ],
            out / "bytecode",
        )
        size = sum(f.stat().st_size for f in (out / "scale").iterdir())
        print(
            f"{args.persons:,} persons ({args.format}): {seconds:.1f} s wall, {cpu:.1f} s CPU, "
            f"peak {peak / 2**30:.2f} GB, "
            f"{args.persons / seconds:,.0f} persons/s, files {size / 2**20:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
