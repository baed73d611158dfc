"""Building the warehouse: person-quarter facts as Parquet under ``KRUISPUNT_HOME/warehouse/``.

Layout: ``facts/quarter=YYYYQn/facts.parquet`` (hive partitioning, so DuckDB, Spark or Trino read the
quarter as a column) and ``manifest.json`` (built quarters, row counts, key fingerprint, columns). Every
quarter is written to a staging folder first and moved into place only when all asked quarters are
written, so a failed build leaves the warehouse as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from kruispunt import identity
from kruispunt.warehouse.errors import NotBuilt
from kruispunt.warehouse.facts import Sources, fact_schema, prepare, quarter_facts
from kruispunt.warehouse.keys import key_id, person_pseudonyms, warehouse_key
from kruispunt.warehouse.quarters import Quarter

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class BuildReport:
    directory: Path
    quarters: dict[str, int]  # quarter -> persons described
    seconds: float
    dropped: tuple[str, ...]  # quarters removed because they were built with another key


def warehouse_dir(home: Path) -> Path:
    return home / "warehouse"


def partition_dir(home: Path, quarter: Quarter | str) -> Path:
    return warehouse_dir(home) / "facts" / f"quarter={quarter}"


def read_manifest(home: Path) -> dict[str, Any]:
    """The manifest of the built warehouse; NotBuilt when there is none."""
    path = warehouse_dir(home) / "manifest.json"
    if not path.exists():
        raise NotBuilt(f"the warehouse under {warehouse_dir(home)} is not built; run `kruispunt dwh build`")
    manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return manifest


def read_sources(engine: Engine) -> Sources:
    """The register's histories and the GSS status periods, through the rooms' public functions."""
    from kruispunt import statuses

    periods = statuses.periods_frame(engine)
    return Sources(
        persons=identity.person_frame(engine),
        addresses=identity.address_periods(engine),
        memberships=identity.household_periods(engine),
        statuses=periods.select("person_id", "status", "start_date", "end_date"),
    )


def build(engine: Engine, home: Path, quarters: list[Quarter]) -> BuildReport:
    """Derive the facts of ``quarters`` from the register and the statuses and write them."""
    return build_from_sources(home, read_sources(engine), quarters)


def build_from_sources(home: Path, sources: Sources, quarters: list[Quarter]) -> BuildReport:
    """Write the facts of ``quarters`` from ``sources``; other built quarters stay as they are."""
    started = time.perf_counter()
    key = warehouse_key(home)
    pids = person_pseudonyms(sources.persons["person_id"], key)
    pseudonyms = pl.DataFrame({"person_id": sources.persons["person_id"].cast(pl.Int64), "pid": pids})
    prepared = prepare(sources, pseudonyms)
    del pseudonyms, sources  # the prepared frames replace them; a caller that let go frees the memory
    root = warehouse_dir(home)
    staging = root / f".staging-{os.getpid()}-{time.time_ns()}"
    counts: dict[str, int] = {}
    try:
        for quarter in quarters:
            facts = quarter_facts(prepared, quarter.last_day)
            target = staging / f"quarter={quarter}"
            target.mkdir(parents=True)
            facts.write_parquet(target / "facts.parquet", compression="zstd", statistics=True)
            counts[str(quarter)] = facts.height
            del facts
        dropped = _install(home, staging, counts, key_id(key))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildReport(root, counts, time.perf_counter() - started, dropped)


def _install(home: Path, staging: Path, counts: dict[str, int], current_key: str) -> tuple[str, ...]:
    """Move the staged partitions into place and rewrite the manifest last (atomically)."""
    try:
        manifest = read_manifest(home)
    except NotBuilt:
        manifest = {"quarters": {}}
    dropped: tuple[str, ...] = ()
    if manifest.get("key_id") not in (None, current_key):
        dropped = tuple(q for q in manifest["quarters"] if q not in counts)
        for quarter in dropped:
            shutil.rmtree(partition_dir(home, quarter), ignore_errors=True)
        manifest["quarters"] = {}
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    for quarter, rows in counts.items():
        target = partition_dir(home, quarter)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        (staging / f"quarter={quarter}").rename(target)
        manifest["quarters"][quarter] = {"persons": rows, "built_at": built_at}
    manifest.update(
        version=MANIFEST_VERSION,
        key_id=current_key,
        columns={name: str(dtype) for name, dtype in fact_schema().items()},
        quarters=dict(sorted(manifest["quarters"].items())),
    )
    temporary = warehouse_dir(home) / "manifest.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2), "utf-8")
    temporary.replace(warehouse_dir(home) / "manifest.json")
    return dropped


def built_quarters(home: Path) -> list[str]:
    return list(read_manifest(home)["quarters"])
